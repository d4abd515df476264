/**
 * records (server → client): log records in log order, for catch-up and for
 * live updates alike. A record of the client's own transaction carries only
 * its id (the client holds the ops); others carry the transaction, possibly
 * filtered to what the client may read. The client answers each batch with
 * a credit, which is the back-pressure: the server keeps a small window of
 * unacknowledged batches per connection.
 */
import type { Decoder, Encoder, ReplicaId, Transaction, TxId } from '../../../crdt/index.js';
import { decodeTransactions, encodeTransactions, isSafeCounter, txIdOf } from '../../../crdt/index.js';
import type { ProtocolLimits } from '../limits.js';

/**
 * A record: someone's transaction (possibly filtered), or the client's own by
 * id, with its fingerprint (`transactionDigest`: a replica restored from a
 * backup may hold another transaction under the same id) and the offsets it
 * may not keep.
 */
export type RecordEntry =
  | { readonly position: number; readonly tx: Transaction }
  | { readonly position: number; readonly own: TxId; readonly digest: number; readonly hidden?: readonly number[] };

export interface Records {
  readonly type: 'records';
  /** Sequence number of this batch on this connection, for the credit. */
  readonly batch: number;
  /** The log head when the batch was sent: the client is live once it holds it. */
  readonly head: number;
  /** The last log position this batch covers, including records filtered out for this client. */
  readonly through: number;
  readonly entries: readonly RecordEntry[];
}

/** Most batches sent live carry no transaction for their client (nothing of the group concerned it). */
const NO_TRANSACTIONS = encodeTransactions([]);

/**
 * The transactions of the last few batches, encoded. A durable group goes
 * to every session, so consecutive batches usually carry the same
 * transactions (the same objects, from the log): they are encoded once, not
 * once per connected client. The bytes are only ever copied into a frame,
 * so sharing them is safe; small batches only, so little is kept.
 */
const shared: Array<{ readonly txs: readonly Transaction[]; readonly bytes: Uint8Array }> = [];
const SHARED_BATCHES = 4;
const SHARED_MAX_BYTES = 256 * 1024;

function sameTransactions(a: readonly Transaction[], b: readonly Transaction[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function encodeShared(txs: readonly Transaction[]): Uint8Array {
  for (const entry of shared) if (sameTransactions(entry.txs, txs)) return entry.bytes;
  const bytes = encodeTransactions(txs);
  if (bytes.length <= SHARED_MAX_BYTES) {
    shared.unshift({ txs, bytes });
    if (shared.length > SHARED_BATCHES) shared.pop();
  }
  return bytes;
}

export function writeRecords(encoder: Encoder, message: Records): void {
  encoder.varUint(message.batch);
  encoder.varUint(message.head);
  encoder.varUint(message.through);
  encoder.varUint(message.entries.length);
  let previous = 0;
  const full: Transaction[] = [];
  for (const entry of message.entries) {
    encoder.varUint(entry.position - previous);
    previous = entry.position;
    if ('own' in entry) {
      encoder.uint8(1);
      encoder.varUint(Number(entry.own.slice(entry.own.lastIndexOf(':') + 1)));
      encoder.varUint(entry.digest);
      const hidden = entry.hidden ?? [];
      encoder.varUint(hidden.length);
      for (const offset of hidden) encoder.varUint(offset);
    } else {
      encoder.uint8(0);
      full.push(entry.tx);
    }
  }
  encoder.bytes(full.length === 0 ? NO_TRANSACTIONS : encodeShared(full));
}

/** Reads a records message; `self` is the receiving replica (own entries are its transactions). */
export function readRecords(decoder: Decoder, limits: ProtocolLimits, self: ReplicaId): Records {
  const batch = decoder.varUint();
  const head = decoder.varUint();
  const through = decoder.varUint();
  const count = decoder.count(2);
  if (count > limits.maxBatchRecords) decoder.fail(`more than ${limits.maxBatchRecords} records in one batch`);
  const shape: Array<{ position: number; own: number | null; digest: number; hidden: number[] }> = [];
  let position = 0;
  for (let i = 0; i < count; i++) {
    const delta = decoder.varUint();
    if (delta === 0) decoder.fail('record positions must increase');
    position += delta;
    const kind = decoder.uint8();
    if (kind === 1) {
      const counter = decoder.varUint();
      if (!isSafeCounter(counter)) decoder.fail('bad counter');
      const digest = decoder.varUint();
      if (digest > 0xffffffff) decoder.fail('bad digest');
      const hiddenCount = decoder.count(1);
      const hidden: number[] = [];
      for (let k = 0; k < hiddenCount; k++) hidden.push(decoder.varUint());
      shape.push({ position, own: counter, digest, hidden });
    } else if (kind === 0) shape.push({ position, own: null, digest: 0, hidden: [] });
    else decoder.fail('unknown record kind');
  }
  const txs = decodeTransactions(decoder.bytes());
  let next = 0;
  const entries: RecordEntry[] = shape.map((item) => {
    if (item.own !== null) return { position: item.position, own: txIdOf(self, item.own), digest: item.digest, hidden: item.hidden };
    const tx = txs[next++];
    if (tx === undefined) return decoder.fail('fewer transactions than records');
    return { position: item.position, tx };
  });
  if (next !== txs.length) decoder.fail('more transactions than records');
  if (position > through) decoder.fail('a record lies beyond the batch end');
  return { type: 'records', batch, head, through, entries };
}
