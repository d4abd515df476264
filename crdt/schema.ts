/**
 * What the core needs to know of an attribute: its cardinality (which decides
 * how a register merges and what it shows), its value type (which values an
 * op may carry) and whether it keeps history.
 *
 * @module
 */
import type { Attr } from './ids.js';
import type { ValueType } from './values.js';

export const Cardinality = {
  /** A multi-value register: concurrent writes are siblings, one deterministic winner is shown. */
  One: 'one',
  /** An add-wins observed-remove set of values. */
  Many: 'many',
} as const;
export type Cardinality = (typeof Cardinality)[keyof typeof Cardinality];

export interface AttributeSpec {
  readonly cardinality: Cardinality;
  readonly valueType: ValueType;
  /** Keep superseded versions and retractions (for `history` and `asOf`). */
  readonly history: boolean;
}

export type AttributeSpecs = ReadonlyMap<Attr, AttributeSpec>;
