/**
 * One client connection: the handshake, then pushes in and records out.
 *
 * Records go out through one loop for catch-up and live updates alike: it
 * sends the log after the client's position in batches and keeps at most a
 * few batches unacknowledged (credit-based back-pressure), so a slow or
 * long-offline client never makes the server hold the log in memory.
 *
 * @module
 */
import type { ErrorData, ReplicaId, Transaction } from '../../crdt/index.js';
import { DatsyncError, ErrorCode, transactionId } from '../../crdt/index.js';
import type { LogRecord } from '../../storage/contract.js';
import type { ClientMessage, ProtocolLimits, RecordEntry, ServerMessage } from '../protocol/index.js';
import { CloseCode, decodeClientMessage, encodeServerMessage, PROTOCOL_VERSION } from '../protocol/index.js';
import type { ServerLog } from './log.js';
import type { ConnectionInfo, Transport } from './transport.js';

export interface SessionHooks<Identity> {
  readonly log: ServerLog<Identity>;
  readonly limits: ProtocolLimits;
  authenticate(token: string | null, info: ConnectionInfo): Promise<Identity | null>;
  /** A stable key for an identity: replica ids are bound to it. */
  identityKey(identity: Identity): string;
  /** What of a record this client may see (the transaction, possibly filtered, or null). */
  visible(identity: Identity, record: LogRecord): Transaction | null;
  onError(error: unknown): void;
  now(): number;
}

/** Unacknowledged batches a client may have in flight. */
const WINDOW = 4;

type Phase = 'handshake' | 'authenticating' | 'ready' | 'closed';

export class Session<Identity> {
  private readonly transport: Transport;
  private readonly hooks: SessionHooks<Identity>;
  private readonly info: ConnectionInfo;
  private phase: Phase = 'handshake';
  private identity: Identity | undefined;
  private replica: ReplicaId | undefined;
  /** Last log position sent. */
  private sent = 0;
  private batch = 0;
  private credits = WINDOW;
  private pumping = false;
  private readonly stopListening: () => void;

  constructor(transport: Transport, info: ConnectionInfo, hooks: SessionHooks<Identity>) {
    this.transport = transport;
    this.info = info;
    this.hooks = hooks;
    this.stopListening = hooks.log.events.on('appended', () => this.pump());
  }

  get replicaId(): ReplicaId | undefined {
    return this.replica;
  }

  private send(message: ServerMessage): void {
    if (this.phase === 'closed') return;
    this.transport.send(encodeServerMessage(message));
  }

  /** Sends an error and closes the connection with `code`. */
  fail(error: ErrorData, code: number): void {
    if (this.phase === 'closed') return;
    this.send({ type: 'error', error, fatal: true });
    this.close(code, error.message.slice(0, 120));
  }

  close(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.stopListening();
    this.transport.close(code, reason);
  }

  /** The connection went away. */
  closed(): void {
    this.phase = 'closed';
    this.stopListening();
  }

  onText(): void {
    this.fail({ code: ErrorCode.MalformedMessage, message: 'datsync frames are binary' }, CloseCode.UnsupportedData);
  }

  onFrame(frame: Uint8Array): void {
    if (this.phase === 'closed') return;
    let message: ClientMessage;
    try {
      message = decodeClientMessage(frame, this.hooks.limits);
    } catch (error) {
      const data = error instanceof DatsyncError ? error.toJSON() : { code: ErrorCode.MalformedMessage, message: 'unreadable frame' };
      const code =
        data.code === ErrorCode.ProtocolVersion
          ? CloseCode.ProtocolVersion
          : data.code === ErrorCode.TooLarge
            ? CloseCode.TooLarge
            : CloseCode.ProtocolError;
      this.fail(data, code);
      return;
    }
    if (this.phase === 'handshake') {
      if (message.type !== 'hello') {
        this.fail({ code: ErrorCode.MalformedMessage, message: 'the first message must be hello' }, CloseCode.ProtocolError);
        return;
      }
      this.phase = 'authenticating';
      void this.handshake(message).catch((error: unknown) => this.internal(error));
      return;
    }
    if (this.phase !== 'ready') return;
    switch (message.type) {
      case 'hello':
        this.fail({ code: ErrorCode.MalformedMessage, message: 'hello was already received' }, CloseCode.ProtocolError);
        return;
      case 'push':
        for (const tx of message.txs) void this.push(tx).catch((error: unknown) => this.internal(error));
        return;
      case 'credit':
        this.credits = Math.min(WINDOW, this.credits + 1);
        this.pump();
        return;
      case 'ping':
        this.send({ type: 'pong', id: message.id, head: this.hooks.log.head });
        return;
      case 'auth':
        void this.reauthenticate(message.token).catch((error: unknown) => this.internal(error));
        return;
      default:
        message satisfies never;
    }
  }

