// A strict JSON parser for untrusted model files (looped/1 JSON, the safetensors header and the
// JSON inside its metadata). JSON.parse is not enough there, for three reasons:
//   - it keeps the last of two equal keys silently, so `{"W_E": …, "W_E": …}` would load a file
//     that says two things; this parser refuses a repeated key, naming it and where it is;
//   - its objects have Object.prototype, so code that copies or indexes them can meet
//     `__proto__`/`constructor`; here every object has a null prototype (a "__proto__" key is an
//     ordinary own key, which the readers then refuse as an unknown field);
//   - what comes after it recurses over the value (stringifying for an error, walking it), so
//     5,000 nested brackets end in "Maximum call stack size exceeded"; this parser keeps its own
//     stack (no recursion: deep nesting cannot overflow the call stack) and refuses nesting deeper
//     than `maxDepth`, far more than any model file needs.
// It also refuses numbers a double cannot hold (1e400 would silently become Infinity) and, where
// asked, control characters in strings and keys (text a file carries is printed).
import { MAX_JSON_NESTING } from '../common/json-depth.ts';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export interface StrictJsonOptions {
  /** How the top level is named in paths ("" for a model file, "__metadata__.stages", …). */
  root?: string;
  /** How the text is named in a syntax error, and its top level in paths when there is no root ("the file", "the header"). */
  what?: string;
  /** Deepest nesting of arrays and objects accepted (model files need fewer than 10). */
  maxDepth?: number;
  /** Refuse C0, DEL and C1 control characters in strings and keys (default true). */
  refuseControl?: boolean;
}

/** C0 controls, DEL and C1 controls: what a terminal may act on instead of showing. */
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** The path of a field: `stages[0].layers[1].heads[0].junk`, or `a["odd key"]` where the key is not a name. */
export function fieldPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (!IDENTIFIER.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent ? `${parent}.${key}` : key;
}

/** The first control character of a string as "U+001B", or undefined when it has none. */
export function controlCharacter(s: string): string | undefined {
  const m = CONTROL_CHARACTER.exec(s);
  return m ? `U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` : undefined;
}

