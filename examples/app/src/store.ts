/**
 * The replica: a datsync client on IndexedDB (one database per user, so a
 * user's data never lands in another user's storage), synced with the server
 * that served the app.
 */

import type { DatsyncClient, SchemaInput } from '../../../src/client/index.js';
import { createClient, DatsyncError, openIndexedDbStorage } from '../../../src/client/index.js';
import schemaJson from '../../tasks/schema.json' with { type: 'json' };
import type { Session } from './session.js';
import { tokenSource } from './session.js';

export const schema = schemaJson as SchemaInput;

export function storageName(sub: string): string {
  return `datsync-app-${sub}`;
}

export async function openReplica(session: Session): Promise<DatsyncClient> {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sync`;
  return createClient({ schema, storage: await openIndexedDbStorage(storageName(session.user.sub)), url, token: tokenSource(session) });
}

/** The user's own entity (tasks refer to their owner), or undefined while this replica has not got it. */
function userEid(client: DatsyncClient, sub: string): number | undefined {
  return client.eid(['user/name', sub]);
}

/**
 * Makes sure the user entity exists, once the replica has caught up (so it
 * knows whether the server has it already). Strong mode: shown only when the
 * server took it; if another tab or device created it first, it arrives.
 */
export function ensureUser(client: DatsyncClient, sub: string): void {
  const attempt = (): void => {
    if (client.status !== 'live' || userEid(client, sub) !== undefined) return;
    client.transact([{ 'user/name': sub }], { confirmed: true }).catch((error: unknown) => {
      if (!(error instanceof DatsyncError && error.code === 'unique-conflict')) console.error(error);
    });
  };
  client.on('status', attempt);
  attempt();
}
