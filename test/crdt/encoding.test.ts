import { describe, expect, it } from 'vitest';
import { Decoder, Encoder } from '../../crdt/index.js';
import { caught, hex } from './helpers.js';

function encode(write: (encoder: Encoder) => void, initialSize = 16): Uint8Array {
  const encoder = new Encoder(initialSize);
  write(encoder);
  return encoder.finish();
}

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

/** `text` as a length-prefixed byte string (for hand-made string input). */
function rawString(...payload: number[]): Uint8Array {
  return bytes(payload.length, ...payload);
}

function expectInvalid(read: (decoder: Decoder) => unknown, input: Uint8Array): void {
  const error = caught(() => read(new Decoder(input)));
  expect(error.code).toBe('invalid-encoding');
  expect(typeof error.details?.at).toBe('number');
}

describe('varUint', () => {
  const cases: Array<[number, string]> = [
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [255, 'ff01'],
    [16_383, 'ff7f'],
    [16_384, '808001'],
    [2 ** 31, '8080808008'],
    [2 ** 32, '8080808010'],
    [Number.MAX_SAFE_INTEGER, 'ffffffffffffff0f'],
  ];

  it.each(cases)('%d encodes as %s and decodes back', (value, expected) => {
    const out = encode((e) => e.varUint(value));
    expect(hex(out)).toBe(expected);
    const decoder = new Decoder(out);
    expect(decoder.varUint()).toBe(value);
    expect(decoder.done).toBe(true);
  });

  it('refuses a truncated integer', () => {
    expectInvalid((d) => d.varUint(), bytes(0x80));
    expectInvalid((d) => d.varUint(), bytes(0xff, 0xff));
    expectInvalid((d) => d.varUint(), bytes());
  });

  it('refuses more than 8 bytes', () => {
    expectInvalid((d) => d.varUint(), bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01));
  });

  it('refuses a value beyond the largest safe integer', () => {
    // 2^53 in 8 bytes.
    expectInvalid((d) => d.varUint(), bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10));
    expectInvalid((d) => d.varUint(), bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f));
  });
});

