// A bound on how deeply JSON text nests, checked on the text before it is parsed. JSON.parse itself
// copes with deep nesting, but what comes after it recurses — JSON.stringify of an item for an
// error message, Array.prototype.join, a validator walking the value — and 5,000 nested brackets
// end in "Maximum call stack size exceeded", naming nothing. No input or model file of this project
// nests more than a few levels, so a generous bound costs nothing and turns that into an error
// that names the field.
import { InputError } from './errors.ts';

/** The deepest nesting of arrays and objects in any JSON this project reads: inputs (at most 3 deep) and model files (fewer than 10). */
export const MAX_JSON_NESTING = 64;
/** The same bound, as the input checks name it. */
export const MAX_JSON_DEPTH = MAX_JSON_NESTING;

/**
 * Throws an InputError naming `what` when the text nests arrays or objects deeper than `max`.
 * Brackets inside strings do not count; malformed text is left for JSON.parse to refuse.
 */
export function assertJsonDepth(text: string, what = 'the input', max = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) throw new InputError(`${what} nests brackets more than ${max} deep (at character ${i + 1}); no input nests that deep`);
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}
