/**
 * Crash-test child: appends transactions to a SQLite log as fast as it can
 * and prints "ack <position>" after each commit resolves. The parent kills
 * it with SIGKILL at a random moment.
 */
import type { Attr, EntityId, Hlc, ReplicaId, Transaction } from '../../crdt/index.js';
import { SqliteStorage } from '../../storage/sqlite.js';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: sqlite-appender <path>');
const storage = new SqliteStorage(path);
const replica = 'crash-writer' as ReplicaId;
let position = await storage.lastPosition();
for (;;) {
  position++;
  const tx: Transaction = {
    replica,
    counter: position * 3,
    hlc: (1_700_000_000_000 * 1024 + position) as Hlc,
    ops: [0, 1, 2].map((offset) => ({
      offset,
      entity: `crash-writer.${position.toString(36)}` as EntityId,
      attribute: `crash/a${offset}` as Attr,
      kind: 'assert' as const,
      value: position,
      supersedes: [],
    })),
  };
  await storage.commit({ log: [{ position, tx }], meta: { decided: { [replica]: position * 3 + 2 } } });
  process.stdout.write(`ack ${position}\n`);
}
