/**
 * Replica states (and any set of registers) in binary, canonically: entities,
 * attributes and versions are written in sorted order, so two equal states
 * encode to equal bytes. Used for snapshots, catch-up and state comparison.
 *
 * Layout: format byte, string tables (replicas, attributes), the causal
 * context, the table of transaction stamps (replica, counter, hlc), then per
 * entity its id and registers: live versions, past versions, pending marks,
 * each naming its stamp by index.
 *
 * @module
 */
import { CausalContext } from './causal-context.js';
import { pick, readStringTable, StringTable } from './codec-tx.js';
import { readValue, writeValue } from './codec-value.js';
import type { Decoder } from './encoding.js';
import { Decoder as BinaryDecoder, Encoder } from './encoding.js';
import { DatsyncError, ErrorCode } from './errors.js';
import type { Hlc } from './hlc.js';
import type { Attr, EntityId, ReplicaId } from './ids.js';
import { isEntityId } from './ids.js';
import { OpKind } from './op.js';
import type { OpRef, PendingMark, Slot } from './register.js';
import { compareRefs, PastVersion, Register, TxStamp, Version } from './register.js';
import { ReplicaState } from './replica-state.js';
import type { AttributeSpec, AttributeSpecs } from './schema.js';
import type { Value } from './values.js';
import { fitsType } from './values.js';

const FORMAT = 1;
const SLOT_VERSION = 0;
const SLOT_REGISTER = 1;

type RegisterEntry = readonly [EntityId, Attr, Slot];

/**
 * Notes every stamp `slot` refers to: `keys` maps each stamp object to its
 * "replica:counter" key (states merged or decoded can hold several objects
 * for one transaction), `byKey` each key to the stamp that is written for it.
 * Plain functions and maps rather than a callback: this runs once per register.
 */
function collectStamps(slot: Slot, keys: Map<TxStamp, string>, byKey: Map<string, TxStamp>): void {
  if (slot instanceof Version) {
    noteStamp(slot.tx, keys, byKey);
    return;
  }
  for (const v of slot.live) noteStamp(v.tx, keys, byKey);
  for (const p of slot.past ?? []) {
    noteStamp(p.tx, keys, byKey);
    if (p.supersededBy !== null) noteStamp(p.supersededBy.tx, keys, byKey);
  }
  for (const m of slot.pending ?? []) noteStamp(m.by.tx, keys, byKey);
}

function noteStamp(stamp: TxStamp, keys: Map<TxStamp, string>, byKey: Map<string, TxStamp>): void {
  let key = keys.get(stamp);
  if (key === undefined) {
    key = stampKey(stamp);
    keys.set(stamp, key);
  }
  byKey.set(key, stamp);
}

/** A register holding one live version and nothing else is, canonically, that version. */
function loneVersion(reg: Register): Version | undefined {
  if (reg.live.length !== 1 || (reg.past?.length ?? 0) > 0 || (reg.pending?.length ?? 0) > 0) return undefined;
  return reg.live[0];
}

function stampKey(stamp: TxStamp): string {
  return `${stamp.replica}:${stamp.counter}`;
}

