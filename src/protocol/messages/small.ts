/**
 * The small control messages: credit (back-pressure), ping/pong, auth
 * (a renewed token), reject, error.
 */
import type { Decoder, Encoder, ErrorData, TxId } from '../../../crdt/index.js';
import { isTxId } from '../../../crdt/index.js';
import { readError, writeError } from './common.js';

/** credit (client → server): batch `batch` is applied; the server may send more. */
export interface Credit {
  readonly type: 'credit';
  readonly batch: number;
}

export interface Ping {
  readonly type: 'ping';
  readonly id: number;
}

/** auth (client → server): a renewed token for a long-lived connection. */
export interface Auth {
  readonly type: 'auth';
  readonly token: string;
}

/** pong (server → client): answers a ping with the log head at that moment. */
export interface Pong {
  readonly type: 'pong';
  readonly id: number;
  readonly head: number;
}

/** reject (server → client): a pushed transaction was refused, whole. */
export interface Reject {
  readonly type: 'reject';
  readonly txId: TxId;
  readonly error: ErrorData;
}

/** error (server → client): something about the connection; `fatal` means the server closes it. */
export interface ErrorMessage {
  readonly type: 'error';
  readonly error: ErrorData;
  readonly fatal: boolean;
}

export const writeCredit = (e: Encoder, m: Credit): void => e.varUint(m.batch);
export const readCredit = (d: Decoder): Credit => ({ type: 'credit', batch: d.varUint() });
export const writePing = (e: Encoder, m: Ping): void => e.varUint(m.id);
export const readPing = (d: Decoder): Ping => ({ type: 'ping', id: d.varUint() });

export function writeAuth(e: Encoder, m: Auth): void {
  e.string(m.token);
}

export function readAuth(d: Decoder): Auth {
  const token = d.string();
  if (token.length > 16_384) d.fail('token too long');
  return { type: 'auth', token };
}

export function writePong(e: Encoder, m: Pong): void {
  e.varUint(m.id);
  e.varUint(m.head);
}

export const readPong = (d: Decoder): Pong => ({ type: 'pong', id: d.varUint(), head: d.varUint() });

export function writeReject(e: Encoder, m: Reject): void {
  e.string(m.txId);
  writeError(e, m.error);
}

export function readReject(d: Decoder): Reject {
  const txId = d.string();
  if (!isTxId(txId)) d.fail('malformed transaction id');
  return { type: 'reject', txId, error: readError(d) };
}

export function writeErrorMessage(e: Encoder, m: ErrorMessage): void {
  writeError(e, m.error);
  e.uint8(m.fatal ? 1 : 0);
}

export function readErrorMessage(d: Decoder): ErrorMessage {
  return { type: 'error', error: readError(d), fatal: d.uint8() === 1 };
}
