/**
 * A loopback TCP proxy in front of PostgreSQL, for faults a real network
 * has: the database going away (every connection cut, new ones refused) and
 * a connection broken while a COMMIT is on its way.
 */
import { createServer, Socket } from 'node:net';

export interface TcpProxy {
  /** A URL like `target` but through the proxy. */
  readonly url: string;
  /** Cuts every connection and refuses new ones until `restore`. */
  cut(): void;
  restore(): void;
  /**
   * Breaks the next connection that sends COMMIT: after passing the COMMIT on
   * (it takes, but no answer comes back) or before (it never arrives).
   * Resolves once it has.
   */
  breakNextCommit(pass: boolean): Promise<void>;
  close(): Promise<void>;
}

/** A simple-protocol Query message holding COMMIT, as `pg` sends it. */
function holdsCommit(chunk: Buffer): boolean {
  const at = chunk.indexOf('COMMIT\u0000');
  return at >= 5 && chunk[at - 5] === 0x51; // 'Q', then a 4-byte length
}

export async function tcpProxy(target: string): Promise<TcpProxy> {
  const to = new URL(target);
  const pairs = new Set<[Socket, Socket]>();
  let refusing = false;
  let armed: { pass: boolean; done: () => void } | undefined;
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    upstream.connect(Number(to.port), to.hostname);
    client.on('data', (chunk: Buffer) => {
      const trap = armed;
      if (trap !== undefined && holdsCommit(chunk)) {
        armed = undefined;
        if (trap.pass) {
          // Let the COMMIT reach the server, and lose its answer.
          upstream.write(chunk, () => {
            client.destroy();
            trap.done();
          });
          upstream.removeAllListeners('data');
          return;
        }
        drop();
        trap.done();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const via = new URL(target);
  via.hostname = '127.0.0.1';
  via.port = String(port);
  const cut = (): void => {
    refusing = true;
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  return {
    url: via.toString(),
    cut,
    restore() {
      refusing = false;
    },
    breakNextCommit(pass) {
      return new Promise((resolve) => {
        armed = { pass, done: resolve };
      });
    },
    close() {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
