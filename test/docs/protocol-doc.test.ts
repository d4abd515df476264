/**
 * docs/protocol.md describes every message and every close code of
 * src/protocol, with the numbers the code uses: a message or a close code
 * added, renumbered or removed without the document fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../crdt/index.js';
import { CloseCode, DEFAULT_LIMITS, MAX_FRAME_BYTES, MIN_FRAME_BYTES, PROTOCOL_VERSION, payloadCap } from '../../src/protocol/index.js';
import { Tag } from '../../src/protocol/messages/tags.js';

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

/** The first two cells of every table row whose first cell is a number. */
function numberedRows(): Array<{ readonly number: number; readonly second: string }> {
  return [...doc.matchAll(/^\| (\d+) \| ([^|]+) \|/gm)].map((m) => ({ number: Number(m[1]), second: (m[2] ?? '').trim() }));
}

describe('docs/protocol.md', () => {
  it('names the protocol version', () => {
    expect(doc).toContain(`# The sync protocol (version ${PROTOCOL_VERSION})`);
  });

  it('lists every message with its tag, and no other', () => {
    const documented = numberedRows()
      .filter((row) => /^`[a-z]+`$/.test(row.second))
      .map((row) => [row.second.slice(1, -1), row.number] as const);
    const inCode = Object.entries(Tag).map(([name, tag]) => [name.toLowerCase(), tag] as const);
    expect(new Map(documented)).toEqual(new Map(inCode));
    expect(documented).toHaveLength(inCode.length);
  });

  it('lists every close code, and no other', () => {
    const documented = new Set(
      numberedRows()
        .filter((row) => row.number >= 1000)
        .map((row) => row.number),
    );
    expect(documented).toEqual(new Set(Object.values(CloseCode)));
  });

  it('states the default limits the code enforces', () => {
    const mib = DEFAULT_LIMITS.maxFrameBytes / (1024 * 1024);
    expect(doc).toContain(`default ${mib} MiB`);
    expect(doc).toContain(
      `at most ${DEFAULT_LIMITS.maxPushTransactions.toLocaleString('en-US')}, each at most ${DEFAULT_LIMITS.maxOpsPerTransaction.toLocaleString('en-US')} ops`,
    );
    expect(doc).toContain(`(at most ${DEFAULT_LIMITS.maxBatchRecords.toLocaleString('en-US')})`);
    expect(doc).toContain(`from ${MIN_FRAME_BYTES / 1024} KiB to ${MAX_FRAME_BYTES / (1024 * 1024)} MiB`);
    // The margin the WebSocket layer keeps above the limit, as the text states it.
    expect(payloadCap(DEFAULT_LIMITS.maxFrameBytes)).toBe(DEFAULT_LIMITS.maxFrameBytes * 1.25);
    expect(payloadCap(MIN_FRAME_BYTES)).toBe(MIN_FRAME_BYTES + 64 * 1024);
    expect(doc).toContain('a quarter of it, at least 64 KiB');
    const rate = (limit: { perSecond: number; burst: number }) =>
      `${limit.perSecond.toLocaleString('en-US')} messages/s | ${limit.burst.toLocaleString('en-US')} |`;
    expect(doc).toContain(`| \`messages\` | connection | ${rate(DEFAULT_LIMITS.messages)}`);
    expect(doc).toContain(`| \`identityMessages\` | identity, over all its connections | ${rate(DEFAULT_LIMITS.identityMessages)}`);
  });

  it('names only error codes that exist', () => {
    const section = doc.slice(doc.indexOf('## Errors'));
    const named = [...section.matchAll(/`([a-z]+(?:-[a-z]+)*)`/g)].map((m) => m[1]);
    const known = new Set<string>(Object.values(ErrorCode));
    expect(named.filter((code) => code !== undefined && !known.has(code) && code !== 'error')).toEqual([]);
    expect(named.length).toBeGreaterThan(10);
  });
});
