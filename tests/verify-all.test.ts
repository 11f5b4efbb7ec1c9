// `looped verify --all` (= `npm run verify`) runs every construction at every setting it declares
// (Construction.verifyAt, properties/verify.ts verifyAll): the registered settings cover every value
// of every choice parameter (variant, attention, readout, layout, form, kind, …), so a new variant
// cannot be forgotten; every setting resolves; the report lists each one; a setting marked to fail
// is counted as expected only when it does fail.
import { describe, expect, it } from 'vitest';
import { verify } from '../cli/commands/verify.ts';
import { type Construction, type ParamSpec, resolveParams } from '../proofs/construction.ts';
import { allConstructions } from '../proofs/registry.ts';
import { asExpected, settingText, verifyAll, verifySettings } from '../properties/verify.ts';
import { captureOut } from './support/cli.ts';

/**
 * The values of a choice parameter, read from its spec (`kind: 'choice'`, `values`); or, for a
 * text parameter not yet declared as a choice, its forms where they are a plain list of words
 * ("masks, no-masks"); else null.
 */
function choices(p: ParamSpec): readonly string[] | null {
  if (p.kind === 'choice') return p.values;
  if (p.kind !== 'text' || p.forms === undefined) return null;
  const items = p.forms.split(/,\s*/);
  return items.length >= 2 && items.every((x) => /^[a-z][\w.-]*$/i.test(x)) ? items : null;
}

describe('verify --all: the settings each construction declares', () => {
  it('cover every value of every choice parameter of every construction (variant among them)', () => {
    const missing: string[] = [];
    const seen: string[] = [];
    for (const c of allConstructions()) {
      const resolved = verifySettings(c).map((k) => resolveParams(c, k.params));
      for (const p of c.params) {
        const values = choices(p);
        if (values === null) continue;
        seen.push(`${c.id}.${p.name}`);
        for (const v of values) if (!resolved.some((r) => String(r[p.name]) === v)) missing.push(`${c.id} ${p.name}=${v}`);
      }
    }
    expect(missing).toEqual([]);
    // The detection is not vacuous: every variant parameter is a choice parameter.
    const variants = allConstructions().filter((c) => c.params.some((p) => p.name === 'variant')).map((c) => `${c.id}.variant`);
    expect(variants.length).toBeGreaterThanOrEqual(6);
    for (const v of variants) expect(seen).toContain(v);
    for (const x of ['thm-5.2.attention', 'p-hop.readout', 'lemma-b4.layout', 'lemma-b8-gate.form', 'cot-circuit.kind']) expect(seen).toContain(x);
  });

  it('start with the defaults, are distinct, resolve, and say why where they must fail', () => {
    for (const c of allConstructions()) {
      const settings = verifySettings(c);
      expect(settings[0].params, c.id).toEqual({});
      expect(settings[0].fails, c.id).toBeUndefined();
      const keys = settings.map((k) => JSON.stringify(resolveParams(c, k.params)));
      expect(new Set(keys).size, c.id).toBe(keys.length);
      for (const k of settings) if (k.fails !== undefined) expect(k.fails.length, `${c.id} ${settingText(k.params)}`).toBeGreaterThan(10);
    }
  });

  it('include what the defaults cannot reach: both Theorem 5.4 variants, a group word problem, a counter that wraps', () => {
    const of = (id: string) => verifySettings(allConstructions().find((c) => c.id === id)!).map((k) => k.params);
    expect(of('thm-5.4')).toContainEqual({ variant: 'no-masks' });
    expect(of('thm-5.4')).toContainEqual({ n: '4', m: '4', bits: '3', variant: 'no-masks' });
    expect(of('cot-automaton')).toContainEqual({ automaton: 'S3', n: '3' });
    expect(of('cot-automaton')).toContainEqual({ automaton: 'S3', n: '3', variant: 'no-masks' });
  });
});

