/**
 * The one error class of datsync, and its closed set of codes.
 *
 * It lives in the innermost layer so that every layer (crdt, storage, src)
 * throws the same class and callers need exactly one `instanceof` check.
 * Codes are a closed, documented set (docs/errors.md); a message never
 * contains a value the recipient could not read.
 *
 * @module
 */

/** Every code datsync reports, with the layer that raises it. */
export const ErrorCode = {
  // crdt
  /** An op or transaction is malformed (unknown kind, missing dot, bad shape). */
  InvalidOp: 'invalid-op',
  /** A value does not fit its attribute's value type. */
  InvalidValue: 'invalid-value',
  /** Bytes that should be a datsync encoding are truncated, oversized or corrupt. */
  InvalidEncoding: 'invalid-encoding',
  /** A hybrid logical clock timestamp lies beyond the accepted drift bound. */
  ClockDrift: 'clock-drift',
  /** A replica id was seen issuing a dot it had already issued (amnesia). */
  ReplicaReused: 'replica-reused',
  /** An attribute is not declared in the schema. */
  UnknownAttribute: 'unknown-attribute',
  /** A schema definition is invalid. */
  InvalidSchema: 'invalid-schema',
  // replica
  /** Transaction data is malformed (shape, tempids, lookup refs). */
  InvalidTransaction: 'invalid-transaction',
  /** A unique attribute value is already held by another entity. */
  UniqueConflict: 'unique-conflict',
  /** A Datalog query or pull pattern is malformed or failed to run. */
  InvalidQuery: 'invalid-query',
  /** An entity referenced by id or lookup ref does not exist. */
  UnknownEntity: 'unknown-entity',
  /** The client or server was used after `close()`. */
  Closed: 'closed',
  // storage
  /** The storage backend failed to persist or read; nothing was acknowledged. */
  StorageFailed: 'storage-failed',
  /** The browser refused to store more data. */
  QuotaExceeded: 'quota-exceeded',
  /** Another tab holds an older version of the database open. */
  StorageBlocked: 'storage-blocked',
  // protocol and server
  /** The peer speaks a protocol version this side does not. */
  ProtocolVersion: 'protocol-version',
  /** A frame or batch exceeds the configured limits. */
  TooLarge: 'too-large',
  /** A protocol message does not match its schema. */
  MalformedMessage: 'malformed-message',
  /** Authentication is missing, invalid or expired. */
  Unauthenticated: 'unauthenticated',
  /** The identity may not perform this read or write. */
  Forbidden: 'forbidden',
  /** Too many messages or writes in a time window. */
  RateLimited: 'rate-limited',
  /** The server rejected a transaction (the reason says why). */
  Rejected: 'rejected',
  /** The server is shutting down or unavailable. */
  Unavailable: 'unavailable',
  /** A draft operation failed (closed, too large, too many). */
  DraftFailed: 'draft-failed',
  /** The entity changed since the draft was opened, in a field the draft changes too (see `draft.conflicts()`). */
  DraftConflict: 'draft-conflict',
  /** An unexpected internal failure; a bug report is welcome. */
  Internal: 'internal',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const retryable: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.StorageFailed,
  ErrorCode.RateLimited,
  ErrorCode.Unavailable,
  ErrorCode.StorageBlocked,
]);

/** Plain-data form of a {@link DatsyncError}, as it travels in protocol messages. */
export interface ErrorData {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * @example
 * try { client.transact([[':db/add', 1, 'no/such', 1]]) }
 * catch (e) { if (e instanceof DatsyncError && e.code === 'unknown-attribute') … }
 */
export class DatsyncError extends Error {
  override readonly name = 'DatsyncError';
  readonly code: ErrorCode;
  /** Whether the same call may succeed later without changing its input. */
  readonly retry: boolean;
  readonly details: Readonly<Record<string, string | number | boolean>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    details?: Readonly<Record<string, string | number | boolean>>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.retry = retryable.has(code);
    this.details = details;
  }

  toJSON(): ErrorData {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  static fromJSON(data: ErrorData): DatsyncError {
    return new DatsyncError(data.code, data.message, data.details);
  }
}

const codes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && codes.has(value);
}

/** Throws an `invalid-op` style error unless `condition` holds. */
export function check(
  condition: unknown,
  code: ErrorCode,
  message: string,
  details?: Readonly<Record<string, string | number | boolean>>,
): asserts condition {
  if (!condition) throw new DatsyncError(code, message, details);
}
