/**
 * Authoring: turning intended writes into a transaction with fresh dots, one
 * hybrid-logical timestamp, and the causal context each op supersedes.
 *
 * @module
 */
import { check, ErrorCode } from './errors.js';
import type { HybridClock } from './hlc.js';
import type { Attr, Dot, EntityId, ReplicaId } from './ids.js';
import { entityIdFromDot, isSafeCounter } from './ids.js';
import type { Op, Transaction } from './op.js';
import { OpKind } from './op.js';
import type { AttributeSpecs } from './schema.js';
import { Cardinality } from './schema.js';
import type { Value } from './values.js';
import { valuesEqual } from './values.js';

export interface WriteIntent {
  readonly entity: EntityId;
  readonly attribute: Attr;
  readonly kind: OpKind;
  /** Required for an assert; for a retract, undefined retracts every value. */
  readonly value?: Value | undefined;
}

/** What the author needs of the state it writes against. */
export interface ObservedView {
  /** Live versions of one register, with their values. */
  live(entity: EntityId, attribute: Attr): ReadonlyArray<{ readonly dot: Dot; readonly value: Value }>;
  /**
   * For a dot of a write not yet decided by the authority: the dots that write
   * superseded (transitively). A new write superseding it supersedes them too,
   * so that if the authority refuses the undecided write, the new one still
   * replaces what its author saw replaced, instead of standing beside it.
   */
  undecidedSupersedes?(dot: Dot): readonly Dot[];
}

/**
 * Issues dots for one replica. It never issues a counter twice: the caller
 * persists `issuedUpTo` with every transaction, and a replica whose storage
 * is lost must start under a new replica id.
 */
export class LocalAuthor {
  readonly replica: ReplicaId;
  private issued: number;
  readonly clock: HybridClock;

  constructor(replica: ReplicaId, issuedUpTo: number, clock: HybridClock) {
    check(Number.isSafeInteger(issuedUpTo) && issuedUpTo >= 0, ErrorCode.InvalidOp, 'issuedUpTo must be a non-negative integer');
    this.replica = replica;
    this.issued = issuedUpTo;
    this.clock = clock;
  }

  get issuedUpTo(): number {
    return this.issued;
  }

  /** The counter the next transaction's first op will take. */
  get nextCounter(): number {
    return this.issued + 1;
  }

  /**
   * The id of the `k`-th entity the next transaction creates. It is unique
   * provided that transaction holds more than `k` ops, which holds whenever
   * each new entity gets at least one attribute: the dot it is named after
   * is then issued to that transaction and to no other.
   */
  newEntityId(k: number): EntityId {
    return entityIdFromDot(this.replica, this.issued + 1 + k);
  }

  /**
   * Builds a transaction from `intents` against `view`, dropping intents that
   * would change nothing (asserting the value already shown with no
   * siblings, retracting a value that is not there). Returns null when
   * nothing is left. Does not apply it.
   */
  author(intents: readonly WriteIntent[], view: ObservedView, specs: AttributeSpecs, physicalMs: number): Transaction | null {
    const ops: Op[] = [];
    for (const intent of intents) {
      const spec = specs.get(intent.attribute);
      check(spec !== undefined, ErrorCode.UnknownAttribute, 'attribute is not in the schema', { attribute: intent.attribute });
      const live = view.live(intent.entity, intent.attribute);
      const supersedes: Dot[] = [];
      if (intent.kind === OpKind.Assert) {
        check(intent.value !== undefined, ErrorCode.InvalidOp, 'an assert needs a value');
        const one = spec.cardinality === Cardinality.One;
        const only = live.length === 1 ? live[0] : undefined;
        if (one && only !== undefined && valuesEqual(only.value, intent.value)) continue;
        if (!one && live.some((v) => valuesEqual(v.value, intent.value as Value))) continue;
        // Cardinality one replaces everything seen; many adds alongside what is there.
        if (one) for (const v of live) supersedes.push(v.dot);
      } else {
        for (const v of live) if (intent.value === undefined || valuesEqual(v.value, intent.value)) supersedes.push(v.dot);
        if (supersedes.length === 0) continue;
      }
      if (view.undecidedSupersedes !== undefined) {
        for (const dot of [...supersedes]) supersedes.push(...view.undecidedSupersedes(dot));
      }
      ops.push({
        offset: ops.length,
        entity: intent.entity,
        attribute: intent.attribute,
        kind: intent.kind,
        value: intent.value,
        supersedes,
      });
    }
    if (ops.length === 0) return null;
    const counter = this.issued + 1;
    check(isSafeCounter(counter + ops.length), ErrorCode.InvalidOp, 'replica counter exhausted');
    const hlc = this.clock.tick(physicalMs);
    this.issued = counter + ops.length - 1;
    return { replica: this.replica, counter, hlc, ops };
  }
}
