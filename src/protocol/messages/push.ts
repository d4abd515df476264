/** push (client → server): local transactions, oldest first. */
import type { Decoder, Encoder, Transaction } from '../../../crdt/index.js';
import { decodeTransactions, encodeTransactions, isReplicaId, isSafeCounter } from '../../../crdt/index.js';
import type { ProtocolLimits } from '../limits.js';

export interface Push {
  readonly type: 'push';
  readonly txs: readonly Transaction[];
}

export function writePush(encoder: Encoder, message: Push): void {
  encoder.bytes(encodeTransactions(message.txs));
}

export function readPush(decoder: Decoder, limits: ProtocolLimits): Push {
  const txs = decodeTransactions(decoder.bytes());
  if (txs.length === 0) decoder.fail('empty push');
  if (txs.length > limits.maxPushTransactions) decoder.fail(`more than ${limits.maxPushTransactions} transactions in one push`);
  for (const tx of txs) {
    if (tx.ops.length > limits.maxOpsPerTransaction) decoder.fail(`a transaction holds more than ${limits.maxOpsPerTransaction} ops`);
    // Its id must be well formed: every answer names it, and the server stores refusals under it.
    if (!isReplicaId(tx.replica) || !isSafeCounter(tx.counter)) decoder.fail('a transaction has a malformed replica id or counter');
  }
  return { type: 'push', txs };
}
