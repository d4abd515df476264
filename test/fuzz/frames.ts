/**
 * Hostile frames, generated from a seed: random bytes, truncated and
 * oversized frames, wrong types in every field, unknown kinds, wrong
 * versions, huge batches, deeply nested values, forged replica ids and dots
 * that collide with another replica's, clocks far in the future, attributes
 * outside the schema or the sender's rights. Each case says whether it is
 * sent as the first frame of a fresh connection or inside an authenticated
 * session, and which transaction ids must be answered.
 */
import type { Attr, EntityId, Hlc, Op, ReplicaId, Transaction, TxId } from '../../crdt/index.js';
import { Encoder, encodeTransactions, OpKind, transactionId } from '../../crdt/index.js';
import type { Hello } from '../../src/protocol/index.js';
import { encodeClientMessage, PROTOCOL_VERSION } from '../../src/protocol/index.js';
import { hello } from '../sync/raw.js';
import { HOSTILE_FRAME_LIMIT } from './schema.js';

export interface FuzzCase {
  readonly name: string;
  /** A text frame when a string. */
  readonly frame: Uint8Array | string;
  /** `fresh`: the first frame of a new connection; `session`: after a valid hello. */
  readonly phase: 'fresh' | 'session';
  /** Transactions the server must answer (reject, or acknowledge in the stream). */
  readonly txIds: readonly TxId[];
}

/** What the generator knows of the session it writes into. */
export interface SessionFacts {
  readonly replica: ReplicaId;
  readonly author: string;
  /** The next unused counter of `replica`. */
  counter: number;
  /** Another client's replica, author and one of its entities and dots. */
  readonly victim: { readonly replica: ReplicaId; readonly entity: EntityId; readonly counter: number; readonly author: string };
}

