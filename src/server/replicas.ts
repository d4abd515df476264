/**
 * What the server log knows of each replica: the identity its id is bound
 * to, and up to which counter its transactions were decided. Both live in
 * storage; this keeps what was read or decided here, so deciding a
 * transaction seldom reads storage.
 *
 * @module
 */
import type { ReplicaId } from '../../crdt/index.js';
import type { Storage } from '../../storage/contract.js';

export class Replicas {
  private readonly storage: Storage;
  private readonly owners = new Map<ReplicaId, string>();
  private readonly counters = new Map<ReplicaId, number>();

  constructor(storage: Storage) {
    this.storage = storage;
  }

  /**
   * Binds `replica` to `owner` if it is free; true when it is (now) bound to
   * `owner`. A replica id belongs to the identity that first used it, so no
   * one can write under another's replica id.
   */
  async claim(replica: ReplicaId, owner: string): Promise<boolean> {
    let bound = this.owners.get(replica) ?? (await this.storage.replicaOwner(replica));
    if (bound === undefined) {
      await this.storage.commit({ owners: [{ replica, owner }] });
      // Another connection or node may have bound it first: what is stored is the answer.
      bound = (await this.storage.replicaOwner(replica)) ?? owner;
    }
    this.owners.set(replica, bound);
    return bound === owner;
  }

  /**
   * Every counter of `replica` up to which transactions were decided. On a
   * log several nodes share it is read afresh: another node may have decided more.
   */
  async decided(replica: ReplicaId): Promise<number> {
    if (this.storage.shared === undefined) return this.known(replica);
    const value = Math.max(await this.storage.decided(replica), this.counters.get(replica) ?? 0);
    this.counters.set(replica, value);
    return value;
  }

  /** As `decided`, from memory once read. */
  async known(replica: ReplicaId): Promise<number> {
    let value = this.counters.get(replica);
    if (value === undefined) {
      value = await this.storage.decided(replica);
      // A decision may have been noted while storage was read.
      value = Math.max(value, this.counters.get(replica) ?? 0);
      this.counters.set(replica, value);
    }
    return value;
  }

  /** This process decided `replica`'s transactions up to `counter`. */
  decide(replica: ReplicaId, counter: number): void {
    this.counters.set(replica, counter);
  }

  /** Another node's record: it raises what is known, if anything is. */
  heard(replica: ReplicaId, counter: number): void {
    const known = this.counters.get(replica);
    if (known !== undefined) this.counters.set(replica, Math.max(known, counter));
  }

  /** A decision that was not stored: what storage says counts again. */
  forget(replica: ReplicaId): void {
    this.counters.delete(replica);
  }
}
