/**
 * The module `datsync serve --config FILE` runs: what the server needs to run
 * an application for real (its schema, its permissions, how clients
 * authenticate) and, optionally, the application's built files, served on the
 * same port as `/sync`. It is a JavaScript module with named exports:
 *
 * @example
 * import { pullDb } from 'datsync/server';
 * export const schema = { 'task/title': { ':db/valueType': ':db.type/string' } };
 * export const permissions = { read: { 'task/*': true }, write: { 'task/*': true } };
 * export const authentication = {
 *   type: 'tokens', // HS256, signed with a secret kept in the data directory
 *   expiresIn: '7d',
 *   login: ({ user }) => (user === 'ann' ? { sub: 'ann' } : null), // enables POST /login
 * };
 * export const staticDir = './dist'; // relative to this file
 *
 * @module
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DatsyncError, ErrorCode } from '../../crdt/index.js';
import type { SchemaInput } from '../schema.js';
import type { Permissions } from '../server/permissions.js';
import type { TokenIdentity } from '../server/tokens.js';
import type { ConnectionInfo } from '../server/transport.js';

/** The claims of a token the login endpoint issues: at least `sub`, the user's stable name. */
export type TokenClaims = { readonly sub: string; readonly [claim: string]: unknown };

export interface TokenAuthentication {
  /** Signed tokens (HS256) with a secret the server generates once and keeps in the data directory. */
  readonly type: 'tokens';
  /** How long a token issued by POST /login lasts: seconds, or jose's text form (`'12h'`, `'7d'`); 12 hours by default. */
  readonly expiresIn?: string | number;
  /**
   * Enables POST /login: takes the request's JSON body and returns the claims
   * of the token to issue, or null to refuse. Without it the server verifies
   * tokens but issues none (sign them elsewhere with the same secret).
   */
  readonly login?: (credentials: unknown) => TokenClaims | null | Promise<TokenClaims | null>;
}

/** Any authenticate hook of `createServer`: an identity, or null to refuse the connection. */
export type AuthenticateHook = (token: string | null, info: ConnectionInfo) => unknown;

export interface ServeConfig {
  readonly schema: SchemaInput;
  readonly permissions: Permissions<TokenIdentity> | Permissions<unknown>;
  readonly authentication: TokenAuthentication | AuthenticateHook;
  /** The directory of the application to serve (absolute: resolved against the config file). */
  readonly staticDir: string | undefined;
  /** The config file, absolute. */
  readonly file: string;
}

function invalid(file: string, name: string, message: string): DatsyncError {
  return new DatsyncError(ErrorCode.InvalidSchema, `${file}: export "${name}" ${message}`, { file, export: name });
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

function checkAuthentication(file: string, value: unknown): TokenAuthentication | AuthenticateHook {
  if (typeof value === 'function') return value as AuthenticateHook;
  if (!isObject(value) || value.type !== 'tokens') {
    throw invalid(file, 'authentication', "must be { type: 'tokens', expiresIn?, login? } or an authenticate function (token, info)");
  }
  const { expiresIn, login } = value;
  if (expiresIn !== undefined && typeof expiresIn !== 'string' && !(typeof expiresIn === 'number' && expiresIn > 0)) {
    throw invalid(file, 'authentication', "has a bad expiresIn: seconds, or a text such as '12h'");
  }
  if (login !== undefined && typeof login !== 'function') throw invalid(file, 'authentication', 'has a login that is not a function');
  return value as unknown as TokenAuthentication;
}

/** What the caller sets in place of the module's own exports. */
export interface ConfigOverrides {
  /**
   * Serve this directory instead of the module's `staticDir`, or none with
   * `null` (the module's then need not exist: a test builds the app elsewhere, or serves only the API).
   */
  readonly staticDir?: string | null;
}

/**
 * Imports and checks a config module. The schema and the permissions are
 * checked in full by `createServer`; here only their presence and shape.
 */
export async function loadConfig(path: string, overrides: ConfigOverrides = {}): Promise<ServeConfig> {
  const file = resolve(path);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (cause) {
    throw new DatsyncError(ErrorCode.InvalidSchema, `cannot load the config ${file}: ${(cause as Error).message}`, { file }, { cause });
  }
  const { schema, permissions, authentication, staticDir } = module;
  if (!isObject(schema)) throw invalid(file, 'schema', 'must be the schema object (see docs/client.md)');
  if (!isObject(permissions) || !isObject(permissions.read) || !isObject(permissions.write)) {
    throw invalid(file, 'permissions', 'must be { read, write } rules (see docs/server.md)');
  }
  let dir: string | undefined;
  if (overrides.staticDir !== undefined) dir = overrides.staticDir === null ? undefined : resolve(overrides.staticDir);
  else if (staticDir !== undefined) {
    if (typeof staticDir !== 'string') throw invalid(file, 'staticDir', 'must be a directory path');
    dir = resolve(dirname(file), staticDir);
  }
  // The caller's directory is checked as the module's is: a typo should not serve 404s.
  if (dir !== undefined && !statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw invalid(file, 'staticDir', `names ${dir}, which is not a directory (is the app built?)`);
  }
  return {
    schema: schema as SchemaInput,
    permissions: permissions as unknown as Permissions<unknown>,
    authentication: checkAuthentication(file, authentication),
    staticDir: dir,
    file,
  };
}
