/**
 * Deterministic finite automata: the reference algorithm of the chain-of-thought automaton task
 * (proofs/cot-tasks/automaton.ts), whose CoT emits one state per step.
 *
 * An automaton has input symbols 0..|Σ|−1, states 0..|Q|−1, a start state q_0 and a TOTAL
 * transition function δ. On a word x_1..x_n its run is q_t = δ(q_{t−1}, x_t), t = 1..n; the
 * trace is q_1..q_n and the answer q_n.
 *
 * Three families, by name (parseAutomatonName):
 *   parity           symbols 0, 1; states even, odd; q_0 = even; δ(q, a) = q xor a;
 *   a group name     the word problem of a group of tasks/groups.ts (Z5, D4, S5, Z2xS3, …): symbols
 *                    and states are the group's elements (same names, so a CoT decoder may share
 *                    their tokens), q_0 = identity, δ(q, g) = q∘g — the running product
 *                    g_1∘…∘g_t, composed left to right exactly as tasks/group-composition.ts's
 *                    compose, so q_n = compose(G, x);
 *   table:<file>     a transition table in JSON (fromTransitionTable):
 *                      { "name"?: string, "symbols": [..], "states": [..], "start": "<state>",
 *                        "delta": { "<state>": { "<symbol>": "<state>", … }, … } }
 *                    Every (state, symbol) pair needs a transition; errors name the field.
 *
 * Names of symbols and states are what the CLI shows and reads: an input word is a JSON array of
 * symbol names, where a name that is JSON text (0, [1,0,2]) may also be written as that JSON value.
 */
import { readFileSync } from 'node:fs';
import { type FiniteGroup, parseElement, parseGroupName } from './groups.ts';
import { tableObject } from './table-file.ts';

/**
 * The transition tables of the CoT decoder have one MLP unit per (state, symbol) pair, and its
 * Theorem 5.4 compilation |Σ ∪ Q|² argmax units: a limit keeps every built model sane (S5's word
 * problem, 120 × 120 = 14 400 pairs, is the largest built-in one).
 */
export const MAX_PAIRS = 14_400;

export type AutomatonFamily =
  | { readonly kind: 'parity' }
  | { readonly kind: 'group'; readonly group: FiniteGroup }
  | { readonly kind: 'table'; readonly source?: string };

export interface Automaton {
  readonly name: string;
  readonly symbols: readonly string[];
  readonly states: readonly string[];
  readonly start: number;
  /** δ(q, a); arguments are not range-checked (hot path), use run() at the boundary. */
  readonly delta: (q: number, a: number) => number;
  readonly family: AutomatonFamily;
}

/** A transition-table file that is not a total deterministic automaton, or that cannot be read. */
export class AutomatonTableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AutomatonTableError';
  }
}

/** An input symbol or word the automaton does not take (a name it lacks, an index out of range). */
export class AutomatonInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AutomatonInputError';
  }
}

// ---------------------------------------------------------------- runs

/** Throws unless every entry of `word` is a symbol index of A; the message names the position. */
export function assertWord(A: Automaton, word: readonly number[]): void {
  word.forEach((a, k) => {
    if (!Number.isInteger(a) || a < 0 || a >= A.symbols.length) {
      throw new AutomatonInputError(`symbol ${k + 1} of the word is ${a}, not a symbol index of ${A.name} (0..${A.symbols.length - 1})`);
    }
  });
}

/** The run's states q_1..q_n (q_0 not included): the CoT trace. */
export function runAutomaton(A: Automaton, word: readonly number[]): number[] {
  assertWord(A, word);
  const states: number[] = [];
  let q = A.start;
  for (const a of word) {
    q = A.delta(q, a);
    states.push(q);
  }
  return states;
}

/** q_n, the state after the whole word (q_0 for the empty word). */
export function finalState(A: Automaton, word: readonly number[]): number {
  const states = runAutomaton(A, word);
  return states.length === 0 ? A.start : states[states.length - 1];
}

// ---------------------------------------------------------------- families

/** Parity of a bit string: states even/odd, δ(q, a) = q xor a. */
export function parityAutomaton(): Automaton {
  return { name: 'parity', symbols: ['0', '1'], states: ['even', 'odd'], start: 0, delta: (q, a) => q ^ a, family: { kind: 'parity' } };
}

