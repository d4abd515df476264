/** Encodings shared by several messages. */
import type { Decoder, Encoder, ErrorData } from '../../../crdt/index.js';
import { ErrorCode, isErrorCode } from '../../../crdt/index.js';

export function writeError(encoder: Encoder, error: ErrorData): void {
  encoder.string(error.code);
  encoder.string(error.message);
}

export function readError(decoder: Decoder): ErrorData {
  const code = decoder.string();
  const message = decoder.string();
  return { code: isErrorCode(code) ? code : ErrorCode.Internal, message: message.slice(0, 2000) };
}

/** A string that may be absent, written as a flag byte then the string. */
export function writeOptionalString(encoder: Encoder, value: string | null): void {
  encoder.uint8(value === null ? 0 : 1);
  if (value !== null) encoder.string(value);
}

export function readOptionalString(decoder: Decoder, maxLength: number): string | null {
  const flag = decoder.uint8();
  if (flag === 0) return null;
  if (flag !== 1) decoder.fail('bad optional flag');
  const value = decoder.string();
  if (value.length > maxLength) decoder.fail('string too long');
  return value;
}

/** A small JSON value (scope declarations): parsed with a size bound, checked by the receiver. */
export function writeJson(encoder: Encoder, value: unknown): void {
  encoder.string(JSON.stringify(value ?? null));
}

export function readJson(decoder: Decoder, maxLength: number): unknown {
  const text = decoder.string();
  if (text.length > maxLength) decoder.fail('JSON too long');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return decoder.fail('malformed JSON');
  }
}