describe('verifyAll', () => {
  // A construction with one setting that holds and one marked to fail that does, and one marked to fail that holds.
  const pick = (id: string): Construction => allConstructions().find((c) => c.id === id)!;

  it('runs every setting, marks the outcome, and counts a marked setting that holds as unexpected', async () => {
    const gate = pick('lemma-b8-gate');
    const reports = await verifyAll({ samples: 30, seed: 42 }, [gate]);
    expect(reports.map((r) => r.setting?.given)).toEqual(verifySettings(gate).map((k) => k.params));
    const bias = reports.find((r) => r.setting?.given.form === 'bias')!;
    expect(bias.ok).toBe(false);
    expect(bias.setting?.asExpected).toBe(true);
    expect(reports.every(asExpected)).toBe(true);
    // The same construction claiming that its correct form fails: verifyAll reports it as not as expected.
    const wrong: Construction = { ...gate, verifyAt: [{ params: {}, fails: 'pretend the complement form is wrong' }] };
    const [r] = await verifyAll({ samples: 30, seed: 42 }, [wrong]);
    expect(r.ok).toBe(true);
    expect(asExpected(r)).toBe(false);
  });
});

describe('verify --all at the paper\'s sizes', () => {
  const pick = (id: string): Construction => allConstructions().find((c) => c.id === id)!;

  it('declares the sizes the paper reports: S5 words of n = 64, p-hop with p = 16 and 32 at n = 256', () => {
    const paper = (id: string) => verifySettings(pick(id)).filter((k) => k.paper !== undefined).map((k) => k.params);
    expect(paper('group-composition')).toContainEqual({ group: 'S5', n: '64' });
    for (const id of ['p-hop-direct', 'p-hop']) {
      expect(paper(id)).toContainEqual({ p: '16', n: '256' });
      expect(paper(id)).toContainEqual({ p: '32', n: '256' });
    }
    // A paper-size setting is not an erratum variant: it must hold.
    for (const c of allConstructions()) for (const k of verifySettings(c)) if (k.paper !== undefined) expect(k.fails, `${c.id} ${settingText(k.params)}`).toBeUndefined();
  });

  it('runs paper settings with their own sample cap, and --small leaves them out', async () => {
    const gate = pick('lemma-b8-gate');
    const withPaper: Construction = { ...gate, verifyAt: [{ params: {} }, { params: { s: '6' }, paper: 'a pretend paper size', samples: 3 }] };
    const all = await verifyAll({ samples: 20, seed: 7 }, [withPaper]);
    expect(all.map((r) => r.setting?.paper)).toEqual([null, 'a pretend paper size']);
    expect(all[0].checks.every((k) => k.samples === 20)).toBe(true);
    expect(all[1].checks.every((k) => k.samples === 3)).toBe(true);
    const small = await verifyAll({ samples: 20, seed: 7, small: true }, [withPaper]);
    expect(small.map((r) => r.setting?.given)).toEqual([{}]);
  });
});

describe('looped verify --all', () => {
  it('lists each setting of each construction, one row a setting, and exits 0', async () => {
    const { out, lines } = captureOut();
    expect(await verify(['--all', '--small', '--samples', '10'], out)).toBe(0);
    const rows = lines.join('\n').split('\n');
    for (const c of allConstructions()) {
      for (const k of verifySettings(c).filter((x) => x.paper === undefined)) {
        const label = settingText(k.params) || 'defaults';
        const row = rows.find((line) => line.startsWith(`${c.id} `) && line.includes(` ${label} `));
        expect(row, `${c.id} ${label}`).toBeDefined();
        expect(row!).toMatch(k.fails === undefined ? / holds / : / fails as expected /);
      }
    }
    const settings = allConstructions().reduce((n, c) => n + verifySettings(c).filter((x) => x.paper === undefined).length, 0);
    expect(rows.filter((line) => allConstructions().some((c) => line.startsWith(`${c.id} `))).length).toBe(settings);
  }, 300_000);
});
