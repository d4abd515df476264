/**
 * What a draft needs of the client it belongs to.
 *
 * @module
 */
import type { EntityId } from '../../crdt/index.js';
import type { Storage } from '../../storage/contract.js';
import type { DraftValue } from '../drafts/document.js';
import type { AttributeDef, Schema } from '../schema.js';
import type { ChannelOptions } from './draft-channel.js';
import type { TxReport } from './replica.js';
import type { TxData } from './tx-forms.js';

export interface DraftHost {
  readonly storage: Storage;
  readonly schema: Schema;
  /** The entity's value of a field as this client shows it now. */
  current(entity: EntityId, def: AttributeDef): DraftValue;
  /** Throws `invalid-value` unless `value` fits the field. */
  checkFieldValue(def: AttributeDef, value: DraftValue): void;
  /** Strong mode: resolves with the server's acceptance, rejects with its reason. */
  transact(txData: TxData): Promise<TxReport>;
  now(): number;
  /** Runs an application callback; what it throws goes to the client's error event. */
  safely(callback: () => void): void;
  error(error: unknown): void;
  /** How to reach the draft `key` with these query parameters; undefined when the client has no server. */
  channel(key: string, params: URLSearchParams): ChannelOptions | undefined;
  /** Whether the sync connection is live now. */
  readonly online: boolean;
  /** Calls `listener` each time the sync connection becomes live. */
  onOnline(listener: () => void): () => void;
}
