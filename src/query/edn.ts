/**
 * A small EDN reader: enough to read Datalog queries and pull patterns so
 * that reactive queries know which attributes they depend on. DataScript
 * itself still parses and runs the query; this reader only looks.
 *
 * @module
 */
import { DatsyncError, ErrorCode } from '../../crdt/index.js';

export type Edn =
  | string
  | number
  | boolean
  | null
  | { readonly kind: 'keyword'; readonly name: string }
  | { readonly kind: 'symbol'; readonly name: string }
  | { readonly kind: 'vector'; readonly items: readonly Edn[] }
  | { readonly kind: 'list'; readonly items: readonly Edn[] }
  | { readonly kind: 'set'; readonly items: readonly Edn[] }
  | { readonly kind: 'map'; readonly entries: ReadonlyArray<readonly [Edn, Edn]> };

const MAX_DEPTH = 64;
const delimiters = new Set(['(', ')', '[', ']', '{', '}', '"', ';']);

function isSpace(ch: string): boolean {
  return ch === ' ' || ch === ',' || ch === '\n' || ch === '\t' || ch === '\r';
}

class Reader {
  private pos = 0;
  private readonly text: string;
  constructor(text: string) {
    this.text = text;
  }

  fail(message: string): never {
    throw new DatsyncError(ErrorCode.InvalidQuery, `cannot read EDN: ${message} at ${this.pos}`);
  }

  private skip(): void {
    const text = this.text;
    while (this.pos < text.length) {
      const ch = text[this.pos] as string;
      if (isSpace(ch)) this.pos++;
      else if (ch === ';') while (this.pos < text.length && text[this.pos] !== '\n') this.pos++;
      else break;
    }
  }

  atEnd(): boolean {
    this.skip();
    return this.pos >= this.text.length;
  }

  read(depth = 0): Edn {
    if (depth > MAX_DEPTH) this.fail('nested too deeply');
    this.skip();
    const ch = this.text[this.pos];
    if (ch === undefined) this.fail('unexpected end');
    if (ch === '[') return { kind: 'vector', items: this.seq(']', depth) };
    if (ch === '(') return { kind: 'list', items: this.seq(')', depth) };
    if (ch === '{') {
      const items = this.seq('}', depth);
      if (items.length % 2 !== 0) this.fail('map with an odd number of forms');
      const entries: Array<readonly [Edn, Edn]> = [];
      for (let i = 0; i < items.length; i += 2) entries.push([items[i] as Edn, items[i + 1] as Edn]);
      return { kind: 'map', entries };
    }
    if (ch === '#' && this.text[this.pos + 1] === '{') {
      this.pos++;
      return { kind: 'set', items: this.seq('}', depth) };
    }
    if (ch === '"') return this.string();
    if (ch === ')' || ch === ']' || ch === '}') this.fail(`unexpected ${ch}`);
    return this.atom();
  }

  private seq(close: string, depth: number): Edn[] {
    this.pos++;
    const items: Edn[] = [];
    for (;;) {
      this.skip();
      if (this.pos >= this.text.length) this.fail(`missing ${close}`);
      if (this.text[this.pos] === close) {
        this.pos++;
        return items;
      }
      items.push(this.read(depth + 1));
    }
  }

  private string(): string {
    this.pos++;
    let out = '';
    const text = this.text;
    while (this.pos < text.length) {
      const ch = text[this.pos++] as string;
      if (ch === '"') return out;
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const esc = text[this.pos++];
      if (esc === 'n') out += '\n';
      else if (esc === 't') out += '\t';
      else if (esc === 'r') out += '\r';
      else if (esc === 'u') {
        out += String.fromCharCode(Number.parseInt(text.slice(this.pos, this.pos + 4), 16));
        this.pos += 4;
      } else if (esc === undefined) this.fail('unterminated string');
      else out += esc;
    }
    return this.fail('unterminated string');
  }

  private atom(): Edn {
    const start = this.pos;
    const text = this.text;
    while (this.pos < text.length && !isSpace(text[this.pos] as string) && !delimiters.has(text[this.pos] as string)) this.pos++;
    const token = text.slice(start, this.pos);
    if (token === 'nil') return null;
    if (token === 'true') return true;
    if (token === 'false') return false;
    if (token.startsWith(':')) return { kind: 'keyword', name: token.slice(1) };
    if (/^[+-]?\d/.test(token)) {
      const n = Number(token.replace(/[NM]$/, ''));
      if (Number.isNaN(n)) this.fail(`bad number ${token}`);
      return n;
    }
    return { kind: 'symbol', name: token };
  }
}

/** Reads one EDN form; throws `invalid-transaction` on malformed text. */
export function readEdn(text: string): Edn {
  const reader = new Reader(text);
  const form = reader.read();
  if (!reader.atEnd()) reader.fail('trailing input');
  return form;
}

export function isSymbol(form: Edn, name?: string): form is { kind: 'symbol'; name: string } {
  return typeof form === 'object' && form !== null && form.kind === 'symbol' && (name === undefined || form.name === name);
}

export function isKeyword(form: Edn, name?: string): form is { kind: 'keyword'; name: string } {
  return typeof form === 'object' && form !== null && form.kind === 'keyword' && (name === undefined || form.name === name);
}

export function itemsOf(form: Edn): readonly Edn[] | undefined {
  if (typeof form !== 'object' || form === null) return undefined;
  return form.kind === 'vector' || form.kind === 'list' || form.kind === 'set' ? form.items : undefined;
}

/** Prints a form back as EDN text. */
export function printEdn(form: Edn): string {
  if (form === null) return 'nil';
  if (typeof form === 'string') return JSON.stringify(form);
  if (typeof form === 'number' || typeof form === 'boolean') return String(form);
  switch (form.kind) {
    case 'keyword':
      return `:${form.name}`;
    case 'symbol':
      return form.name;
    case 'vector':
      return `[${form.items.map(printEdn).join(' ')}]`;
    case 'list':
      return `(${form.items.map(printEdn).join(' ')})`;
    case 'set':
      return `#{${form.items.map(printEdn).join(' ')}}`;
    case 'map':
      return `{${form.entries.map(([k, v]) => `${printEdn(k)} ${printEdn(v)}`).join(' ')}}`;
    default: {
      const never: never = form;
      return never;
    }
  }
}
