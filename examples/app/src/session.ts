/**
 * Signing in: POST /login returns a signed token for a demo user; the token
 * is kept so that the app opens offline, and renewed while online when it
 * gets old. Each tab keeps its own user (sessionStorage, which survives a
 * reload), so two windows of one browser can be two people; a new tab opens
 * as whoever signed in last (localStorage).
 */
import users from '../users.json' with { type: 'json' };

export interface User {
  readonly sub: string;
  readonly name: string;
  readonly role: 'member' | 'viewer';
  readonly color: string;
}

export const demoUsers: readonly User[] = users as User[];

export interface Session {
  readonly user: User;
  readonly token: string;
  /** When the token expires, ms since the epoch. */
  readonly expiresAt: number;
}

const KEY = 'datsync-app/session';
/** Renew a token with less than this left (tokens last a week). */
const RENEW_BEFORE_MS = 24 * 60 * 60 * 1000;

function expiryOf(token: string): number {
  const payload = token.split('.')[1] ?? '';
  const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: number };
  return (claims.exp ?? 0) * 1000;
}

export function savedSession(): Session | null {
  const text = sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY);
  if (text === null) return null;
  try {
    const saved = JSON.parse(text) as { user: string; token: string };
    const user = demoUsers.find((u) => u.sub === saved.user);
    return user === undefined ? null : { user, token: saved.token, expiresAt: expiryOf(saved.token) };
  } catch {
    return null;
  }
}

export async function logIn(sub: string): Promise<Session> {
  const response = await fetch('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: sub }),
  });
  if (!response.ok)
    throw new Error(response.status === 401 ? 'The server does not know this user.' : `Sign-in failed (${response.status}).`);
  const { token } = (await response.json()) as { token: string };
  const user = demoUsers.find((u) => u.sub === sub);
  if (user === undefined) throw new Error(`unknown demo user ${sub}`);
  const saved = JSON.stringify({ user: sub, token });
  sessionStorage.setItem(KEY, saved);
  localStorage.setItem(KEY, saved);
  return { user, token, expiresAt: expiryOf(token) };
}

export function logOut(): void {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
}

/** The client's `token` option: the saved token, renewed first when it is old and the server is reachable. */
export function tokenSource(session: Session): () => Promise<string> {
  let current = session;
  return async () => {
    if (current.expiresAt - Date.now() > RENEW_BEFORE_MS) return current.token;
    try {
      current = await logIn(current.user.sub);
    } catch {
      // Offline or refused: the old token is all there is; the server says whether it still holds.
    }
    return current.token;
  };
}
