/** welcome (server → client): the answer to hello, before any records. */
import type { Decoder, Encoder } from '../../../crdt/index.js';

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
}

export function writeWelcome(encoder: Encoder, message: Welcome): void {
  encoder.varUint(message.version);
  encoder.string(message.logId);
  encoder.varUint(message.head);
  encoder.varUint(message.serverTime);
  encoder.varUint(message.decided);
}

export function readWelcome(decoder: Decoder): Welcome {
  return {
    type: 'welcome',
    version: decoder.varUint(),
    logId: decoder.string(),
    head: decoder.varUint(),
    serverTime: decoder.varUint(),
    decided: decoder.varUint(),
  };
}