/** Encodes `registers` (any subset of a state) with `context`, canonically. */
export function encodeRegisters(registers: Iterable<RegisterEntry>, context: CausalContext): Uint8Array {
  const byEntity = new Map<EntityId, Array<[Attr, Slot]>>();
  const stampKeys = new Map<TxStamp, string>();
  const stamps = new Map<string, TxStamp>();
  const replicas = new StringTable();
  const attributes = new StringTable();
  for (const [entity, attribute, slot] of registers) {
    let list = byEntity.get(entity);
    if (list === undefined) {
      list = [];
      byEntity.set(entity, list);
    }
    list.push([attribute, slot]);
    collectStamps(slot, stampKeys, stamps);
  }
  const contextEntries = context.toEntries();
  const sortedStamps = [...stamps.values()].sort((a, b) =>
    a.replica !== b.replica ? (a.replica < b.replica ? -1 : 1) : a.counter - b.counter,
  );
  // Tables in sorted order, so that equal states encode to equal bytes.
  const replicaNames = new Set<string>();
  const attributeNames = new Set<string>();
  for (const entry of contextEntries) replicaNames.add(entry.replica);
  for (const stamp of sortedStamps) replicaNames.add(stamp.replica);
  for (const [, list] of byEntity)
    for (const [attribute, slot] of list) {
      attributeNames.add(attribute);
      if (!(slot instanceof Version)) for (const m of slot.pending ?? []) replicaNames.add(m.replica);
    }
  for (const name of [...replicaNames].sort()) replicas.add(name);
  for (const name of [...attributeNames].sort()) attributes.add(name);
  // Every stamp object, not only the one written per key, gets its index: a lookup per ref, no key built.
  const keyIndex = new Map<string, number>();
  for (const [i, stamp] of sortedStamps.entries()) keyIndex.set(stampKey(stamp), i);
  const stampIndex = new Map<TxStamp, number>();
  for (const [stamp, key] of stampKeys) stampIndex.set(stamp, keyIndex.get(key) as number);
  const indexOf = (stamp: TxStamp): number => stampIndex.get(stamp) as number;
  const encoder = new Encoder(1024 + stamps.size * 16);
  encoder.uint8(FORMAT);
  replicas.write(encoder);
  attributes.write(encoder);
  encoder.varUint(contextEntries.length);
  for (const entry of contextEntries) {
    encoder.varUint(replicas.add(entry.replica));
    encoder.varUint(entry.upTo);
    encoder.varUint(entry.ranges.length / 2);
    for (const n of entry.ranges) encoder.varUint(n);
  }
  encoder.varUint(sortedStamps.length);
  for (const stamp of sortedStamps) {
    encoder.varUint(replicas.add(stamp.replica));
    encoder.varUint(stamp.counter);
    encoder.varUint(stamp.hlc);
  }
  const writeRef = (ref: OpRef): void => {
    encoder.varUint(indexOf(ref.tx));
    encoder.varUint(ref.offset);
  };
  const entityIds = [...byEntity.keys()].sort();
  encoder.varUint(entityIds.length);
  for (const entity of entityIds) {
    const list = (byEntity.get(entity) as Array<[Attr, Slot]>).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    encoder.string(entity);
    encoder.varUint(list.length);
    for (const [attribute, slot] of list) {
      encoder.varUint(attributes.add(attribute));
      const lone = slot instanceof Version ? slot : loneVersion(slot);
      if (lone !== undefined) {
        encoder.uint8(SLOT_VERSION);
        writeRef(lone);
        writeValue(encoder, lone.value);
        continue;
      }
      if (slot instanceof Version) continue;
      encoder.uint8(SLOT_REGISTER);
      const live = [...slot.live].sort(compareRefs);
      encoder.varUint(live.length);
      for (const v of live) {
        writeRef(v);
        writeValue(encoder, v.value);
      }
      const past = [...(slot.past ?? [])].sort(compareRefs);
      encoder.varUint(past.length);
      for (const p of past) {
        writeRef(p);
        encoder.uint8((p.kind === OpKind.Retract ? 1 : 0) | (p.value !== undefined ? 2 : 0) | (p.supersededBy !== null ? 4 : 0));
        if (p.value !== undefined) writeValue(encoder, p.value);
        if (p.supersededBy !== null) writeRef(p.supersededBy);
      }
      const pending = [...(slot.pending ?? [])].sort((a, b) =>
        a.replica !== b.replica ? (a.replica < b.replica ? -1 : 1) : a.counter - b.counter,
      );
      encoder.varUint(pending.length);
      for (const m of pending) {
        encoder.varUint(replicas.add(m.replica));
        encoder.varUint(m.counter);
        writeRef(m.by);
      }
    }
  }
  return encoder.finish();
}

function readStamp(decoder: Decoder, stamps: readonly TxStamp[]): TxStamp {
  const tx = stamps[decoder.varUint()];
  if (tx === undefined) decoder.fail('stamp index out of range');
  return tx;
}

/** A value, checked against its attribute's type (a function, not a closure: it runs once per register). */
function readChecked(decoder: Decoder, spec: AttributeSpec | undefined): Value {
  const value = readValue(decoder);
  if (spec !== undefined && !fitsType(spec.valueType, value)) decoder.fail('encoded value does not fit its attribute');
  return value;
}

export function encodeState(state: ReplicaState): Uint8Array {
  return encodeRegisters(state.registers(), state.context);
}

