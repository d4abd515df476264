/** A database as IndexedDB layout 1 left it, for the upgrade and blocked-upgrade tests. */
import type { IDBPDatabase } from 'idb';
import { openDB } from 'idb';

/** Opens `name` at layout 1 (its five stores), with no handler that closes it when a newer version asks. */
export function openLayout1(name: string): Promise<IDBPDatabase> {
  return openDB(name, 1, {
    upgrade(db) {
      db.createObjectStore('log').createIndex('txIds', 'txIds', { multiEntry: true });
      db.createObjectStore('outbox', { autoIncrement: true }).createIndex('txId', 'txId', { unique: true });
      db.createObjectStore('rejections');
      db.createObjectStore('meta');
      db.createObjectStore('snapshot');
    },
  });
}
