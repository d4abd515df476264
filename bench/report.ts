/**
 * Turning results into markdown, and keeping each suite's section of
 * docs/benchmarks.md up to date between its markers.
 *
 * @module
 */
import { cpus, loadavg, totalmem } from 'node:os';
import type { BenchResult, BenchSuite, Finding, Format, Target } from './harness.js';

/** The machine and runtime a run happened on: figures mean little without it. */
export interface Environment {
  readonly date: string;
  readonly node: string;
  readonly platform: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  /** The 1-minute load average when the suite started: other work on a shared machine slows every figure. */
  readonly load?: number;
}

export function currentEnvironment(now: Date = new Date()): Environment {
  const all = cpus();
  return {
    date: now.toISOString().slice(0, 10),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: all[0]?.model.trim() ?? 'unknown CPU',
    cores: all.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    load: Math.round((loadavg()[0] ?? 0) * 10) / 10,
  };
}

function significant(value: number, digits: number): string {
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  return value.toFixed(decimals);
}

export function formatValue(value: number, format: Format): string {
  if (!Number.isFinite(value)) return String(value);
  switch (format) {
    case 'opsPerSecond':
      if (value >= 1e6) return `${significant(value / 1e6, 3)} M`;
      if (value >= 1e3) return `${significant(value / 1e3, 3)} k`;
      return significant(value, 3);
    case 'ms':
      return `${significant(value, 3)} ms`;
    case 'bytes':
      return `${Math.round(value).toLocaleString('en-US')} B`;
    case 'bytesFine':
      return `${significant(value, 3)} B`;
    case 'megabytes':
      return `${significant(value / 1e6, 3)} MB`;
    case 'count':
      return Math.round(value).toLocaleString('en-US');
    case 'ratio':
      return `${significant(value, 3)}x`;
    default: {
      const never: never = format;
      return never;
    }
  }
}

function formatTarget(target: Target, format: Format): string {
  const op = target.op === '>=' ? '≥' : target.op === '<=' ? '≤' : '<';
  return `${op} ${formatValue(target.value, format)}`;
}

function verdict(finding: Finding): string {
  if (finding.met === null) return '';
  return finding.met ? 'met' : '**not met**';
}

function table(header: readonly string[], align: readonly ('l' | 'r')[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  const rule = align.map((a) => (a === 'r' ? '---:' : '---'));
  return [line(header), line(rule), ...rows.map(line)].join('\n');
}

export function renderResult(result: BenchResult): string {
  const parts = [`### ${result.title}`, '', result.description, ''];
  parts.push(
    table(
      ['subject', ...result.columns.map((c) => c.label)],
      ['l', ...result.columns.map((): 'r' => 'r')],
      result.rows.map((row) => [
        row.subject,
        ...result.columns.map((c) => {
          const value = row.values[c.key];
          return value === undefined ? '' : formatValue(value, c.format);
        }),
      ]),
    ),
  );
  if (result.findings.length > 0) {
    parts.push('');
    parts.push(
      table(
        ['finding', 'measured', 'target', ''],
        ['l', 'r', 'r', 'l'],
        result.findings.map((f) => [
          f.label,
          f.spread === null
            ? formatValue(f.value, f.format)
            : `${formatValue(f.value, f.format)} (${formatValue(f.spread[0], f.format)} to ${formatValue(f.spread[1], f.format)})`,
          f.target === null ? '' : formatTarget(f.target, f.format),
          verdict(f),
        ]),
      ),
    );
  }
  return parts.join('\n');
}

/** Every finding held to a target, as a short list: the section's bottom line. */
function renderTargets(results: readonly BenchResult[]): string {
  const lines: string[] = [];
  for (const result of results) {
    for (const f of result.findings) {
      if (f.target === null) continue;
      const mark = f.met === true ? 'met' : 'NOT met';
      // Titles start with their workload's tag, "(a)": enough to find the table.
      const tag = result.title.split(' ')[0] ?? result.id;
      lines.push(`- ${tag} ${mark}: ${f.label}: ${formatValue(f.value, f.format)} (target ${formatTarget(f.target, f.format)})`);
    }
  }
  return lines.join('\n');
}

export function renderSuite(suite: BenchSuite, results: readonly BenchResult[], env: Environment): string {
  const load = env.load === undefined ? '' : `, load average ${env.load}`;
  const machine = `Measured ${env.date} with Node ${env.node} (${env.platform}) on ${env.cpu}, ${env.cores} cores, ${env.memoryGiB} GiB${load}.`;
  const targets = renderTargets(results);
  return [
    `## ${suite.title}`,
    '',
    `${machine} Regenerate with \`npm run bench -- ${suite.name} --write\`.`,
    '',
    ...results.map((r) => `${renderResult(r)}\n`),
    ...(targets === '' ? [] : ['### Targets', '', targets, '']),
  ].join('\n');
}

export function startMarker(name: string): string {
  return `<!-- bench:${name}:start -->`;
}

export function endMarker(name: string): string {
  return `<!-- bench:${name}:end -->`;
}

/**
 * Replaces the text between a suite's markers with `body`, or appends a new
 * marked section when the document has none. Text outside the markers (the
 * intro, prose written by hand) is left exactly as it was.
 */
export function replaceSection(document: string, name: string, body: string): string {
  const start = startMarker(name);
  const end = endMarker(name);
  const section = `${start}\n${body.trimEnd()}\n${end}`;
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  if (from < 0 && to < 0) {
    const base = document.trimEnd();
    return `${base === '' ? '' : `${base}\n\n`}${section}\n`;
  }
  // Half a pair of markers means someone edited them by hand: appending would duplicate the section.
  if (from < 0 || to < from) throw new Error(`docs/benchmarks.md has unbalanced markers for "${name}"`);
  return document.slice(0, from) + section + document.slice(to + end.length);
}
