/**
 * The fuzzer's side of a connection: sends whatever it is given, decodes
 * what the server answers (a server frame that does not decode is itself a
 * finding), credits every batch so the stream never stalls, and resolves a
 * wait as soon as the server has answered a case: an error, a close, or a
 * pong plus an answer for every transaction the case named.
 */
import { WebSocket } from 'ws';
import type { ReplicaId, TxId } from '../../crdt/index.js';
import type { ServerMessage } from '../../src/protocol/index.js';
import { decodeServerMessage, encodeClientMessage } from '../../src/protocol/index.js';

export type Answer = 'error' | 'close' | 'welcome' | 'pong';

export class FuzzSocket {
  private readonly socket: WebSocket;
  private readonly self: ReplicaId;
  readonly answered = new Set<TxId>();
  private readonly pongs = new Set<number>();
  private errors = 0;
  private welcomes = 0;
  closedWith: number | undefined;
  /** Server frames that did not decode. */
  readonly garbage: string[] = [];
  private wake: (() => void) | undefined;

  private constructor(socket: WebSocket, self: ReplicaId) {
    this.socket = socket;
    this.self = self;
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: Buffer) => this.received(new Uint8Array(data)));
    socket.on('close', (code) => {
      this.closedWith = code;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  static open(url: string, self: ReplicaId): Promise<FuzzSocket> {
    const socket = new WebSocket(url);
    const fuzz = new FuzzSocket(socket, self);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(fuzz));
      socket.once('error', reject);
    });
  }

  private received(bytes: Uint8Array): void {
    let message: ServerMessage;
    try {
      message = decodeServerMessage(bytes, this.self);
    } catch (error) {
      this.garbage.push(
        `${error instanceof Error ? error.message : String(error)} in ${Buffer.from(bytes.subarray(0, 64)).toString('hex')}`,
      );
      return;
    }
    switch (message.type) {
      case 'error':
        this.errors++;
        break;
      case 'welcome':
        this.welcomes++;
        break;
      case 'pong':
        this.pongs.add(message.id);
        break;
      case 'reject':
        this.answered.add(message.txId);
        break;
      case 'records':
        for (const entry of message.entries)
          this.answered.add('own' in entry ? entry.own : (`${entry.tx.replica}:${entry.tx.counter}` as TxId));
        this.credit(message.batch);
        break;
      case 'snapshot':
      case 'registers':
      case 'evict':
        this.credit(message.batch);
        break;
    }
    this.wake?.();
  }

  private credit(batch: number): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(encodeClientMessage({ type: 'credit', batch }));
  }

  send(frame: Uint8Array | string): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(frame);
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /**
   * Resolves with how the server answered once it has: an error or a close
   * (after `errorsBefore` errors had come), a welcome, or pong `pingId` with
   * every one of `txIds` answered. Rejects after `guardMs` (a hang).
   */
  until(
    expect: { errorsBefore: number; welcomesBefore: number; pingId?: number; txIds: readonly TxId[] },
    guardMs: number,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        reject(new Error(`no answer within ${guardMs} ms`));
      }, guardMs);
      const check = (): void => {
        let answer: Answer | undefined;
        if (this.errors > expect.errorsBefore) answer = 'error';
        else if (this.closed) answer = 'close';
        else if (this.welcomes > expect.welcomesBefore) answer = 'welcome';
        else if (expect.pingId !== undefined && this.pongs.has(expect.pingId) && expect.txIds.every((id) => this.answered.has(id)))
          answer = 'pong';
        if (answer === undefined) return;
        clearTimeout(timer);
        this.wake = undefined;
        resolve(answer);
      };
      this.wake = check;
      check();
    });
  }

  get counts(): { errorsBefore: number; welcomesBefore: number } {
    return { errorsBefore: this.errors, welcomesBefore: this.welcomes };
  }

  close(): void {
    this.socket.close();
  }
}
