/** push (client → server): local transactions, oldest first. */
import type { Decoder, Encoder, Transaction } from '../../../crdt/index.js';
import { decodeTransactions, encodeTransactions } from '../../../crdt/index.js';
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
  for (const tx of txs)
    if (tx.ops.length > limits.maxOpsPerTransaction) decoder.fail(`a transaction holds more than ${limits.maxOpsPerTransaction} ops`);
  return { type: 'push', txs };
}
