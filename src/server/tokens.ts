/**
 * Signed tokens out of the box: HS256 JSON Web Tokens verified with `jose`.
 * The identity is the token's claims; `sub` names it (replica ids are bound
 * to it) and `exp` is honoured for the whole life of a connection: once it
 * passes, the connection stops reading and writing until the client sends a
 * fresh token, and nothing in the client's outbox is lost meanwhile.
 *
 * @example
 * const secret = process.env.DATSYNC_SECRET;
 * const server = await createServer({ schema, permissions, authenticate: tokenAuthenticator({ secret }) });
 * const token = await signToken({ sub: 'alice' }, { secret, expiresIn: '1h' });
 *
 * @module
 */
import { errors, jwtVerify, SignJWT } from 'jose';
import { DatsyncError, ErrorCode } from '../../crdt/index.js';

/** What a verified token says: at least who (`sub`) and until when (`exp`, seconds). */
export interface TokenIdentity {
  readonly sub: string;
  readonly exp?: number;
  readonly [claim: string]: unknown;
}

export interface TokenOptions {
  /** The shared secret (at least 32 bytes). */
  readonly secret: string | Uint8Array;
  readonly issuer?: string;
  readonly audience?: string;
}

function key(secret: string | Uint8Array): Uint8Array {
  const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  if (bytes.length < 32) throw new DatsyncError(ErrorCode.InvalidSchema, 'a token secret needs at least 32 bytes');
  return bytes;
}

/** An `authenticate` hook accepting tokens signed with `secret`; anything else (or expired) is refused. */
export function tokenAuthenticator(options: TokenOptions): (token: string | null) => Promise<TokenIdentity | null> {
  const secret = key(options.secret);
  return async (token) => {
    if (token === null || token.length === 0) return null;
    try {
      const { payload } = await jwtVerify(token, secret, {
        algorithms: ['HS256'],
        ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
        ...(options.audience === undefined ? {} : { audience: options.audience }),
      });
      if (typeof payload.sub !== 'string' || payload.sub.length === 0) return null;
      return payload as TokenIdentity;
    } catch (error) {
      if (error instanceof errors.JOSEError) return null;
      throw error;
    }
  };
}

/** Signs a token (for servers that issue them, and for tests). */
export async function signToken(
  claims: { readonly sub: string; readonly [claim: string]: unknown },
  options: TokenOptions & { readonly expiresIn: string | number },
): Promise<string> {
  let jwt = new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn);
  if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt = jwt.setAudience(options.audience);
  return jwt.sign(key(options.secret));
}
