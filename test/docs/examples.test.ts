/**
 * The runnable examples of the guides (docs/client.md: examples/client/*.ts,
 * docs/crdt.md: examples/crdt/*.ts, docs/drafts.md: examples/drafts/*.ts,
 * docs/scopes.md: examples/scopes/*.ts, docs/server.md: examples/server/*.ts):
 * each one asserts its own results, so a guide that no longer matches the
 * code fails here. Every script exports `main()` and runs it only when
 * executed directly; here each is imported and run in-process. The excerpts
 * a guide quotes are checked to be still in their scripts, line for line,
 * and every script is quoted.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Each guide and the directory of its scripts. */
const guides = [
  { guide: 'docs/client.md', directory: 'examples/client', atLeast: 8 },
  { guide: 'docs/crdt.md', directory: 'examples/crdt', atLeast: 1 },
  { guide: 'docs/drafts.md', directory: 'examples/drafts', atLeast: 1 },
  { guide: 'docs/scopes.md', directory: 'examples/scopes', atLeast: 3 },
  { guide: 'docs/server.md', directory: 'examples/server', atLeast: 1 },
] as const;

afterEach(() => {
  vi.restoreAllMocks();
});

/** Lines without their indentation, blank lines dropped: an excerpt may be dedented. */
function normalized(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .join('\n');
}

/** Every ```ts block of the guide preceded by `<!-- excerpt: path -->`. */
function excerpts(markdown: string): Array<{ readonly path: string; readonly code: string; readonly line: number }> {
  const out: Array<{ path: string; code: string; line: number }> = [];
  const pattern = /<!-- excerpt: (\S+) -->\n```ts\n([\s\S]*?)\n```/g;
  for (const match of markdown.matchAll(pattern)) {
    const [, path = '', code = ''] = match;
    out.push({ path, code, line: markdown.slice(0, match.index).split('\n').length });
  }
  return out;
}

describe.each(guides)('$guide', ({ guide, directory, atLeast }) => {
  const scripts = readdirSync(`${root}${directory}/`)
    .filter((name) => name.endsWith('.ts'))
    .sort();
  const quoted = excerpts(readFileSync(`${root}${guide}`, 'utf8'));

  it('has its scripts', () => {
    expect(scripts.length).toBeGreaterThanOrEqual(atLeast);
  });

  it.each(scripts)('%s runs and its assertions hold', async (name) => {
    const module = (await import(pathToFileURL(`${root}${directory}/${name}`).href)) as { main?: () => Promise<void> };
    expect(typeof module.main).toBe('function');
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    await module.main?.();
    // Each script prints a few lines of what it found.
    expect(log).toHaveBeenCalled();
  });

  it('quotes every script', () => {
    expect(new Set(quoted.map((e) => e.path))).toEqual(new Set(scripts.map((name) => `${directory}/${name}`)));
  });

  it.each(quoted.map((e) => [`line ${e.line} (${e.path})`, e] as const))('the excerpt at %s is in its script', (_, excerpt) => {
    const source = readFileSync(`${root}${excerpt.path}`, 'utf8');
    expect(normalized(source)).toContain(normalized(excerpt.code));
  });
});