export interface DecodedRegisters {
  readonly context: CausalContext;
  readonly registers: RegisterEntry[];
}

/** Decodes registers, checking every attribute and value against `specs`. */
export function decodeRegisters(bytes: Uint8Array, specs: AttributeSpecs): DecodedRegisters {
  const decoder: Decoder = new BinaryDecoder(bytes);
  if (decoder.uint8() !== FORMAT) decoder.fail('unknown state format');
  const replicas = readStringTable(decoder);
  const attributes = readStringTable(decoder) as Attr[];
  for (const attribute of attributes) {
    if (!specs.has(attribute))
      throw new DatsyncError(ErrorCode.UnknownAttribute, 'encoded state names an attribute outside the schema', { attribute });
  }
  const context = new CausalContext();
  const contextCount = decoder.count(3);
  for (let i = 0; i < contextCount; i++) {
    const replica = pick<ReplicaId>(decoder, replicas);
    const upTo = decoder.varUint();
    if (upTo > 0) context.add(replica, 1, upTo);
    const ranges = decoder.count(2);
    for (let r = 0; r < ranges; r++) context.add(replica, decoder.varUint(), decoder.varUint());
  }
  const stampCount = decoder.count(3);
  const stamps: TxStamp[] = [];
  for (let i = 0; i < stampCount; i++) {
    stamps.push(new TxStamp(pick<ReplicaId>(decoder, replicas), decoder.varUint(), decoder.varUint() as Hlc));
  }
  const readRef = (d: Decoder): { tx: TxStamp; offset: number } => ({ tx: readStamp(d, stamps), offset: d.varUint() });
  const registers: RegisterEntry[] = [];
  const entityCount = decoder.count(2);
  for (let e = 0; e < entityCount; e++) {
    const text = decoder.string();
    if (!isEntityId(text)) decoder.fail('malformed entity id');
    const entity: EntityId = text;
    const attrCount = decoder.count(3);
    for (let a = 0; a < attrCount; a++) {
      const attribute = pick<Attr>(decoder, attributes);
      const spec = specs.get(attribute);
      const kind = decoder.uint8();
      if (kind === SLOT_VERSION) {
        const tx = readStamp(decoder, stamps);
        const offset = decoder.varUint();
        registers.push([entity, attribute, new Version(tx, offset, readChecked(decoder, spec))]);
        continue;
      }
      if (kind !== SLOT_REGISTER) decoder.fail('unknown register kind');
      const live: Version[] = [];
      const liveCount = decoder.count(3);
      for (let i = 0; i < liveCount; i++) {
        const ref = readRef(decoder);
        live.push(new Version(ref.tx, ref.offset, readChecked(decoder, spec)));
      }
      const past: PastVersion[] = [];
      const pastCount = decoder.count(3);
      for (let i = 0; i < pastCount; i++) {
        const ref = readRef(decoder);
        const flags = decoder.uint8();
        const value = (flags & 2) !== 0 ? readChecked(decoder, spec) : undefined;
        const by = (flags & 4) !== 0 ? readRef(decoder) : null;
        past.push(new PastVersion(ref.tx, ref.offset, (flags & 1) !== 0 ? OpKind.Retract : OpKind.Assert, value, by));
      }
      const pending: PendingMark[] = [];
      const pendingCount = decoder.count(4);
      for (let i = 0; i < pendingCount; i++) {
        pending.push({ replica: pick<ReplicaId>(decoder, replicas), counter: decoder.varUint(), by: readRef(decoder) });
      }
      const reg = new Register(live, past.length > 0 ? past : null, pending.length > 0 ? pending : null);
      if (live.length === 0 && reg.past === null && reg.pending === null) decoder.fail('empty register');
      registers.push([entity, attribute, loneVersion(reg) ?? reg]);
    }
  }
  if (!decoder.done) decoder.fail('trailing bytes after the state');
  return { context, registers };
}

export function decodeState(bytes: Uint8Array, specs: AttributeSpecs): ReplicaState {
  const { context, registers } = decodeRegisters(bytes, specs);
  const state = new ReplicaState(specs);
  state.context.addAll(context);
  for (const [entity, attribute, slot] of registers) state.setSlot(entity, attribute, slot);
  return state;
}
