/**
 * What a session needs of a connection: send binary frames, close with a
 * code, and be told of frames and of the close. The WebSocket adapter and
 * the simulated network of the property tests both provide it.
 *
 * @module
 */
export interface Transport {
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
  /** Bytes queued for sending but not yet sent (for back-pressure decisions). */
  readonly bufferedAmount: number;
}

export interface TransportEvents {
  onFrame(frame: Uint8Array): void;
  /** A frame that is not binary. */
  onText(): void;
  onClose(code: number): void;
}

/** Who is connecting, as far as the server can tell before authentication. */
export interface ConnectionInfo {
  readonly remoteAddress: string | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** A token given in the connection URL's `token` query parameter, if any. */
  readonly urlToken: string | null;
}
