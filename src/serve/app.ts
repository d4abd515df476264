/**
 * `datsync serve --config`: one HTTP server carrying the sync endpoint, the
 * application's files and (if the config says so) a login endpoint issuing
 * signed tokens.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DatsyncError, ErrorCode } from '../../crdt/index.js';
import type { Storage } from '../../storage/contract.js';
import type { Permissions } from '../server/permissions.js';
import type { DatsyncServer } from '../server/server.js';
import { createServer } from '../server/server.js';
import { signToken, tokenAuthenticator } from '../server/tokens.js';
import type { AuthenticateHook, ServeConfig, TokenAuthentication } from './config.js';
import type { AppRoutes } from './http.js';
import { appRequestHandler } from './http.js';

export interface ServeAppOptions {
  readonly config: ServeConfig;
  /** Where the token secret is kept (the data directory). */
  readonly dataDir: string;
  /** The token secret itself (at least 32 bytes), for nodes that share one log; by default the data directory's. */
  readonly tokenSecret?: string | undefined;
  readonly storage: Storage;
  readonly port: number;
  readonly host: string;
  /** Errors no request could be told of: the sync server's and the login endpoint's. */
  readonly onError: (error: unknown) => void;
}

export interface ServedApp {
  readonly server: DatsyncServer;
  /** The app's address, such as `http://127.0.0.1:8080/`. */
  readonly url: string;
  close(): Promise<void>;
}

/** The data directory's token secret, created on first use (32 random bytes, readable by the owner only). */
export function tokenSecret(dataDir: string): string {
  const path = join(dataDir, 'token-secret');
  try {
    // 'wx': of two servers starting at once, one creates it and both read the same secret.
    writeFileSync(path, randomBytes(32).toString('base64url'), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const secret = readFileSync(path, 'utf8').trim();
  if (secret.length < 32) throw new DatsyncError(ErrorCode.InvalidSchema, `${path} holds no usable secret; delete it to make a new one`);
  return secret;
}

function tokenRoutes(auth: TokenAuthentication, secret: string): { authenticate: AuthenticateHook; login: AppRoutes['login'] } {
  const expiresIn = auth.expiresIn ?? '12h';
  const issue = auth.login;
  return {
    authenticate: tokenAuthenticator({ secret }),
    login:
      issue === undefined
        ? undefined
        : async (credentials) => {
            const claims = await issue(credentials);
            if (claims === null) return null;
            if (typeof claims?.sub !== 'string' || claims.sub.length === 0) {
              throw new DatsyncError(ErrorCode.InvalidSchema, 'the config login returned claims without a sub');
            }
            return { token: await signToken(claims, { secret, expiresIn }), claims };
          },
  };
}

export async function serveApp(options: ServeAppOptions): Promise<ServedApp> {
  const { config } = options;
  const auth =
    typeof config.authentication === 'function'
      ? { authenticate: config.authentication, login: undefined }
      : tokenRoutes(config.authentication, options.tokenSecret ?? tokenSecret(options.dataDir));
  const http = createHttpServer(appRequestHandler({ staticDir: config.staticDir, login: auth.login, onError: options.onError }));
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => resolve());
  });
  let server: DatsyncServer;
  try {
    server = await createServer<unknown>({
      schema: config.schema,
      storage: options.storage,
      httpServer: http,
      permissions: config.permissions as Permissions<unknown>,
      authenticate: auth.authenticate,
    });
  } catch (error) {
    http.close();
    throw error;
  }
  server.on('error', options.onError);
  const { port } = http.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    server,
    url: `http://${host}:${port}/`,
    close: async () => {
      await server.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
