/**
 * A small binary writer and reader: variable-length integers, float64, and
 * strings as WTF-8 (UTF-8 that also carries lone surrogates, so every
 * JavaScript string round-trips). Pure: no TextEncoder, no Buffer.
 *
 * The reader checks every bound and throws `invalid-encoding`; it never reads
 * past its input or allocates more than the input could justify.
 *
 * @module
 */
import { DatsyncError, ErrorCode } from './errors.js';

export class Encoder {
  private buffer: Uint8Array;
  /** Made for the first float: most messages have none, and a DataView costs more than a small message. */
  private view: DataView | undefined;
  private pos = 0;

  constructor(initialSize = 1024) {
    this.buffer = new Uint8Array(initialSize);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(extra: number): void {
    const needed = this.pos + extra;
    if (needed <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < needed) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buffer.subarray(0, this.pos));
    this.buffer = next;
    this.view = undefined;
  }

  uint8(value: number): void {
    this.ensure(1);
    this.buffer[this.pos++] = value;
  }

  /** A non-negative safe integer in 1 to 8 bytes. */
  varUint(value: number): void {
    this.ensure(8);
    const buf = this.buffer;
    let n = value;
    while (n >= 0x80) {
      buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[this.pos++] = n;
  }

  /** A safe integer: the first byte holds the sign and six bits, the rest seven. */
  varInt(value: number): void {
    this.ensure(9);
    const buf = this.buffer;
    const negative = value < 0 || Object.is(value, -0);
    let n = negative ? -value : value;
    buf[this.pos++] = (n > 0x3f ? 0x80 : 0) | (negative ? 0x40 : 0) | (n % 0x40);
    n = Math.floor(n / 0x40);
    while (n > 0) {
      buf[this.pos++] = (n > 0x7f ? 0x80 : 0) | (n % 0x80);
      n = Math.floor(n / 0x80);
    }
  }

  float64(value: number): void {
    this.ensure(8);
    this.view ??= new DataView(this.buffer.buffer);
    // One NaN bit pattern, so equal values always encode to equal bytes.
    if (Number.isNaN(value)) {
      this.view.setUint32(this.pos, 0, true);
      this.view.setUint32(this.pos + 4, 0x7ff80000, true);
    } else this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  bytes(data: Uint8Array): void {
    this.varUint(data.length);
    this.ensure(data.length);
    this.buffer.set(data, this.pos);
    this.pos += data.length;
  }

  string(value: string): void {
    const n = value.length;
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (value.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      this.varUint(n);
      this.ensure(n);
      const buf = this.buffer;
      let pos = this.pos;
      for (let i = 0; i < n; i++) buf[pos++] = value.charCodeAt(i);
      this.pos = pos;
      return;
    }
    this.varUint(wtf8Length(value));
    this.ensure(n * 3);
    this.pos = writeWtf8(value, this.buffer, this.pos);
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.pos);
  }
}

function wtf8Length(value: string): number {
  let length = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x80) length += 1;
    else if (code < 0x800) length += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < value.length && isLow(value.charCodeAt(i + 1))) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}

