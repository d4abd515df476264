/** The first byte of every frame: which message follows. */
export const Tag = {
  Hello: 1,
  Push: 2,
  Credit: 3,
  Ping: 4,
  Auth: 5,
  Scopes: 6,
  Welcome: 64,
  Records: 65,
  Reject: 66,
  Error: 67,
  Pong: 68,
  Registers: 69,
  Evict: 70,
  Snapshot: 71,
} as const;
