// Reading `--input`: the one parser of JSON arrays (of tokens, numbers, group elements, symbols)
// that every construction's parseInput and the CLI's raw-model input use. It bounds the nesting
// before parsing (common/json-depth.ts: an item is echoed in an error, and 5,000 nested brackets
// would overflow the stack there), refuses text that is not a JSON array with what was expected and
// an example, checks the length, and reads each item with the caller's reader, so every error says
// which position is wrong and why. Echoed user text is shortened and JSON-quoted (control
// characters, C1 among them, escaped).
import { InputError } from '../common/errors.ts';
import { assertJsonDepth } from '../common/json-depth.ts';
import { CONTROL_CHARACTER } from '../simulators/strict-json.ts';

const CONTROL = new RegExp(CONTROL_CHARACTER.source, 'g');
/** DEL and the C1 controls, which JSON.stringify leaves as they are, escaped too. */
const escapeControls = (text: string): string => text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const quote = (text: string): string => escapeControls(JSON.stringify(text));

export interface JsonArrayOptions<T> {
  /** Who reads, first in every error ("cot-p-hop"); absent, errors start with `what` ("--input must be …", "--input: token …"). */
  where?: string;
  /** What the text is, in errors: "the input" (the default). */
  what?: string;
  /** What the array holds, in words: "4 tokens 0..3", "S3 elements". */
  expected: string;
  /** An array that parses, shown when the text is not one: "[0,1,2]". */
  example?: string;
  /** How many items: exactly this many, or a range. Absent: any number (the reader or the caller checks). */
  length?: number | { min?: number; max?: number };
  /**
   * Reads item `index` (0-based): returns it, or throws an Error whose message names the position
   * the way the construction does ("operand 2 is 1200; …", "token "x" at position 3 is not in the
   * vocabulary"); it becomes an InputError "<where>: <that message>". tokenItem and intItem below
   * are such readers.
   */
  item(value: unknown, index: number): T;
}

/** User text in an error: at most 80 characters, JSON-quoted (so control characters are escaped). */
export function echoInput(text: string): string {
  return quote(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/** An item as it was written, for an error: 1200, "a", [1,2], {…} (shortened, escaped). */
export function echoItem(value: unknown): string {
  if (typeof value === 'string') return quote(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  const text = JSON.stringify(value) ?? String(value);
  return escapeControls(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/** Parses a JSON array of items; every error is an InputError naming the position and why. */
export function parseJsonArray<T>(text: string, o: JsonArrayOptions<T>): T[] {
  const what = o.what ?? 'the input';
  const head = o.where !== undefined ? `${o.where}: ` : '';
  assertJsonDepth(text, `${head}${what}`);
  const like = o.example !== undefined ? `, like ${o.example}` : '';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${head}${what} must be a JSON array of ${o.expected}${like}; got ${echoInput(text)} (${(e as Error).message})`);
  }
  if (!Array.isArray(value)) throw new InputError(`${head}${what} must be a JSON array of ${o.expected}${like}; got ${echoInput(text)}`);
  const { length } = o;
  if (length !== undefined) {
    const min = typeof length === 'number' ? length : length.min ?? 0;
    const max = typeof length === 'number' ? length : length.max ?? Infinity;
    if (value.length < min || value.length > max) {
      const want = min === max ? `exactly ${min}` : max === Infinity ? `at least ${min}` : `${min}..${max}`;
      throw new InputError(`${head}${what} has ${value.length} items; it takes ${want} (${o.expected})`);
    }
  }
  return value.map((x: unknown, i: number) => {
    try {
      return o.item(x, i);
    } catch (e) {
      throw new InputError(`${o.where ?? what}: ${(e as Error).message}`);
    }
  });
}

/**
 * A reader for token items: a label of `labels` (a string) or an index 0..labels.length−1 (a
 * number); `numbers: 'any'` leaves an index's range to the caller (the interpreter checks it
 * against the model, naming the position). Errors: token "x" at position 3 is not in the vocabulary (…).
 */
export function tokenItem(labels: readonly string[], options: { numbers?: 'checked' | 'any'; what?: string } = {}): (value: unknown, index: number) => number {
  const what = options.what ?? 'token';
  const known = () => `${labels.slice(0, 12).map((v) => echoItem(v)).join(', ')}${labels.length > 12 ? ', …' : ''}`;
  return (value, i) => {
    if (typeof value === 'number') {
      if (options.numbers === 'any' || (Number.isInteger(value) && value >= 0 && value < labels.length)) return value;
      throw new Error(`${what} ${value} at position ${i} is not in the vocabulary (0..${labels.length - 1}: ${known()})`);
    }
    if (typeof value === 'string') {
      const k = labels.indexOf(value);
      if (k >= 0) return k;
      throw new Error(`${what} ${echoItem(value)} at position ${i} is not in the vocabulary (${known()})`);
    }
    throw new Error(`${what} at position ${i} must be a label (a string) or an index (a number), got ${echoItem(value)}`);
  };
}

/** A reader for whole-number items in [min, max]: "token 7 at position 2 is not a whole number in 0..3". */
export function intItem(min: number, max: number, what = 'item'): (value: unknown, index: number) => number {
  return (value, i) => {
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    throw new Error(`${what} ${echoItem(value)} at position ${i} is not a whole number in ${min}..${max}`);
  };
}