interface Frame {
  value: Json[] | JsonObject;
  /** Where this container sits in its parent (for messages). */
  at: string | number | null;
  /** For an object: the key whose value is being parsed. */
  key: string | null;
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const PLAIN = /[^"\\\u0000-\u001f]*/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * Parses `text` as JSON; `fail` throws the caller's error (a ModelError with its prefix) and is
 * given a message that names the place: the path of the field, or the line and column of a
 * syntax error.
 */
export function parseStrictJson(text: string, fail: (message: string) => never, options: StrictJsonOptions = {}): Json {
  const root = options.root ?? '';
  const maxDepth = options.maxDepth ?? MAX_JSON_NESTING;
  const refuseControl = options.refuseControl ?? true;
  const stack: Frame[] = [];
  let pos = 0;

  const where = (): string => {
    let line = 1;
    let col = 1;
    for (let k = 0; k < pos && k < text.length; k++) {
      if (text.charCodeAt(k) === 0x0a) {
        line++;
        col = 1;
      } else col++;
    }
    return `line ${line}, column ${col}`;
  };
  const syntax = (what: string): never => fail(`${options.what ?? (root || 'the text')} is not valid JSON: ${what} at ${where()}`);
  const pathOf = (extra?: string | number): string => {
    let p = root;
    for (const f of stack) if (f.at !== null) p = fieldPath(p, f.at);
    if (extra !== undefined) p = fieldPath(p, extra);
    return p || options.what || '(top level)';
  };
  /** Where the value being parsed now will go: the key of the open object, or the next index. */
  const slot = (): string | number | undefined => {
    const top = stack[stack.length - 1];
    if (top === undefined) return undefined;
    return Array.isArray(top.value) ? top.value.length : (top.key ?? undefined);
  };
  const skip = () => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) pos++;
      else return;
    }
  };
  const readString = (): string => {
    pos++; // the opening quote
    let out = '';
    for (;;) {
      PLAIN.lastIndex = pos;
      const m = PLAIN.exec(text)!;
      out += m[0];
      pos += m[0].length;
      const c = text[pos];
      if (c === '"') {
        pos++;
        return out;
      }
      if (c === undefined) return syntax('unterminated string');
      if (c !== '\\') return syntax(`raw control character U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} in a string`);
      const e = text[pos + 1];
      if (e === 'u') {
        const hex = text.slice(pos + 2, pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) return syntax('bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        pos += 6;
      } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
        out += ESCAPES[e];
        pos += 2;
      } else return syntax(`bad escape \\${e ?? ''}`);
    }
  };
  const checkText = (s: string, path: () => string, what: string) => {
    if (!refuseControl) return;
    const bad = controlCharacter(s);
    if (bad !== undefined) fail(`${path()} ${what} the control character ${bad}; text in a model file may not hold control characters`);
  };
  /** After "{" or ",": a key and its colon; returns false at "}" (only allowed right after "{"). */
  const readKey = (frame: Frame, first: boolean): boolean => {
    skip();
    if (first && text[pos] === '}') return false;
    if (text[pos] !== '"') return syntax(first ? 'expected a key or }' : 'expected a key');
    const key = readString();
    checkText(key, () => pathOf(), `has a key holding`);
    if (Object.hasOwn(frame.value, key)) fail(`${pathOf()} has the key ${JSON.stringify(key)} twice`);
    skip();
    if (text[pos] !== ':') return syntax('expected :');
    pos++;
    frame.key = key;
    return true;
  };

  let result: Json = null;
  let value: Json;
  // Each turn parses one value; a container opens a frame and the next turn parses its first
  // member; after a value, commas and closers are consumed until another value is due.
  for (;;) {
    skip();
    const c = text[pos];
    let opened = false;
    if (c === '{' || c === '[') {
      if (stack.length >= maxDepth) fail(`${pathOf(slot())} nests arrays and objects more than ${maxDepth} deep; no model file does`);
      pos++;
      const frame: Frame = { value: c === '{' ? (Object.create(null) as JsonObject) : [], at: slot() ?? null, key: null };
      stack.push(frame);
      if (c === '{') opened = readKey(frame, true);
      else {
        skip();
        opened = text[pos] !== ']';
      }
      if (opened) continue;
      pos++; // the closer of an empty container
      stack.pop();
      value = frame.value;
    } else if (c === '"') {
      value = readString();
      if (refuseControl && CONTROL_CHARACTER.test(value)) checkText(value, () => pathOf(slot()), 'holds');
    } else if (c === 't' && text.startsWith('true', pos)) {
      pos += 4;
      value = true;
    } else if (c === 'f' && text.startsWith('false', pos)) {
      pos += 5;
      value = false;
    } else if (c === 'n' && text.startsWith('null', pos)) {
      pos += 4;
      value = null;
    } else {
      // The span of number characters, then the JSON grammar on it (Number() alone accepts "0x1").
      let end = pos;
      for (let k = text.charCodeAt(end); (k >= 0x30 && k <= 0x39) || k === 0x2d || k === 0x2b || k === 0x2e || k === 0x65 || k === 0x45; k = text.charCodeAt(++end));
      const num = text.slice(pos, end);
      if (num === '' || !NUMBER.test(num)) return syntax(c === undefined ? 'unexpected end' : `unexpected ${JSON.stringify(num || c)}`);
      pos = end;
      value = Number(num);
      if (!Number.isFinite(value)) fail(`${pathOf(slot())} is the number ${num.length > 30 ? `${num.slice(0, 30)}…` : num}, beyond the range of a double`);
    }
    // Store the value, then close containers until one wants another member.
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) {
        result = value;
        skip();
        if (pos !== text.length) syntax('unexpected text after the end');
        return result;
      }
      if (Array.isArray(top.value)) top.value.push(value);
      else top.value[top.key!] = value;
      skip();
      const next = text[pos];
      const closer = Array.isArray(top.value) ? ']' : '}';
      if (next === ',') {
        pos++;
        if (!Array.isArray(top.value)) readKey(top, false);
        break;
      }
      if (next !== closer) return syntax(next === undefined ? 'unexpected end' : `expected , or ${closer}`);
      pos++;
      stack.pop();
      value = top.value;
    }
  }
}