describe('varInt', () => {
  const cases: Array<[number, string]> = [
    [0, '00'],
    [1, '01'],
    [63, '3f'],
    [64, '8001'],
    [-1, '41'],
    [-63, '7f'],
    [-64, 'c001'],
    [8191, 'bf7f'],
    [8192, '808001'],
    [2 ** 31, '8080808010'],
    [-(2 ** 31), 'c080808010'],
  ];

  it.each(cases)('%d encodes as %s and decodes back', (value, expected) => {
    const out = encode((e) => e.varInt(value));
    expect(hex(out)).toBe(expected);
    const decoder = new Decoder(out);
    expect(decoder.varInt()).toBe(value);
    expect(decoder.done).toBe(true);
  });

  it('round-trips the largest and smallest safe integers', () => {
    for (const value of [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53 - 2, -(2 ** 40) - 1]) {
      const out = encode((e) => e.varInt(value));
      expect(out.length).toBeLessThanOrEqual(9);
      expect(new Decoder(out).varInt()).toBe(value);
    }
  });

  it('keeps -0 apart from 0', () => {
    const out = encode((e) => e.varInt(-0));
    expect(hex(out)).toBe('40');
    expect(Object.is(new Decoder(out).varInt(), -0)).toBe(true);
    expect(Object.is(new Decoder(bytes(0x00)).varInt(), 0)).toBe(true);
  });

  it('refuses a truncated, overlong or out-of-range integer', () => {
    expectInvalid((d) => d.varInt(), bytes());
    expectInvalid((d) => d.varInt(), bytes(0x80));
    expectInvalid((d) => d.varInt(), bytes(0xc0, 0x80));
    expectInvalid((d) => d.varInt(), bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01));
    // 2^53 = 2^6 * 2^42 * 32, the next value beyond the largest safe integer, either sign.
    expectInvalid((d) => d.varInt(), bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20));
    expectInvalid((d) => d.varInt(), bytes(0xc0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20));
    // 2^53 - 1 itself is fine.
    expect(new Decoder(bytes(0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f)).varInt()).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('float64', () => {
  it('writes every NaN with one bit pattern', () => {
    expect(hex(encode((e) => e.float64(Number.NaN)))).toBe('000000000000f87f');
    // A NaN with a payload and the sign bit set.
    const raw = new DataView(new ArrayBuffer(8));
    raw.setUint32(0, 0x12345678, true);
    raw.setUint32(4, 0xfff12345, true);
    const odd = raw.getFloat64(0, true);
    expect(Number.isNaN(odd)).toBe(true);
    expect(hex(encode((e) => e.float64(odd)))).toBe('000000000000f87f');
  });

  it('round-trips -0, infinities, subnormals and extremes exactly', () => {
    for (const value of [
      -0,
      0,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.MIN_VALUE,
      -Number.MIN_VALUE,
      Number.MAX_VALUE,
      0.1,
      2 ** 53,
    ]) {
      const back = new Decoder(encode((e) => e.float64(value))).float64();
      expect(Object.is(back, value)).toBe(true);
    }
    expect(hex(encode((e) => e.float64(-0)))).toBe('0000000000000080');
  });

  it('reads from a view that does not start at offset 0', () => {
    const backing = new Uint8Array(20);
    const view = new DataView(backing.buffer);
    view.setFloat64(5, 1.25, true);
    expect(new Decoder(backing.subarray(5, 13)).float64()).toBe(1.25);
  });

  it('refuses fewer than 8 bytes', () => {
    expectInvalid((d) => d.float64(), bytes(0, 0, 0, 0, 0, 0, 0));
  });
});

describe('strings (WTF-8)', () => {
  const cases: Array<[string, string, string]> = [
    ['empty', '', '00'],
    ['ascii', 'abc', '03616263'],
    ['two-byte', 'é', '02c3a9'],
    ['three-byte', '€', '03e282ac'],
    ['astral (surrogate pair)', '😀', '04f09f9880'],
    ['lone high surrogate', '\ud800', '03eda080'],
    ['lone low surrogate', '\udfff', '03edbfbf'],
    ['reversed pair', '\udc00\ud800', '06edb080eda080'],
    ['high surrogate at the end', 'a\ud83d', '0461eda0bd'],
    ['NUL', '\0', '0100'],
    ['U+FFFF', '\uffff', '03efbfbf'],
    ['U+10FFFF', '\udbff\udfff', '04f48fbfbf'],
  ];

  it.each(cases)('%s encodes exactly and round-trips', (_label, text, expected) => {
    const out = encode((e) => e.string(text));
    expect(hex(out)).toBe(expected);
    const decoder = new Decoder(out);
    expect(decoder.string()).toBe(text);
    expect(decoder.done).toBe(true);
  });

  it('round-trips ascii followed by non-ascii, and long non-ascii text', () => {
    for (const text of ['plain then ünïcode', `${'x'.repeat(300)}\ud800`, '€'.repeat(10_000), `${'😀'.repeat(5000)}tail`]) {
      const out = encode((e) => e.string(text), 1);
      expect(new Decoder(out).string()).toBe(text);
    }
  });

  it('refuses a length beyond the input', () => {
    expectInvalid((d) => d.string(), bytes(5, 0x61, 0x62));
  });

  it('refuses a bad continuation byte', () => {
    expectInvalid((d) => d.string(), rawString(0xc3, 0x41));
    expectInvalid((d) => d.string(), rawString(0xe2, 0x82, 0x41));
    expectInvalid((d) => d.string(), rawString(0xf0, 0x9f, 0x98, 0xc0));
  });

  it('refuses a character cut off by the end of the string', () => {
    expectInvalid((d) => d.string(), rawString(0xc3));
    expectInvalid((d) => d.string(), rawString(0xe2, 0x82));
    expectInvalid((d) => d.string(), rawString(0x61, 0xf0, 0x9f, 0x98));
    // The string ends mid-character even though more bytes follow it.
    expectInvalid((d) => d.string(), bytes(1, 0xc3, 0xa9));
  });

  it.each([0x80, 0xbf, 0xc0, 0xc1, 0xf5, 0xf8, 0xfe, 0xff])('refuses the lead byte %d', (lead) => {
    expectInvalid((d) => d.string(), rawString(lead, 0x80, 0x80, 0x80));
  });

  it('refuses overlong forms and code points beyond U+10FFFF', () => {
    expectInvalid((d) => d.string(), rawString(0xc0, 0xaf));
    expectInvalid((d) => d.string(), rawString(0xe0, 0x80, 0xaf));
    expectInvalid((d) => d.string(), rawString(0xe0, 0x9f, 0xbf));
    expectInvalid((d) => d.string(), rawString(0xf0, 0x80, 0x80, 0xaf));
    expectInvalid((d) => d.string(), rawString(0xf0, 0x8f, 0xbf, 0xbf));
    expectInvalid((d) => d.string(), rawString(0xf4, 0x90, 0x80, 0x80));
  });
});

describe('bytes, counts and the reader state', () => {
  it('round-trips a byte string and refuses one longer than the input', () => {
    const out = encode((e) => e.bytes(bytes(1, 2, 3)));
    expect(hex(out)).toBe('03010203');
    expect([...new Decoder(out).bytes()]).toEqual([1, 2, 3]);
    expectInvalid((d) => d.bytes(), bytes(4, 1, 2, 3));
  });

  it('count refuses a count the remaining input cannot hold', () => {
    expect(new Decoder(bytes(2, 0, 0)).count(1)).toBe(2);
    expectInvalid((d) => d.count(1), bytes(3, 0, 0));
    expectInvalid((d) => d.count(2), bytes(2, 0, 0, 0));
    expectInvalid((d) => d.count(1), bytes(0xff, 0xff, 0xff, 0x7f));
  });

  it('uint8 refuses to read past the end, and remaining and done track the position', () => {
    const decoder = new Decoder(bytes(7, 8));
    expect(decoder.remaining).toBe(2);
    expect(decoder.uint8()).toBe(7);
    expect(decoder.done).toBe(false);
    expect(decoder.uint8()).toBe(8);
    expect(decoder.remaining).toBe(0);
    expect(decoder.done).toBe(true);
    expect(caught(() => decoder.uint8()).code).toBe('invalid-encoding');
  });

  it('fail reports the position', () => {
    const decoder = new Decoder(bytes(1, 2, 3));
    decoder.uint8();
    decoder.uint8();
    expect(caught(() => decoder.fail('boom')).details).toEqual({ at: 2 });
  });
});

describe('Encoder', () => {
  it('grows from a tiny initial buffer', () => {
    const encoder = new Encoder(1);
    for (let i = 0; i < 1000; i++) encoder.varUint(i * 1000);
    encoder.string('é'.repeat(2000));
    const out = encoder.finish();
    expect(encoder.length).toBe(out.length);
    const decoder = new Decoder(out);
    for (let i = 0; i < 1000; i++) expect(decoder.varUint()).toBe(i * 1000);
    expect(decoder.string()).toBe('é'.repeat(2000));
    expect(decoder.done).toBe(true);
  });

  it('finish returns a copy', () => {
    const encoder = new Encoder(8);
    encoder.uint8(1);
    const first = encoder.finish();
    first[0] = 99;
    encoder.uint8(2);
    expect([...encoder.finish()]).toEqual([1, 2]);
  });
});