/** The word problem of G: the state after g_1..g_t is g_1∘…∘g_t (left to right, as compose). */
export function groupAutomaton(G: FiniteGroup): Automaton {
  return {
    name: G.name,
    symbols: G.elementNames,
    states: G.elementNames,
    start: G.identity,
    delta: (q, g) => G.mul(q, g),
    family: { kind: 'group', group: G },
  };
}

/** The JSON shape of a transition-table file. */
export interface AutomatonTableJson {
  name?: string;
  symbols: string[];
  states: string[];
  start: string;
  delta: Record<string, Record<string, string>>;
}

const TABLE_FIELDS = ['name', 'symbols', 'states', 'start', 'delta'];
const TABLE_SHAPE =
  'an automaton table is a JSON object { "name"?: string, "symbols": string[], "states": string[], "start": "<state>", ' +
  '"delta": { "<state>": { "<symbol>": "<state>" } } }';

/**
 * Builds an automaton from a transition table, refusing anything that is not a total
 * deterministic automaton. Checks run field by field (name, symbols, states, start, delta), the
 * transitions state by state and symbol by symbol in the order the lists give them, so the error
 * names the first problem. `json` may be the parsed object or JSON text; `source` (a file name)
 * prefixes every message.
 */
export function fromTransitionTable(json: unknown, options: { source?: string } = {}): Automaton {
  const fail = (message: string): never => {
    throw new AutomatonTableError(options.source === undefined ? message : `${options.source}: ${message}`);
  };
  const record = tableObject(json, fail, TABLE_SHAPE);
  for (const key of Object.keys(record)) {
    if (!TABLE_FIELDS.includes(key)) fail(`unknown field "${key}" (the fields are ${TABLE_FIELDS.join(', ')})`);
  }

  let name = options.source === undefined ? 'table' : `table:${options.source}`;
  if (record.name !== undefined) {
    if (typeof record.name !== 'string' || record.name.trim() === '') fail('field "name" must be a non-empty string');
    name = (record.name as string).trim();
  }

  const names = (field: 'symbols' | 'states'): string[] => {
    const raw = record[field];
    if (raw === undefined) return fail(`field "${field}" is missing; ${TABLE_SHAPE}`);
    if (!Array.isArray(raw) || raw.length === 0) return fail(`field "${field}" must be a non-empty array of names`);
    const seen = new Map<string, number>();
    return raw.map((entry: unknown, i: number) => {
      if (typeof entry !== 'string' || entry.trim() === '') return fail(`field "${field}": entry ${i} must be a non-empty string, got ${JSON.stringify(entry)}`);
      const t = entry.trim();
      const earlier = seen.get(t);
      if (earlier !== undefined) fail(`field "${field}": the name "${t}" is used by entries ${earlier} and ${i}`);
      seen.set(t, i);
      return t;
    });
  };
  const symbols = names('symbols');
  const states = names('states');
  if (symbols.length * states.length > MAX_PAIRS) {
    fail(`${states.length} states × ${symbols.length} symbols = ${symbols.length * states.length} transitions; at most ${MAX_PAIRS} (the CoT decoder has one MLP unit per transition)`);
  }

  if (record.start === undefined) fail(`field "start" is missing; it names the start state`);
  if (typeof record.start !== 'string') fail(`field "start" must be a state name, got ${JSON.stringify(record.start)}`);
  const start = states.indexOf((record.start as string).trim());
  if (start < 0) fail(`field "start": "${String(record.start)}" is not one of the states (${states.join(', ')})`);

  const rawDelta = record.delta;
  if (rawDelta === undefined) fail(`field "delta" is missing; it maps each state to { symbol: next state }`);
  if (typeof rawDelta !== 'object' || rawDelta === null || Array.isArray(rawDelta)) {
    fail('field "delta" must be an object { "<state>": { "<symbol>": "<state>" } }');
  }
  const delta = rawDelta as Record<string, unknown>;
  for (const key of Object.keys(delta)) {
    if (!states.includes(key)) fail(`field "delta": "${key}" is not a state (states: ${states.join(', ')})`);
  }
  const table = new Int32Array(states.length * symbols.length);
  states.forEach((q, qi) => {
    const row = delta[q];
    if (row === undefined) fail(`field "delta": state "${q}" has no transitions; the transition from "${q}" on symbol "${symbols[0]}" is missing (the automaton must be total)`);
    if (typeof row !== 'object' || row === null || Array.isArray(row)) fail(`field "delta.${q}" must be an object { "<symbol>": "<state>" }`);
    const r = row as Record<string, unknown>;
    for (const key of Object.keys(r)) {
      if (!symbols.includes(key)) fail(`field "delta.${q}": "${key}" is not a symbol (symbols: ${symbols.join(', ')})`);
    }
    symbols.forEach((a, ai) => {
      const to = r[a];
      if (to === undefined) fail(`field "delta.${q}": the transition from "${q}" on symbol "${a}" is missing (the automaton must be total)`);
      const target = typeof to === 'string' ? states.indexOf(to.trim()) : -1;
      if (target < 0) fail(`field "delta.${q}.${a}": ${JSON.stringify(to)} is not a state (states: ${states.join(', ')})`);
      table[qi * symbols.length + ai] = target;
    });
  });
  const width = symbols.length;
  return { name, symbols, states, start, delta: (q, a) => table[q * width + a], family: { kind: 'table', source: options.source } };
}

