/**
 * Starting over under a new replica id, when another copy of this replica
 * (a restored backup, copied storage) issued the same counters and the
 * server took the other copy's transactions under them.
 *
 * From the first transaction the server refused or acknowledged as someone
 * else's, every write of ours under the old id was made after the copies
 * parted (a replica's history is one line, so the part of it that is also
 * the server's ends there): those are written again under the new id, same
 * values, new dots. The entities they created were named after the old dots
 * (`entityIdFromDot`), which now name the other copy's entities; they are
 * renamed after dots of the new id that are reserved for it (the new author
 * starts after them), and so are references to them. Writes before that
 * point stay as they are: the server holds them, or will judge them by
 * contents.
 *
 * @module
 */
import type { AttributeSpecs, EntityId, ReplicaId, Transaction, Value, WriteIntent } from '../../crdt/index.js';
import { entityIdFromDot, ValueType } from '../../crdt/index.js';

export interface Reissue {
  /** Old entity id → new, for the entities the reissued writes created. */
  readonly renamed: ReadonlyMap<EntityId, EntityId>;
  /** Counters of the new id taken by the renamed entities: the new author starts after them. */
  readonly reserved: number;
  /** The intents of a reissued transaction, renamed. */
  intents(tx: Transaction): WriteIntent[];
}

/** Plans the reissue of `txs` (ours under `from`, from counter `counter` on) under `to`. */
export function planReissue(txs: readonly Transaction[], from: ReplicaId, counter: number, to: ReplicaId, specs: AttributeSpecs): Reissue {
  const renamed = new Map<EntityId, EntityId>();
  const isRef = (attribute: string): boolean => specs.get(attribute as never)?.valueType === ValueType.Ref;
  const visit = (id: unknown): void => {
    if (typeof id !== 'string' || renamed.has(id as EntityId)) return;
    const at = id.lastIndexOf('.');
    if (at < 0 || id.slice(0, at) !== from || Number.parseInt(id.slice(at + 1), 36) < counter) return;
    renamed.set(id as EntityId, entityIdFromDot(to, renamed.size + 1));
  };
  for (const tx of txs) {
    for (const op of tx.ops) {
      visit(op.entity);
      if (isRef(op.attribute)) visit(op.value);
    }
  }
  const rename = <T>(id: T): T => (renamed.get(id as unknown as EntityId) as T | undefined) ?? id;
  return {
    renamed,
    reserved: renamed.size,
    intents: (tx) =>
      tx.ops.map((op) => ({
        entity: rename(op.entity),
        attribute: op.attribute,
        kind: op.kind,
        value: isRef(op.attribute) ? rename(op.value as Value | undefined) : op.value,
      })),
  };
}
