/**
 * WebSocket close codes datsync uses (docs/protocol.md lists them all).
 *
 * @module
 */
export const CloseCode = {
  /** Normal closure (the client closed, or the server finished with it). */
  Normal: 1000,
  /** The server is shutting down; reconnect later. */
  GoingAway: 1001,
  /** A frame could not be decoded as a datsync message. */
  ProtocolError: 1002,
  /** A frame was not binary. */
  UnsupportedData: 1003,
  /** A frame exceeded the size limit. */
  TooLarge: 1009,
  /** The server failed unexpectedly. */
  InternalError: 1011,
  /** No valid credentials, or they expired and were not renewed. */
  Unauthenticated: 4001,
  /** The identity may not use this replica id. */
  Forbidden: 4003,
  /** The peer speaks another protocol version. */
  ProtocolVersion: 4009,
  /** The replica id was used with a counter the server had already seen from it. */
  ReplicaReused: 4010,
  /** Too many messages; back off and reconnect. */
  RateLimited: 4029,
  /** Drafts: the request names no valid draft, or a message was malformed. */
  DraftBadRequest: 4400,
  /** Drafts: the identity may neither edit nor watch this draft. */
  DraftForbidden: 4403,
  /** Drafts: nothing to watch (no draft of this entity is open). */
  DraftNotFound: 4404,
  /** Drafts: this draft was committed or discarded (the reason is JSON of `DraftClosed`). */
  DraftClosed: 4410,
  /** Drafts: the draft would exceed its size limit. */
  DraftTooLarge: 4413,
  /** Drafts: the identity has too many drafts open. */
  DraftLimit: 4429,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
