/**
 * What the drafts benchmark types: one text field of one task, shared by
 * every editor.
 *
 * @module
 */
import type { SchemaInput } from '../../src/schema.js';

export const SCHEMA: SchemaInput = {
  'task/title': { ':db/valueType': ':db.type/string' },
};

export const FIELD = 'task/title';

/** The field's committed value, which the draft starts from (the Yjs peer's first editor types it in). */
export const INITIAL_TEXT = 'Draft';

export const EDITORS = 10;
/** Keystrokes per second, per editor. */
export const RATE = 10;
