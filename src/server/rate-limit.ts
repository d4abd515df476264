/**
 * Rate limits: token buckets per connection (messages, bytes, transactions)
 * and per identity over all its connections (messages, transactions). A peer
 * over a limit is told `rate-limited` and closed with 4029; a well-behaved
 * client reconnects with backoff and resends what was not decided, so a
 * limit slows a client down and never loses its writes.
 *
 * Answers to a batch the server sent (a `credit` it asked for) cost nothing:
 * their rate is the server's own.
 *
 * @module
 */
import type { ProtocolLimits, RateLimit } from '../protocol/index.js';

/** A bucket of `burst` tokens refilled at `perSecond`; time is the server's `now()`. */
export class TokenBucket {
  private tokens: number;
  private at: number;
  private readonly limit: RateLimit;

  constructor(limit: RateLimit, now: number) {
    this.limit = limit;
    this.tokens = limit.burst;
    this.at = now;
  }

  /**
   * Takes `n` tokens while any are left, going into debt if `n` is more:
   * one message larger than the whole burst (a resent outbox) still goes
   * through, and the debt holds the next ones back. False when none are left.
   */
  take(n: number, now: number): boolean {
    const elapsed = Math.max(0, now - this.at) / 1000;
    this.tokens = Math.min(this.limit.burst, this.tokens + elapsed * this.limit.perSecond);
    this.at = now;
    if (this.tokens <= 0) return false;
    this.tokens -= n;
    return true;
  }

  /** Whether it has refilled completely (an idle bucket can be dropped). */
  full(now: number): boolean {
    return this.tokens + (Math.max(0, now - this.at) / 1000) * this.limit.perSecond >= this.limit.burst;
  }
}

interface IdentityBuckets {
  readonly messages: TokenBucket;
  readonly transactions: TokenBucket;
}

/** The identity buckets of one server; idle ones (refilled) are dropped as others are made. */
export class IdentityLimits {
  private readonly buckets = new Map<string, IdentityBuckets>();
  private readonly limits: ProtocolLimits;

  constructor(limits: ProtocolLimits) {
    this.limits = limits;
  }

  get(key: string, now: number): IdentityBuckets {
    let buckets = this.buckets.get(key);
    if (buckets === undefined) {
      if (this.buckets.size >= 1024) {
        for (const [other, held] of this.buckets) if (held.messages.full(now) && held.transactions.full(now)) this.buckets.delete(other);
      }
      buckets = {
        messages: new TokenBucket(this.limits.identityMessages, now),
        transactions: new TokenBucket(this.limits.identityTransactions, now),
      };
      this.buckets.set(key, buckets);
    }
    return buckets;
  }
}

/** One per server: sessions find it through their log. */
const perServer = new WeakMap<object, IdentityLimits>();

/** The identity buckets of the server that owns `log`. */
export function identityLimitsOf(log: object, limits: ProtocolLimits): IdentityLimits {
  let found = perServer.get(log);
  if (found === undefined) {
    found = new IdentityLimits(limits);
    perServer.set(log, found);
  }
  return found;
}

/**
 * The anonymous identity every client of a server without `authenticate`
 * shares: identity limits would make it one global limit, so only the
 * per-connection ones apply to it.
 */
export function isDefaultAnonymous(identity: unknown): boolean {
  return (
    typeof identity === 'object' &&
    identity !== null &&
    (identity as { anonymous?: unknown }).anonymous === true &&
    Object.keys(identity).length === 1
  );
}

/** What one connection may still send; `charge` answers why not, or null. */
export class ConnectionLimiter {
  private readonly messages: TokenBucket;
  private readonly bytes: TokenBucket;
  private readonly transactions: TokenBucket;
  private identity: IdentityBuckets | undefined;

  constructor(limits: ProtocolLimits, now: number) {
    this.messages = new TokenBucket(limits.messages, now);
    this.bytes = new TokenBucket(limits.bytes, now);
    this.transactions = new TokenBucket(limits.transactions, now);
  }

  /** From the handshake on, the identity's buckets are charged too. */
  bind(identity: IdentityBuckets | undefined): void {
    this.identity = identity;
  }

  /** Charges a frame's bytes, before it is decoded. */
  frame(bytes: number, now: number): string | null {
    return this.bytes.take(bytes, now) ? null : 'too many bytes on this connection';
  }

  /** Charges one message and `transactions` pushed transactions. */
  charge(transactions: number, now: number): string | null {
    if (!this.messages.take(1, now)) return 'too many messages on this connection';
    if (transactions > 0 && !this.transactions.take(transactions, now)) return 'too many transactions on this connection';
    const identity = this.identity;
    if (identity === undefined) return null;
    if (!identity.messages.take(1, now)) return 'too many messages from this identity';
    if (transactions > 0 && !identity.transactions.take(transactions, now)) return 'too many transactions from this identity';
    return null;
  }
}
