/**
 * hello (client → server, first message): who the client is and what it has.
 *
 * Its version vector is `{ <logId>: position, <replicaId>: issuedUpTo }`: the
 * server log's total order summarizes every other replica, so the vector
 * stays two entries long however many replicas exist.
 */
import type { Decoder, Encoder, ReplicaId } from '../../../crdt/index.js';
import { DatsyncError, ErrorCode, isReplicaId } from '../../../crdt/index.js';
import { PROTOCOL_VERSION } from '../version.js';
import { readJson, readOptionalString, writeJson, writeOptionalString } from './common.js';

export interface Hello {
  readonly type: 'hello';
  readonly version: number;
  readonly replicaId: ReplicaId;
  /** The server log this client last followed (null for a new client). */
  readonly logId: string | null;
  /** The last server log position the client holds. */
  readonly position: number;
  /** The last dot counter this replica issued. */
  readonly issuedUpTo: number;
  readonly schemaFingerprint: string;
  readonly token: string | null;
  /** The scopes the client declares (checked by the server), or null for everything it may read. */
  readonly scopes: unknown;
}

export function writeHello(encoder: Encoder, message: Hello): void {
  encoder.varUint(message.version);
  encoder.string(message.replicaId);
  writeOptionalString(encoder, message.logId);
  encoder.varUint(message.position);
  encoder.varUint(message.issuedUpTo);
  encoder.string(message.schemaFingerprint);
  writeOptionalString(encoder, message.token);
  writeJson(encoder, message.scopes);
}

export function readHello(decoder: Decoder): Hello {
  // The version comes first so that a peer of another version gets a clear answer, whatever follows.
  const version = decoder.varUint();
  if (version !== PROTOCOL_VERSION) {
    throw new DatsyncError(ErrorCode.ProtocolVersion, `this server speaks protocol ${PROTOCOL_VERSION}, the client ${version}`, {
      server: PROTOCOL_VERSION,
      client: version,
    });
  }
  const replicaId = decoder.string();
  if (!isReplicaId(replicaId)) decoder.fail('malformed replica id');
  return {
    type: 'hello',
    version,
    replicaId,
    logId: readOptionalString(decoder, 200),
    position: decoder.varUint(),
    issuedUpTo: decoder.varUint(),
    schemaFingerprint: decoder.string(),
    token: readOptionalString(decoder, 16_384),
    scopes: readJson(decoder, 256 * 1024),
  };
}
