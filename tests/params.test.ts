// Declarative parameters (proofs/construction.ts: int with auto, choice, rational, text) and the
// shared --input reader (proofs/input-parsing.ts): every kind accepts exactly its values — a whole
// number in range, one of the words, a rational in range — and refuses anything else with an error
// naming the parameter and its range or its values; the values reach build typed; an input error
// names the position and why.
import fc from 'fast-check';
import { Fraction } from 'mathjs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { InputError, UsageError } from '../common/errors.ts';
import { checkConstruction } from '../proofs/contract.ts';
import { type Construction, defineConstruction, defineParams, lowerHint, orAuto, paramRange, paramValues, readParam, resolveParams } from '../proofs/construction.ts';
import { intItem, parseJsonArray, tokenItem } from '../proofs/input-parsing.ts';
import { loopsParamSpec, scaleParamSpec } from '../proofs/param-readers.ts';
import type { Rational } from '../simulators/rational.ts';

const SEED = 17;
const ID = 'params-test';
const VARIANTS = ['corrected', 'erratum-1', 'erratum-2'] as const;
const PARAMS = defineParams([
  { name: 'n', describe: 'length', default: '8', kind: 'int', min: 1, max: 64 },
  { name: 'variant', describe: 'which', default: 'corrected', kind: 'choice', values: VARIANTS },
  { name: 'attention', describe: 'kind', default: 'hard', kind: 'choice', values: ['hard', 'softmax'] },
  { name: 'group', describe: 'a group', default: 'S3', kind: 'text' },
  { name: 'beta', describe: 'a scale in [1/4, 4]', default: '1', kind: 'rational', min: 0.25, max: 4 },
  loopsParamSpec('⌈log2 n⌉'),
  scaleParamSpec('1'),
]);
const c: Pick<Construction, 'id' | 'params'> = { id: ID, params: PARAMS };

