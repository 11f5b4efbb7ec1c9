// table:<file.json> groups and automata are read like model files (simulators/regular-file.ts):
// a regular file only, at most the model-file limit, valid UTF-8; a FIFO or /dev/zero is refused
// at once instead of hanging, and the message names the parameter, the file and the reason.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveParams } from '../proofs/construction.ts';
import { constructionById } from '../proofs/registry.ts';
import { setMemoryBudget } from '../simulators/budget.ts';

const dir = mkdtempSync(join(tmpdir(), 'looped-tables-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const build = (id: string, param: string, value: string) => {
  const c = constructionById(id);
  return () => c.build(resolveParams(c, { [param]: value }));
};

describe('table files', () => {
  const z3 = JSON.stringify({ elements: ['0', '1', '2'], table: [[0, 1, 2], [1, 2, 0], [2, 0, 1]] });

  it('a regular table file builds; the same text through a FIFO or a device is refused at once', () => {
    const file = join(dir, 'z3.json');
    writeFileSync(file, z3);
    expect(build('group-composition', 'group', `table:${file}`)().sizeScope.G).toBe(3);
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const t0 = performance.now();
    expect(build('group-composition', 'group', `table:${fifo}`)).toThrow(`cannot read group table file ${fifo}: it is a FIFO, not a regular file`);
    expect(build('cot-automaton', 'automaton', 'table:/dev/zero')).toThrow('cannot read automaton table file /dev/zero: it is a character device, not a regular file');
    expect(build('group-composition', 'group', `table:${dir}`)).toThrow('it is a directory, not a regular file');
    expect(build('group-composition', 'group', `table:${join(dir, 'missing.json')}`)).toThrow('ENOENT');
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('a table over the model-file limit, or not UTF-8, is refused before it is parsed', () => {
    const big = join(dir, 'big.json');
    writeFileSync(big, z3 + ' '.repeat(200_000));
    setMemoryBudget(1_000_000); // the limit is 1/8 of it: 125,000 bytes
    try {
      expect(build('group-composition', 'group', `table:${big}`)).toThrow(/cannot read group table file .*big\.json: it is 195 KiB, over the limit of 122 KiB \(1\/8 of the memory budget/);
    } finally {
      setMemoryBudget(null);
    }
    expect(build('group-composition', 'group', `table:${big}`)().sizeScope.G).toBe(3);
    const latin1 = join(dir, 'latin1.json');
    writeFileSync(latin1, Buffer.from([0x7b, 0xe9, 0x7d]));
    expect(build('group-composition', 'group', `table:${latin1}`)).toThrow('it is not valid UTF-8');
  });
});