function isLow(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function writeWtf8(value: string, buf: Uint8Array, start: number): number {
  let pos = start;
  for (let i = 0; i < value.length; i++) {
    let code = value.charCodeAt(i);
    if (code < 0x80) buf[pos++] = code;
    else if (code < 0x800) {
      buf[pos++] = 0xc0 | (code >> 6);
      buf[pos++] = 0x80 | (code & 0x3f);
    } else {
      if (code >= 0xd800 && code <= 0xdbff && i + 1 < value.length && isLow(value.charCodeAt(i + 1))) {
        code = 0x10000 + ((code - 0xd800) << 10) + (value.charCodeAt(++i) - 0xdc00);
        buf[pos++] = 0xf0 | (code >> 18);
        buf[pos++] = 0x80 | ((code >> 12) & 0x3f);
      } else buf[pos++] = 0xe0 | (code >> 12);
      buf[pos++] = 0x80 | ((code >> 6) & 0x3f);
      buf[pos++] = 0x80 | (code & 0x3f);
    }
  }
  return pos;
}

export class Decoder {
  private readonly buffer: Uint8Array;
  /** Made for the first float (see `Encoder`). */
  private view: DataView | undefined;
  private pos = 0;

  constructor(buffer: Uint8Array) {
    this.buffer = buffer;
  }

  get remaining(): number {
    return this.buffer.length - this.pos;
  }

  get done(): boolean {
    return this.pos >= this.buffer.length;
  }

  fail(message: string): never {
    throw new DatsyncError(ErrorCode.InvalidEncoding, message, { at: this.pos });
  }

  uint8(): number {
    if (this.pos >= this.buffer.length) this.fail('unexpected end of input');
    return this.buffer[this.pos++] as number;
  }

  varUint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.uint8();
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) this.fail('integer out of range');
        return result;
      }
      scale *= 0x80;
    }
    return this.fail('integer longer than 8 bytes');
  }

  varInt(): number {
    const first = this.uint8();
    const negative = (first & 0x40) !== 0;
    let result = first & 0x3f;
    let scale = 0x40;
    let more = (first & 0x80) !== 0;
    for (let i = 0; more; i++) {
      if (i >= 8) this.fail('integer longer than 9 bytes');
      const byte = this.uint8();
      result += (byte & 0x7f) * scale;
      scale *= 0x80;
      more = (byte & 0x80) !== 0;
    }
    if (result > Number.MAX_SAFE_INTEGER) this.fail('integer out of range');
    return negative ? -result : result;
  }

  float64(): number {
    if (this.pos + 8 > this.buffer.length) this.fail('unexpected end of input');
    this.view ??= new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
    const value = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return value;
  }

  bytes(): Uint8Array {
    const length = this.varUint();
    if (length > this.remaining) this.fail('length exceeds input');
    const out = this.buffer.slice(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  /** A count of items that each take at least `minBytes`: bounded by the input left. */
  count(minBytes = 1): number {
    const n = this.varUint();
    if (n * minBytes > this.remaining) this.fail('count exceeds input');
    return n;
  }

  string(): string {
    const length = this.varUint();
    if (length > this.remaining) this.fail('string length exceeds input');
    const buf = this.buffer;
    const end = this.pos + length;
    let pos = this.pos;
    // Nearly every string stored is ASCII: made in one call, not a character at a time (which left a string per character to collect).
    while (pos < end && (buf[pos] as number) < 0x80) pos++;
    let out = asciiString(buf, this.pos, pos);
    let units: number[] | undefined;
    while (pos < end) {
      const byte = buf[pos] as number;
      if (byte < 0x80 && units === undefined) {
        out += String.fromCharCode(byte);
        pos++;
        continue;
      }
      units ??= [];
      pos = this.readCodePoint(buf, pos, end, units);
      if (units.length >= 4096) {
        out += String.fromCharCode(...units);
        units.length = 0;
      }
    }
    if (units !== undefined && units.length > 0) out += String.fromCharCode(...units);
    this.pos = end;
    return out;
  }

  private readCodePoint(buf: Uint8Array, start: number, end: number, units: number[]): number {
    const byte = buf[start] as number;
    const cont = (at: number): number => {
      if (at >= end) this.fail('truncated character');
      const b = buf[at] as number;
      if ((b & 0xc0) !== 0x80) this.fail('invalid continuation byte');
      return b & 0x3f;
    };
    if (byte < 0x80) {
      units.push(byte);
      return start + 1;
    }
    if (byte >= 0xc2 && byte < 0xe0) {
      units.push(((byte & 0x1f) << 6) | cont(start + 1));
      return start + 2;
    }
    if (byte >= 0xe0 && byte < 0xf0) {
      const code = ((byte & 0x0f) << 12) | (cont(start + 1) << 6) | cont(start + 2);
      if (code < 0x800) this.fail('overlong character');
      units.push(code);
      return start + 3;
    }
    if (byte >= 0xf0 && byte < 0xf5) {
      const code = ((byte & 0x07) << 18) | (cont(start + 1) << 12) | (cont(start + 2) << 6) | cont(start + 3);
      if (code < 0x10000 || code > 0x10ffff) this.fail('character out of range');
      const offset = code - 0x10000;
      units.push(0xd800 + (offset >> 10), 0xdc00 + (offset & 0x3ff));
      return start + 4;
    }
    return this.fail('invalid lead byte');
  }
}

/**
 * One idle encoder and one idle decoder, kept for the life of the module and
 * never used. V8 keeps an object layout (hidden class) only while some object
 * has it, and throws away optimised code built on a layout that died.
 * Encoders and decoders live for one call, so without these every full
 * garbage collection between two syncs would discard the optimised codec, and
 * the next sync would run unoptimised while V8 relearns it: encoding or
 * decoding a 50,000-op batch right after a collection took 4 to 5 times as
 * long (see bench/crdt/merge.ts). Exported (not from index.ts) only so that
 * linters and bundlers do not take them for dead code.
 */
export const LAYOUT_ANCHORS: readonly object[] = [new Encoder(1), new Decoder(new Uint8Array(0))];

/** Largest argument list given to `String.fromCharCode` at once (engines limit how many arguments a call may have). */
const CHARS_PER_CALL = 4096;

/** The ASCII bytes `buf[start..end)` as a string. */
function asciiString(buf: Uint8Array, start: number, end: number): string {
  if (end - start === 1) return String.fromCharCode(buf[start] as number);
  let out = '';
  for (let at = start; at < end; at += CHARS_PER_CALL) {
    out += String.fromCharCode.apply(null, buf.subarray(at, Math.min(end, at + CHARS_PER_CALL)) as unknown as number[]);
  }
  return out;
}