describe('paramValues and resolveParams: each kind', () => {
  it('defaults, typed', () => {
    const v = paramValues(ID, PARAMS, {});
    expectTypeOf(v.n).toEqualTypeOf<number>();
    expectTypeOf(v.variant).toEqualTypeOf<'corrected' | 'erratum-1' | 'erratum-2'>();
    expectTypeOf(v.attention).toEqualTypeOf<'hard' | 'softmax'>();
    expectTypeOf(v.group).toEqualTypeOf<string>();
    expectTypeOf(v.loops).toEqualTypeOf<number | 'auto'>();
    expectTypeOf(v.scale).toEqualTypeOf<Rational>();
    expect({ ...v, beta: v.beta.toFraction(), scale: v.scale.toFraction() }).toEqual({ n: 8, variant: 'corrected', attention: 'hard', group: 'S3', beta: '1', loops: 'auto', scale: '1' });
    expect(resolveParams(c, {})).toEqual({ n: 8, variant: 'corrected', attention: 'hard', group: 'S3', beta: '1', loops: 'auto', scale: '1' });
    expect(orAuto(v.loops, () => 3)).toBe(3);
    expect(orAuto(paramValues(ID, PARAMS, { loops: 5 }).loops, () => 3)).toBe(5);
  });

  it('a whole number is accepted exactly inside its range, as text (CLI) or as a number (a build call)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -100, max: 200 }), (k) => {
        const inside = k >= 1 && k <= 64;
        const cli = () => resolveParams(c, { n: String(k) });
        const build = () => paramValues(ID, PARAMS, { n: k });
        if (inside) {
          expect(cli().n).toBe(k);
          expect(build().n).toBe(k);
        } else {
          expect(cli).toThrow(`parameter n of ${ID} is ${k}, outside its range 1..64`);
          expect(build).toThrow(`parameter n of ${ID} must be a whole number in 1..64, got ${k}`);
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
    for (const bad of ['x', '1.5', '', '0x10', '1e3']) expect(() => resolveParams(c, { n: bad })).toThrow(`parameter n of ${ID} must be a whole number in 1..64, got "${bad}"`);
    expect(() => paramValues(ID, PARAMS, { n: 2.5 })).toThrow(UsageError);
  });

  it('int with auto: the word auto, or a number in range', () => {
    expect(resolveParams(c, { loops: 'auto' }).loops).toBe('auto');
    expect(resolveParams(c, { loops: '0' }).loops).toBe(0);
    expect(resolveParams(c, { loops: '64' }).loops).toBe(64);
    expect(() => resolveParams(c, { loops: '65' })).toThrow(`parameter loops of ${ID} is 65, outside its range 0..64 (or auto)`);
    expect(() => resolveParams(c, { loops: 'two' })).toThrow(`parameter loops of ${ID} must be auto or a whole number in 0..64, got "two"`);
    expect(() => paramValues(ID, PARAMS, { loops: -1 })).toThrow(`parameter loops of ${ID} must be auto or a whole number in 0..64, got -1`);
    // `auto` is a word only where the spec allows it
    expect(() => resolveParams(c, { n: 'auto' })).toThrow(/must be a whole number in 1\.\.64, got "auto"/);
  });

  it('choice: exactly its values, the error lists them', () => {
    for (const v of VARIANTS) expect(resolveParams(c, { variant: v }).variant).toBe(v);
    expect(() => resolveParams(c, { variant: 'erratum-3' })).toThrow(`parameter variant of ${ID} must be one of corrected, erratum-1, erratum-2, got "erratum-3"`);
    expect(() => resolveParams(c, { attention: 'linear' })).toThrow(`parameter attention of ${ID} must be hard or softmax, got "linear"`);
    expect(() => paramValues(ID, PARAMS, { variant: 'Corrected' })).toThrow(UsageError);
  });

  it('rational: exact, positive, in its range; kept as text by resolveParams, a Rational for build', () => {
    fc.assert(
      fc.property(fc.integer({ min: -20, max: 20 }), fc.integer({ min: 1, max: 20 }), (p, q) => {
        const ok = p > 0;
        const run = () => paramValues(ID, PARAMS, { scale: `${p}/${q}` }).scale;
        if (ok) expect(run().equals(new Fraction(p, q))).toBe(true);
        else expect(run).toThrow(`parameter scale of ${ID} must be a positive number (1, 0.05, 3/64), got "${p}/${q}"`);
      }),
      { seed: SEED, numRuns: 200 },
    );
    expect(paramValues(ID, PARAMS, { scale: '0.05' }).scale.toFraction()).toBe('1/20'); // exact, not the double 0.05
    expect(resolveParams(c, { scale: ' 3/64 ' }).scale).toBe('3/64');
    expect(() => resolveParams(c, { scale: 'x' })).toThrow(/parameter scale of params-test must be a positive number/);
    expect(paramValues(ID, PARAMS, { beta: '1/4' }).beta.toFraction()).toBe('1/4');
    expect(paramValues(ID, PARAMS, { beta: '4' }).beta.toFraction()).toBe('4');
    expect(() => paramValues(ID, PARAMS, { beta: '1/5' })).toThrow(`parameter beta of ${ID} must be a number in 0.25..4 (1, 0.05, 3/64), got "1/5"`);
    expect(() => paramValues(ID, PARAMS, { beta: '4.001' })).toThrow(/parameter beta of params-test must be a number in 0\.25\.\.4/);
  });

  it('unknown names are refused with the known ones; readParam reads one spec with a bound set at build time', () => {
    expect(() => resolveParams(c, { m: '3' })).toThrow(`${ID} has no parameter "m" (parameters: n, variant, attention, group, beta, loops, scale)`);
    const top = 5;
    expect(readParam(ID, { ...PARAMS[0], max: top }, { n: 5 })).toBe(5);
    expect(() => readParam(ID, { ...PARAMS[0], max: top }, { n: 6 })).toThrow(`parameter n of ${ID} must be a whole number in 1..5, got 6`);
  });

  it('help text and the lower hint read the spec', () => {
    expect(PARAMS.map((p) => paramRange(p))).toEqual(['1..64', 'corrected, erratum-1, erratum-2', 'hard, softmax', 'text', 'a number in 0.25..4 (1, 0.05, 3/64)', 'auto, 0..64', 'a positive number: 1, 0.05, 3/64']);
    // no parameter away from its default: the whole numbers, not `loops` while it is auto
    expect(lowerHint(c, resolveParams(c, {}))).toBe('n=8');
    expect(lowerHint(c, resolveParams(c, { loops: '3' }))).toBe('loops=3');
  });
});