  private internal(error: unknown): void {
    this.hooks.onError(error);
    this.fail({ code: ErrorCode.Internal, message: 'internal server error' }, CloseCode.InternalError);
  }

  private async handshake(hello: Extract<ClientMessage, { type: 'hello' }>): Promise<void> {
    const identity = await this.hooks.authenticate(hello.token ?? this.info.urlToken, this.info);
    if (this.phase === 'closed') return;
    if (identity === null) {
      this.fail({ code: ErrorCode.Unauthenticated, message: 'missing or invalid credentials' }, CloseCode.Unauthenticated);
      return;
    }
    const log = this.hooks.log;
    if (!(await log.claimReplica(hello.replicaId, this.hooks.identityKey(identity)))) {
      this.fail({ code: ErrorCode.Forbidden, message: 'this replica id belongs to another identity' }, CloseCode.Forbidden);
      return;
    }
    const decided = await log.decided(hello.replicaId);
    if (hello.issuedUpTo < decided && hello.logId === log.logId) {
      // The client lost transactions the server already has: its storage was restored or copied.
      this.fail(
        { code: ErrorCode.ReplicaReused, message: 'this replica id already issued later transactions; start a new replica' },
        CloseCode.ReplicaReused,
      );
      return;
    }
    this.identity = identity;
    this.replica = hello.replicaId;
    // A client following another log (or one ahead of ours) starts over from the beginning.
    this.sent = hello.logId === log.logId && hello.position <= log.head ? hello.position : 0;
    this.phase = 'ready';
    this.send({
      type: 'welcome',
      version: PROTOCOL_VERSION,
      logId: log.logId,
      head: log.head,
      serverTime: Math.floor(this.hooks.now()),
      decided,
    });
    this.pump();
  }

  private async reauthenticate(token: string): Promise<void> {
    const identity = await this.hooks.authenticate(token, this.info);
    if (identity === null) {
      this.fail({ code: ErrorCode.Unauthenticated, message: 'the new credentials are not valid' }, CloseCode.Unauthenticated);
      return;
    }
    this.identity = identity;
    this.pump();
  }

  private async push(tx: Transaction): Promise<void> {
    const identity = this.identity;
    if (identity === undefined || this.phase !== 'ready') return;
    // Another tab of the same identity may send our writes: any replica id bound to this identity will do.
    if (tx.replica !== this.replica && !(await this.hooks.log.claimReplica(tx.replica, this.hooks.identityKey(identity)))) {
      this.send({
        type: 'reject',
        txId: transactionId(tx),
        error: { code: ErrorCode.Forbidden, message: 'this replica id belongs to another identity' },
      });
      return;
    }
    const outcome = await this.hooks.log.submit(identity, tx);
    // Accepted transactions come back through the records stream, in log order.
    if (!outcome.accepted) this.send({ type: 'reject', txId: transactionId(tx), error: outcome.error });
  }

  /** Sends the next batches of the log, as the window allows. */
  pump(): void {
    if (this.pumping || this.phase !== 'ready' || this.credits <= 0 || this.sent >= this.hooks.log.head) return;
    this.pumping = true;
    void this.sendBatch()
      .catch((error: unknown) => this.internal(error))
      .finally(() => {
        this.pumping = false;
        this.pump();
      });
  }

  private async sendBatch(): Promise<void> {
    const log = this.hooks.log;
    const records = await log.read(this.sent, this.hooks.limits.maxBatchRecords);
    const identity = this.identity;
    const last = records[records.length - 1];
    if (last === undefined || identity === undefined || this.phase !== 'ready') return;
    const entries: RecordEntry[] = [];
    for (const record of records) {
      if (record.tx.replica === this.replica) {
        entries.push({ position: record.position, own: transactionId(record.tx) });
        continue;
      }
      const tx = this.hooks.visible(identity, record);
      if (tx !== null && tx.ops.length > 0) entries.push({ position: record.position, tx });
    }
    this.sent = last.position;
    this.credits--;
    this.send({ type: 'records', batch: ++this.batch, head: log.head, through: last.position, entries });
  }
}