/** mulberry32: small, fast, seedable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FrameFactory {
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(seed: number, now: () => number = Date.now) {
    this.random = prng(seed);
    this.now = now;
  }

  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  /** A valid hello for `replica`. */
  hello(replica: ReplicaId, token: string | null, extra: Partial<Hello> = {}): Uint8Array {
    return encodeClientMessage(hello(replica, { token, ...extra }));
  }

  /** A fresh-connection case. */
  fresh(token: string): FuzzCase {
    const replica = `fz${this.int(1e9).toString(36)}` as ReplicaId;
    const valid = this.hello(replica, token);
    const kinds: Array<() => [string, Uint8Array | string]> = [
      () => ['random bytes', this.bytes(this.int(64) === 0 ? 0 : 1 + this.int(512))],
      () => ['truncated hello', valid.subarray(0, 1 + this.int(valid.length - 1))],
      () => ['hello with trailing bytes', concat(valid, this.bytes(1 + this.int(8)))],
      () => {
        const e = new Encoder(16);
        e.uint8(1);
        e.varUint(this.pick([0, 2, 3, 255, 2 ** 31, 2 ** 53 - 1]));
        return ['hello of another version', concat(e.finish(), this.bytes(this.int(32)))];
      },
      () => ['unknown kind', concat(Uint8Array.of(this.pick([0, 7, 8, 63, 64, 65, 66, 100, 200, 255])), this.bytes(this.int(64)))],
      () => ['text frame', this.pick(['{"type":"hello"}', '', 'x'.repeat(this.int(1000))])],
      () => ['oversized frame', concat(Uint8Array.of(2), this.bytes(HOSTILE_FRAME_LIMIT + this.int(4096)))],
      () => ['push before hello', this.push([this.validTx(replica, 1, 'nobody')])],
      () => ['ping before hello', encodeClientMessage({ type: 'ping', id: this.int(1e6) })],
      () => ['hello without a token', this.hello(replica, null)],
      () => ['hello with a refused token', this.hello(replica, this.pick(['admin', 'user-', 'x'.repeat(20_000), 'user-a b']))],
      () => [
        'hello with a malformed replica id',
        this.helloRaw({ replica: this.pick(['', 'a', 'x'.repeat(41), 'bad id!', '\u0000\u0000\u0000\u0000']) }),
      ],
      () => ['hello with a bad optional flag', this.helloRaw({ logFlag: 2 + this.int(250) })],
      () => ['hello with counters past 2^53', this.helloRaw({ position: 2 ** 63 })],
      () => ['hello with malformed scopes JSON', this.helloRaw({ scopes: this.pick(['{', '[1,', 'nul', '"\\u12"']) })],
      () => ['hello with deeply nested scopes', this.helloRaw({ scopes: `${'['.repeat(50_000)}${']'.repeat(50_000)}` })],
      () => ['hello with absurd scopes', this.hello(replica, token, { scopes: this.absurdScopes() })],
      () => ['hello with a huge length prefix', concat(Uint8Array.of(1, 1), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f), this.bytes(16))],
      () => ['mutated hello', this.mutate(valid)],
    ];
    const [name, frame] = this.pick(kinds)();
    return { name, frame, phase: 'fresh', txIds: [] };
  }

  /** A case inside an authenticated session. */
  session(facts: SessionFacts): FuzzCase {
    const kinds: Array<() => Omit<FuzzCase, 'phase'>> = [
      () => this.pushCase('unknown attribute', facts, (tx) => this.withOp(tx, { attribute: `nope/${this.int(1000)}` as Attr })),
      () =>
        this.pushCase('secret attribute (no write rule)', facts, (tx) => this.withOp(tx, { attribute: 'secret/code' as Attr, value: 'x' })),
      () =>
        this.pushCase('wrong value type', facts, (tx) =>
          this.withOp(
            tx,
            this.pick([
              { attribute: 'task/done' as Attr, value: 'yes' },
              { attribute: 'task/title' as Attr, value: 42 },
              { attribute: 'task/owner' as Attr, value: 'not-an-entity' },
              { attribute: 'task/title' as Attr, value: null },
              { attribute: 'task/meta' as Attr, value: 10n },
            ]),
          ),
        ),
      () =>
        this.pushCase('clock far in the future', facts, (tx) => ({
          ...tx,
          hlc: ((this.now() + 3_600_000 * (1 + this.int(1e6))) * 1024) as Hlc,
        })),
      () =>
        this.pushCase('forged replica id (another identity’s)', facts, (tx) => ({
          ...tx,
          replica: facts.victim.replica,
          counter: facts.victim.counter + this.int(3),
        })),
      () =>
        this.pushCase('dots colliding with another replica’s entity', facts, (tx) =>
          this.withOp(tx, { entity: facts.victim.entity, attribute: 'task/title' as Attr, value: 'overwritten' }),
        ),
      () =>
        this.pushCase('author forged as another identity', facts, (tx) =>
          this.withOp(tx, { attribute: 'task/author' as Attr, value: facts.victim.author }),
        ),
      () =>
        this.pushCase('supersedes dots it never saw', facts, (tx) => ({
          ...tx,
          ops: tx.ops.map((op) => ({ ...op, supersedes: [{ replica: facts.victim.replica, counter: facts.victim.counter }] })),
        })),
      () =>
        this.pushCase('malformed transaction id', facts, (tx) =>
          this.pick([
            { ...tx, replica: `${facts.replica}>` as ReplicaId },
            { ...tx, counter: 0 },
            { ...tx, replica: 'x' as ReplicaId },
          ]),
        ),
      () => this.pushCase('reused counter', facts, (tx) => ({ ...tx, counter: Math.max(1, facts.counter - 1 - this.int(5)) }), false),
      () =>
        this.pushCase('unique value taken', facts, (tx) =>
          this.withOp(tx, { attribute: 'user/email' as Attr, value: 'victim@example.com' }),
        ),
      () => this.hugeBatch(facts),
      () => ({ name: 'deeply nested value', frame: this.nestedValuePush(facts), txIds: [] }),
      () => ({ name: 'too many transactions in one push', frame: this.tooManyTxs(facts), txIds: [] }),
      () => ({ name: 'empty push', frame: concat(Uint8Array.of(2), Uint8Array.of(5, 1, 0, 0, 0, 0)), txIds: [] }),
      () => ({
        name: 'mutated push',
        frame: this.mutate(this.push([this.validTx(facts.replica, facts.counter, facts.author)])),
        txIds: [],
      }),
      () => ({ name: 'second hello', frame: this.hello(facts.replica, 'user-again'), txIds: [] }),
      () => ({
        name: 'credit for a batch never sent',
        frame: encodeClientMessage({ type: 'credit', batch: this.pick([0, 2 ** 32, 2 ** 53 - 1]) }),
        txIds: [],
      }),
      () => ({ name: 'ping with a huge id', frame: encodeClientMessage({ type: 'ping', id: 2 ** 53 - 1 }), txIds: [] }),
      () => ({
        name: 'auth with a refused token',
        frame: encodeClientMessage({ type: 'auth', token: this.pick(['', 'admin', 'user-someone-else']) }),
        txIds: [],
      }),
      () => ({
        name: 'scopes that are not scopes',
        frame: encodeClientMessage({ type: 'scopes', scopes: this.absurdScopes() }),
        txIds: [],
      }),
      () => ({ name: 'random bytes in session', frame: this.bytes(1 + this.int(256)), txIds: [] }),
      () => ({ name: 'text frame in session', frame: 'hello', txIds: [] }),
    ];
    const made = this.pick(kinds)();
    return { ...made, phase: 'session' };
  }

  /** A valid transaction creating one task. */
  validTx(replica: ReplicaId, counter: number, author: string): Transaction {
    const entity = `${replica}.${counter.toString(36)}` as EntityId;
    const ops: Op[] = [
      { offset: 0, entity, attribute: 'task/title' as Attr, kind: OpKind.Assert, value: `fuzz ${counter}`, supersedes: [] },
      { offset: 1, entity, attribute: 'task/author' as Attr, kind: OpKind.Assert, value: author, supersedes: [] },
    ];
    return { replica, counter, hlc: (Math.floor(this.now()) * 1024) as Hlc, ops };
  }

  push(txs: readonly Transaction[]): Uint8Array {
    return encodeClientMessage({ type: 'push', txs });
  }

  private pushCase(name: string, facts: SessionFacts, spoil: (tx: Transaction) => Transaction, fresh = true): Omit<FuzzCase, 'phase'> {
    const tx = spoil(this.validTx(facts.replica, facts.counter, facts.author));
    // Each case takes counters of its own, so every one is judged on its merits.
    if (fresh) facts.counter += 16;
    return { name, frame: this.push([tx]), txIds: [transactionId(tx)] };
  }

  private withOp(tx: Transaction, change: Partial<Op>): Transaction {
    const [first, ...rest] = tx.ops;
    if (first === undefined) return tx;
    return { ...tx, ops: [{ ...first, ...change }, ...rest] };
  }

  private hugeBatch(facts: SessionFacts): Omit<FuzzCase, 'phase'> {
    // Mostly a few hundred, sometimes the most one push may hold: each refusal costs the server a decision.
    const n = this.int(5) === 0 ? 1000 : 100 + this.int(100);
    const txs: Transaction[] = [];
    for (let i = 0; i < n; i++) {
      const tx = this.validTx(facts.replica, facts.counter + i * 2, facts.author);
      txs.push(this.withOp(tx, { attribute: 'secret/code' as Attr, value: `s${i}` }));
    }
    facts.counter += n * 2 + 16;
    return { name: 'huge batch of refused transactions', frame: this.push(txs), txIds: txs.map(transactionId) };
  }

  /** A push whose one value is an array nested far deeper than values may be, written by hand. */
  private nestedValuePush(facts: SessionFacts): Uint8Array {
    const tx = this.validTx(facts.replica, facts.counter, facts.author);
    facts.counter += 16;
    const good = encodeTransactions([this.withOp(tx, { attribute: 'task/meta' as Attr, value: [] })]);
    // The empty array is the last value written: tag 7, count 0. Replace it by 10,000 nested arrays.
    const depth = 10_000;
    const nested = new Uint8Array(depth * 2);
    for (let i = 0; i < depth; i++) {
      nested[i * 2] = 7;
      nested[i * 2 + 1] = i === depth - 1 ? 0 : 1;
    }
    const at = lastIndexOfPair(good, 7, 0);
    const body = concat(good.subarray(0, at), nested, good.subarray(at + 2));
    const e = new Encoder(body.length + 8);
    e.uint8(2);
    e.bytes(body);
    return e.finish();
  }

  private tooManyTxs(facts: SessionFacts): Uint8Array {
    const txs: Transaction[] = [];
    for (let i = 0; i < 1001; i++) txs.push(this.validTx(facts.replica, facts.counter + i * 2, facts.author));
    facts.counter += 2 * 1001 + 16;
    return this.push(txs);
  }

  private absurdScopes(): unknown {
    return this.pick<unknown>([
      'everything',
      42,
      [null],
      Array.from({ length: 100 }, (_, i) => ({ name: `s${i}`, query: '[:find ?e :where [?e "task/title"]]' })),
      [{ name: 'x', query: `${'('.repeat(5000)}` }],
      [{ name: 'x', query: '[:find ?e :where [?e "secret/code"]]' }],
      [{ name: 'x', pull: '[*]', entity: 'not an entity' }],
      [{ name: 'x'.repeat(1000), query: '[:find ?e :where [?e "task/title"]]' }],
      [{ name: 'x', query: '[:find ?e :where [?e "task/title"]]', inputs: [{ deep: [[[1]]] }] }],
    ]);
  }

  /** A hello with hand-written fields, for values the encoder would never produce. */
  private helloRaw(fields: { replica?: string; logFlag?: number; position?: number; scopes?: string }): Uint8Array {
    const e = new Encoder(64);
    e.uint8(1);
    e.varUint(PROTOCOL_VERSION);
    e.string(fields.replica ?? 'raw-hello-1');
    e.uint8(fields.logFlag ?? 0);
    if (fields.position !== undefined) {
      // A varuint longer than any safe integer.
      for (let i = 0; i < 10; i++) e.uint8(0xff);
      e.uint8(0x01);
    } else e.varUint(0);
    e.varUint(0);
    e.string('');
    e.uint8(1);
    e.string('user-raw');
    e.string(fields.scopes ?? 'null');
    return e.finish();
  }

  /** Flips, inserts, deletes or overwrites a few bytes. */
  mutate(frame: Uint8Array): Uint8Array {
    const out = Array.from(frame);
    const edits = 1 + this.int(4);
    for (let i = 0; i < edits; i++) {
      const at = this.int(Math.max(1, out.length));
      switch (this.int(4)) {
        case 0:
          out[at] = (out[at] ?? 0) ^ (1 << this.int(8));
          break;
        case 1:
          out.splice(at, 0, this.int(256));
          break;
        case 2:
          if (out.length > 1) out.splice(at, 1);
          break;
        default:
          out[at] = this.pick([0, 0x7f, 0x80, 0xff]);
      }
    }
    return Uint8Array.from(out);
  }
}

function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function lastIndexOfPair(bytes: Uint8Array, a: number, b: number): number {
  for (let i = bytes.length - 2; i >= 0; i--) if (bytes[i] === a && bytes[i + 1] === b) return i;
  throw new Error('pair not found');
}
