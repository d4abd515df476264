/** welcome (server → client): the answer to hello, before any records. */
import type { Decoder, Encoder } from '../../../crdt/index.js';
import type { FrameLimits } from '../limits.js';
import { frameLimitsInvalid } from '../limits.js';

export interface Welcome {
  readonly type: 'welcome';
  readonly version: number;
  /** The identity of the server log; a client following another log must start over. */
  readonly logId: string;
  /** The last position in the log. */
  readonly head: number;
  /** The server's clock (ms), so a client can correct its own. */
  readonly serverTime: number;
  /** Every counter of this client's replica up to which the server has decided transactions. */
  readonly decided: number;
  /** The server's limits on frames, for both directions: the client keeps its pushes within them and accepts what they allow. */
  readonly limits: FrameLimits;
}

export function writeWelcome(encoder: Encoder, message: Welcome): void {
  encoder.varUint(message.version);
  encoder.string(message.logId);
  encoder.varUint(message.head);
  encoder.varUint(message.serverTime);
  encoder.varUint(message.decided);
  encoder.varUint(message.limits.maxFrameBytes);
  encoder.varUint(message.limits.maxPushTransactions);
  encoder.varUint(message.limits.maxOpsPerTransaction);
  encoder.varUint(message.limits.maxBatchRecords);
}

export function readWelcome(decoder: Decoder): Welcome {
  const version = decoder.varUint();
  const logId = decoder.string();
  const head = decoder.varUint();
  const serverTime = decoder.varUint();
  const decided = decoder.varUint();
  const limits: FrameLimits = {
    maxFrameBytes: decoder.varUint(),
    maxPushTransactions: decoder.varUint(),
    maxOpsPerTransaction: decoder.varUint(),
    maxBatchRecords: decoder.varUint(),
  };
  const invalid = frameLimitsInvalid(limits);
  if (invalid !== undefined) decoder.fail(invalid);
  return { type: 'welcome', version, logId, head, serverTime, decided, limits };
}