describe('the contract check knows the kinds', () => {
  const base = { id: 'k', title: 't', theorem: 'T', statement: 's', claimed: {}, build: () => ({}) };
  it('accepts int, choice, rational and text specs, and refuses a choice without values or an unknown kind', () => {
    expect(checkConstruction({ ...base, params: [...PARAMS] }, 'x.ts').id).toBe('k');
    expect(() => checkConstruction({ ...base, params: [{ name: 'v', describe: 'd', default: 'a', kind: 'choice' }] }, 'x.ts')).toThrow(/parameter "v": a choice needs values/);
    expect(() => checkConstruction({ ...base, params: [{ name: 'v', describe: 'd', default: 'a', kind: 'enum' }] }, 'x.ts')).toThrow(/parameter "v": kind must be "int", "choice", "rational", "text", got "enum"/);
    expect(() => checkConstruction({ ...base, params: [{ name: 'v', describe: 'd', default: 'c', kind: 'choice', values: ['a', 'b'] }] }, 'x.ts')).toThrow(/its defaults do not resolve: parameter v of k must be a or b, got "c"/);
  });

  it('defineConstruction keeps I and O and needs no cast into a Construction[]', () => {
    const one = defineConstruction<number[], number>({ ...base, params: [], build: () => ({}) as never });
    expectTypeOf(one.build).returns.toHaveProperty('encode').toEqualTypeOf<(input: number[]) => number[]>();
    const list: Construction[] = [one];
    expect(list).toHaveLength(1);
  });
});

describe('parseJsonArray: one reader for --input', () => {
  const read = (text: string) => parseJsonArray(text, { where: ID, expected: '3 tokens 0..3', example: '[0,1,2]', length: 3, item: intItem(0, 3, 'token') });

  it('reads a JSON array of items, each by its reader', () => {
    expect(read('[0, 3, 2]')).toEqual([0, 3, 2]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -2, max: 5 }), { minLength: 3, maxLength: 3 }), (v) => {
        const bad = v.findIndex((x) => x < 0 || x > 3);
        if (bad < 0) expect(read(JSON.stringify(v))).toEqual(v);
        else expect(() => read(JSON.stringify(v))).toThrow(`${ID}: token ${v[bad]} at position ${bad} is not a whole number in 0..3`);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('names what is wrong: not JSON, not an array, the length, the nesting, the item and its position', () => {
    expect(() => read('0 1 2')).toThrow(InputError);
    expect(() => read('0 1 2')).toThrow(/^params-test: the input must be a JSON array of 3 tokens 0\.\.3, like \[0,1,2\]; got "0 1 2" \(/);
    expect(() => read('{"a":1}')).toThrow(`${ID}: the input must be a JSON array of 3 tokens 0..3, like [0,1,2]; got "{\\"a\\":1}"`);
    expect(() => read('[0,1]')).toThrow(`${ID}: the input has 2 items; it takes exactly 3 (3 tokens 0..3)`);
    expect(() => read(`${'['.repeat(70)}${']'.repeat(70)}`)).toThrow(/params-test: the input nests brackets more than 64 deep/);
    expect(() => read('[0,"x",1]')).toThrow(`${ID}: token "x" at position 1 is not a whole number in 0..3`);
    expect(() => parseJsonArray('[1,2,3,4]', { expected: 'tokens', length: { min: 1, max: 3 }, item: (x) => x })).toThrow('the input has 4 items; it takes 1..3 (tokens)');
  });

  it('tokenItem: a label or an index of the vocabulary; an echoed label has its control characters escaped', () => {
    const labels = ['#', 'a', 'b'];
    const tokens = (text: string, numbers?: 'any') => parseJsonArray(text, { what: '--input', expected: 'tokens', item: tokenItem(labels, { numbers }) });
    expect(tokens('["#", 1, "b"]')).toEqual([0, 1, 2]);
    expect(() => tokens('["#", 7]')).toThrow('--input: token 7 at position 1 is not in the vocabulary (0..2: "#", "a", "b")');
    expect(tokens('["#", 7]', 'any')).toEqual([0, 7]);
    expect(() => tokens('["c"]')).toThrow('--input: token "c" at position 0 is not in the vocabulary ("#", "a", "b")');
    expect(() => tokens('[null]')).toThrow('--input: token at position 0 must be a label (a string) or an index (a number), got null');
    expect(() => tokens('["\\u001b[2J\\u009b"]')).toThrow('--input: token "\\u001b[2J\\u009b" at position 0 is not in the vocabulary');
  });
});
