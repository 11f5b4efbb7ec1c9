// `looped compare p-hop`: four routes to the same answers, each verified on the same inputs, with
// the sizes that tell them apart (p + 1 CoT steps or loops against ⌈log2 p⌉ + 2).
import { describe, expect, it } from 'vitest';
import { looped } from './support/cli.ts';



interface RouteJson {
  route: string;
  layers: number;
  passes: number;
  depth: number;
  width: number;
  parameters: number;
  checked: number;
  wrong: number;
}

describe('looped compare p-hop', () => {
  it('verifies every route on the same 200 inputs (exact) and reports their depth, loops and sizes', () => {
    for (const p of [5, 8]) {
      const r = looped('compare', 'p-hop', '--p', String(p), '--n', '16', '--samples', '200', '--json');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as { ok: boolean; routes: RouteJson[] };
      expect(out.ok).toBe(true);
      const by = Object.fromEntries(out.routes.map((x) => [x.route, x]));
      expect(Object.keys(by)).toEqual(['cot', 'thm-5.4', 'p-hop', 'direct']);
      for (const x of out.routes) {
        expect(x.checked).toBe(200);
        expect(x.wrong).toBe(0);
        expect(x.depth).toBe(x.layers * x.passes);
      }
      const logDepth = Math.ceil(Math.log2(p)) + 2;
      expect(by.cot.passes).toBe(p + 1);
      expect(by['thm-5.4'].passes).toBe(p + 1);
      expect(by['thm-5.4'].layers).toBe(by.cot.layers + 5);
      expect(by['p-hop'].layers * by['p-hop'].passes).toBe(logDepth);
      expect(by.direct.layers).toBe(logDepth);
      expect(by.direct.passes).toBe(1);
      // The point of the comparison: the direct routes are shallower than either CoT route.
      expect(by.direct.depth).toBeLessThan(by.cot.depth);
      expect(by['p-hop'].depth).toBeLessThan(by['thm-5.4'].depth);
    }
  });

  it('prints a table, and refuses an unknown task or a p out of range with exit 2', () => {
    const r = looped('compare', 'p-hop', '--p', '3', '--n', '12', '--samples', '3');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/cot +3 × 4 CoT steps/);
    expect(r.stdout).toMatch(/thm-5\.4 +8 × 4 loops/);
    expect(looped('compare', 'group-composition').code).toBe(2);
    const bad = looped('compare', 'p-hop', '--p', '0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/p/);
  });
});
