// The automata of the CoT automaton task: runs against independent definitions (parity as a
// prefix xor, a group's word problem as compose of tasks/group-composition.ts), the transition-table
// format and its errors, symbols as text.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fcParams } from '../../properties/config.ts';
import { compose } from '../../tasks/group-composition.ts';
import { parseGroupName } from '../../tasks/groups.ts';
import {
  AutomatonInputError,
  AutomatonTableError,
  finalState,
  formatWord,
  fromTransitionTable,
  groupAutomaton,
  parityAutomaton,
  parseAutomatonName,
  parseSymbol,
  runAutomaton,
} from '../../tasks/automata.ts';

/** Words over {a, b} that end in "ab": states 0 (start), 1 (last was a), 2 (ends in ab). */
const endsInAb = {
  name: 'ends-in-ab',
  symbols: ['a', 'b'],
  states: ['s', 'A', 'AB'],
  start: 's',
  delta: { s: { a: 'A', b: 's' }, A: { a: 'A', b: 'AB' }, AB: { a: 'A', b: 's' } },
};

describe('automata: runs', () => {
  it('parity: q_t is the xor of the first t bits', () => {
    const P = parityAutomaton();
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1 }), { maxLength: 20 }), (w) => {
        let x = 0;
        expect(runAutomaton(P, w)).toEqual(w.map((b) => (x ^= b)));
      }),
      fcParams(100),
    );
    expect(finalState(P, [])).toBe(0);
  });

  it('a group word problem: q_t = g_1∘…∘g_t, the same product as compose (left to right)', () => {
    for (const name of ['S3', 'D4', 'Z5', 'S5', 'Z2xS3']) {
      const G = parseGroupName(name);
      const A = groupAutomaton(G);
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: G.order - 1 }), { maxLength: 8 }), (w) => {
          const states = runAutomaton(A, w);
          states.forEach((q, t) => expect(q).toBe(compose(G, w.slice(0, t + 1))));
          expect(finalState(A, w)).toBe(compose(G, w));
        }),
        fcParams(40),
      );
    }
  });

  it('a transition table: ends in ab', () => {
    const A = fromTransitionTable(endsInAb);
    const word = (text: string) => [...text].map((c) => A.symbols.indexOf(c));
    expect(A.states[finalState(A, word('abab'))]).toBe('AB');
    expect(A.states[finalState(A, word('abba'))]).toBe('A');
    expect(A.states[finalState(A, word('bb'))]).toBe('s');
    expect(() => runAutomaton(A, [0, 2])).toThrow(AutomatonInputError);
    expect(() => runAutomaton(A, [0, 2])).toThrow(/symbol 2 of the word is 2/);
  });
});

describe('automata: transition tables are validated field by field', () => {
  const bad = (patch: Record<string, unknown>, message: RegExp) => {
    expect(() => fromTransitionTable({ ...endsInAb, ...patch }, { source: 'x.json' })).toThrow(AutomatonTableError);
    expect(() => fromTransitionTable({ ...endsInAb, ...patch }, { source: 'x.json' })).toThrow(message);
  };

  it('a missing transition is named (the automaton must be total)', () => {
    bad({ delta: { ...endsInAb.delta, A: { a: 'A' } } }, /x\.json: field "delta\.A": the transition from "A" on symbol "b" is missing \(the automaton must be total\)/);
    bad({ delta: { s: endsInAb.delta.s, A: endsInAb.delta.A } }, /state "AB" has no transitions; the transition from "AB" on symbol "a" is missing/);
  });

  it('every other field', () => {
    bad({ symbols: [] }, /field "symbols" must be a non-empty array/);
    bad({ symbols: ['a', 'a'] }, /field "symbols": the name "a" is used by entries 0 and 1/);
    bad({ states: ['s', 7] }, /field "states": entry 1 must be a non-empty string, got 7/);
    bad({ start: 'q9' }, /field "start": "q9" is not one of the states \(s, A, AB\)/);
    bad({ delta: [] }, /field "delta" must be an object/);
    bad({ delta: { ...endsInAb.delta, Z: {} } }, /field "delta": "Z" is not a state/);
    bad({ delta: { ...endsInAb.delta, s: { a: 'A', b: 's', c: 's' } } }, /field "delta\.s": "c" is not a symbol/);
    bad({ delta: { ...endsInAb.delta, s: { a: 'A', b: 'nowhere' } } }, /field "delta\.s\.b": "nowhere" is not a state/);
    bad({ transitions: {} }, /unknown field "transitions"/);
    bad({ name: '' }, /field "name" must be a non-empty string/);
    expect(() => fromTransitionTable('{ not json', { source: 'x.json' })).toThrow(/x\.json: not valid JSON/);
    const { start: _, ...noStart } = endsInAb;
    expect(() => fromTransitionTable(noStart)).toThrow(/field "start" is missing/);
  });

  it('names: parity, groups, table files; others are refused with the accepted forms', () => {
    expect(parseAutomatonName('parity').family.kind).toBe('parity');
    expect(parseAutomatonName('S5').states.length).toBe(120);
    const files: Record<string, string> = { 'ab.json': JSON.stringify(endsInAb) };
    const read = (p: string) => {
      if (!(p in files)) throw new Error('no such file');
      return files[p];
    };
    expect(parseAutomatonName('table:ab.json', read).name).toBe('ends-in-ab');
    expect(() => parseAutomatonName('table:nope.json', read)).toThrow(/cannot read automaton table file nope\.json: no such file/);
    expect(() => parseAutomatonName('Q8')).toThrow(/unknown automaton "Q8".*accepted forms: parity/);
    expect(() => parseAutomatonName('Z200')).toThrow(/200² = 40000 transitions; at most 14400/);
  });
});

describe('automata: symbols as text', () => {
  it('names, JSON values of names, and a group\'s own element syntax', () => {
    const P = parityAutomaton();
    expect(parseSymbol(P, 1)).toBe(1);
    expect(parseSymbol(P, '0')).toBe(0);
    expect(() => parseSymbol(P, 2, 'symbol 3')).toThrow(/symbol 3 is 2, not a symbol of parity \(symbols: 0, 1\)/);
    const S3 = groupAutomaton(parseGroupName('S3'));
    expect(S3.symbols[parseSymbol(S3, [1, 0, 2])]).toBe('[1,0,2]');
    expect(S3.symbols[parseSymbol(S3, '[1, 0, 2]')]).toBe('[1,0,2]');
    const D4 = groupAutomaton(parseGroupName('D4'));
    expect(D4.symbols[parseSymbol(D4, 'e')]).toBe('r0');
    expect(formatWord(S3, [0, 2])).toBe('[[0,1,2],[1,0,2]]');
    expect(formatWord(P, [1, 0])).toBe('[1,0]');
  });
});