// ---------------------------------------------------------------- names

export const AUTOMATON_FORMS = 'parity, a group of tasks/groups.ts (Z<m>, D<m>, S<k>, products like Z2xS3: its word problem), table:<file.json>';

/**
 * Reads an automaton the way the CLI receives it: "parity", a group name ("S5", "Z5", "D4",
 * "Z2xS3": the group's word problem) or "table:<file.json>" (read with `readFile`). Throws
 * AutomatonTableError for a bad table and Error naming the accepted forms otherwise.
 */
export function parseAutomatonName(spec: string, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): Automaton {
  const trimmed = spec.trim();
  if (trimmed === 'parity') return parityAutomaton();
  if (trimmed.startsWith('table:')) {
    const path = trimmed.slice('table:'.length).trim();
    if (path === '') throw new AutomatonTableError(`automaton "${spec}": table: needs a file name, like table:my-automaton.json`);
    let text: string;
    try {
      text = readFile(path);
    } catch (e) {
      throw new AutomatonTableError(`cannot read automaton table file ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    return fromTransitionTable(text, { source: path });
  }
  let G: FiniteGroup;
  try {
    G = parseGroupName(trimmed);
  } catch (e) {
    // The group parser's own list of forms offers table: for Cayley tables, which here means a
    // transition table, so only its reason is kept (S6 is out of range, Q8 is no group name).
    const why = (e instanceof Error ? e.message : String(e)).split('; accepted forms')[0];
    throw new Error(`unknown automaton "${spec}" (${why}); accepted forms: ${AUTOMATON_FORMS}`);
  }
  if (G.order * G.order > MAX_PAIRS) {
    throw new Error(`automaton "${spec}": the word problem of ${G.name} has ${G.order}² = ${G.order * G.order} transitions; at most ${MAX_PAIRS} (S5 is the largest symmetric group that fits)`);
  }
  return groupAutomaton(G);
}

// ---------------------------------------------------------------- symbols as text

/** The JSON value a name stands for when it is a JSON number or array ("0" → 0, "[1,0,2]" → [1,0,2]), else the name. */
export function nameToJson(name: string): unknown {
  if (/^-?\d+$/.test(name) || name.startsWith('[')) {
    try {
      return JSON.parse(name) as unknown;
    } catch {
      return name;
    }
  }
  return name;
}

/**
 * Reads one input symbol: its name, or the JSON value of a name (0 for "0", [1,0,2] for "[1,0,2]"),
 * or for a group any element syntax tasks/groups.ts accepts ("e", "s r1", "[1, 0, 2]").
 */
export function parseSymbol(A: Automaton, value: unknown, where = 'symbol'): number {
  const text = typeof value === 'string' ? value.trim() : JSON.stringify(value);
  const k = A.symbols.indexOf(text);
  if (k >= 0) return k;
  if (A.family.kind === 'group' && text !== undefined) {
    try {
      return parseElement(A.family.group, text);
    } catch {
      // fall through to the error naming the alphabet
    }
  }
  const shown = A.symbols.slice(0, 8).map((s) => JSON.stringify(nameToJson(s))).join(', ');
  throw new AutomatonInputError(`${where} is ${JSON.stringify(value)}, not a symbol of ${A.name} (symbols: ${shown}${A.symbols.length > 8 ? ', …' : ''})`);
}

/** A word as JSON text: an array of symbols, each as nameToJson shows it. */
export function formatWord(A: Automaton, word: readonly number[]): string {
  assertWord(A, word);
  return JSON.stringify(word.map((a) => nameToJson(A.symbols[a])));
}
