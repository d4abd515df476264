/**
 * The HTTP side of `datsync serve --config`: the application's static files
 * and, when the config enables it, POST /login. The WebSocket endpoints
 * (`/sync`) take their upgrade requests on the same server.
 *
 * @module
 */
import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/** The largest login request body taken. */
const MAX_LOGIN_BYTES = 8 * 1024;

export interface AppRoutes {
  /** The directory of the built application, absolute. */
  readonly staticDir?: string | undefined;
  /** POST /login: the JSON body in, a token out (null: refused). */
  readonly login?: ((credentials: unknown) => Promise<{ readonly token: string; readonly claims: unknown } | null>) | undefined;
  readonly onError: (error: unknown) => void;
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function readBody(request: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_LOGIN_BYTES) chunks.push(chunk);
      // Answered at once; the rest is not kept (the 413 closes the connection).
      else if (size - chunk.length <= MAX_LOGIN_BYTES) resolve(null);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

async function login(request: IncomingMessage, response: ServerResponse, issue: NonNullable<AppRoutes['login']>): Promise<void> {
  const body = await readBody(request);
  if (body === null) {
    response.setHeader('connection', 'close');
    return send(response, 413, { error: 'request too large' });
  }
  let credentials: unknown;
  try {
    credentials = JSON.parse(body);
  } catch {
    return send(response, 400, { error: 'the body must be JSON' });
  }
  const issued = await issue(credentials);
  if (issued === null) return send(response, 401, { error: 'unknown user or wrong credentials' });
  send(response, 200, issued);
}

/** The file a request path names inside `root`, or undefined (outside it, or not a file). */
function fileFor(root: string, pathname: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const path = normalize(join(root, decoded));
  if (path !== root && !path.startsWith(root + sep)) return undefined;
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat?.isDirectory()) return fileFor(root, `${decoded.replace(/\/$/, '')}/index.html`);
  return stat?.isFile() ? path : undefined;
}

function serveFile(request: IncomingMessage, response: ServerResponse, path: string, pathname: string): void {
  const type = contentTypes[extname(path)] ?? 'application/octet-stream';
  const headers: Record<string, string> = {
    'content-type': type,
    'content-length': String(statSync(path).size),
    'x-content-type-options': 'nosniff',
    // Vite names what is under /assets/ by content hash: it never changes. Anything else is revalidated.
    'cache-control': pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
  if (type.startsWith('text/html')) {
    headers['content-security-policy'] = "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'";
  }
  response.writeHead(200, headers);
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  createReadStream(path)
    .on('error', () => response.destroy())
    .pipe(response);
}

/** A request handler for the app's files and the login endpoint; everything else is 404. */
export function appRequestHandler(routes: AppRoutes): (request: IncomingMessage, response: ServerResponse) => void {
  const root = routes.staticDir === undefined ? undefined : normalize(routes.staticDir).replace(/[/\\]$/, '');
  return (request, response) => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname === '/login' && routes.login !== undefined) {
      if (request.method !== 'POST') return send(response, 405, { error: 'use POST' });
      login(request, response, routes.login).catch((error: unknown) => {
        routes.onError(error);
        if (!response.headersSent) send(response, 500, { error: 'login failed' });
      });
      return;
    }
    const file = root !== undefined && (request.method === 'GET' || request.method === 'HEAD') ? fileFor(root, pathname) : undefined;
    if (file === undefined) return send(response, 404, { error: 'not found' });
    serveFile(request, response, file, pathname);
  };
}
