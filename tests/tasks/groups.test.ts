import { describe, expect, it } from 'vitest';
import { bitsFor } from '../../proofs/codes.ts';
import {
  cyclic,
  dihedral,
  directProduct,
  formatElement,
  fromTable,
  GroupTableError,
  MAX_TABLE_ORDER,
  parseElement,
  parseGroupName,
  symmetric,
  type FiniteGroup,
} from '../../tasks/groups.ts';

const builtIns: FiniteGroup[] = [
  cyclic(1),
  cyclic(2),
  cyclic(5),
  cyclic(12),
  dihedral(1),
  dihedral(2),
  dihedral(3),
  dihedral(4),
  dihedral(5),
  symmetric(1),
  symmetric(2),
  symmetric(3),
  symmetric(4),
  symmetric(5),
  directProduct(cyclic(2), symmetric(3)),
  directProduct(dihedral(3), cyclic(2)),
  directProduct(directProduct(cyclic(2), cyclic(2)), cyclic(3)),
];

function isAbelian(G: FiniteGroup): boolean {
  for (let a = 0; a < G.order; a++) for (let b = 0; b < G.order; b++) if (G.mul(a, b) !== G.mul(b, a)) return false;
  return true;
}

describe('group axioms for every built-in group', () => {
  for (const G of builtIns) {
    it(`${G.name} (order ${G.order}) is a group and its table, names and inverses agree`, () => {
      const n = G.order;
      const table = G.table;
      expect(table.length).toBe(n);
      for (let a = 0; a < n; a++) {
        expect(table[a].length).toBe(n);
        for (let b = 0; b < n; b++) {
          const ab = G.mul(a, b);
          expect(Number.isInteger(ab) && ab >= 0 && ab < n).toBe(true); // closure
          expect(table[a][b]).toBe(ab);
        }
        expect(G.mul(G.identity, a)).toBe(a);
        expect(G.mul(a, G.identity)).toBe(a);
        expect(G.mul(a, G.inverse(a))).toBe(G.identity);
        expect(G.mul(G.inverse(a), a)).toBe(G.identity);
      }
      // Associativity over every triple (S5: 1.7·10^6 triples), counted to keep expect() cheap.
      let failures = 0;
      for (let a = 0; a < n; a++)
        for (let b = 0; b < n; b++)
          for (let c = 0; c < n; c++) if (G.mul(G.mul(a, b), c) !== G.mul(a, G.mul(b, c))) failures++;
      expect(failures).toBe(0);
      expect(new Set(G.elementNames).size).toBe(n);
      for (let a = 0; a < n; a++) expect(parseElement(G, formatElement(G, a))).toBe(a);
    });
  }
});

describe('cyclic', () => {
  it('adds mod m and names elements by their digits', () => {
    const Z5 = cyclic(5);
    expect(Z5.name).toBe('Z5');
    expect(Z5.mul(3, 4)).toBe(2);
    expect(Z5.inverse(2)).toBe(3);
    expect(Z5.inverse(0)).toBe(0);
    expect(Z5.elementNames).toEqual(['0', '1', '2', '3', '4']);
  });
  it('refuses m outside 1..4096', () => {
    expect(() => cyclic(0)).toThrow(/from 1 to 4096, got 0/);
    expect(() => cyclic(4097)).toThrow(/from 1 to 4096/);
    expect(() => cyclic(2.5)).toThrow(/integer/);
  });
});

describe('dihedral', () => {
  it('has order 2m with rotations r0..r(m-1) then reflections "s rk"', () => {
    const D4 = dihedral(4);
    expect(D4.order).toBe(8);
    expect(D4.elementNames).toEqual(['r0', 'r1', 'r2', 'r3', 's r0', 's r1', 's r2', 's r3']);
    expect(D4.identity).toBe(0);
  });
  it('agrees with the action on the vertices of the m-gon (r: x ↦ x+1, s: x ↦ −x)', () => {
    for (let m = 3; m <= 8; m++) {
      const D = dihedral(m);
      const mod = (x: number): number => ((x % m) + m) % m;
      // s r^k is the map x ↦ s(r^k(x)) = −(x + k).
      const act = (g: number, x: number): number => (g < m ? mod(x + g) : mod(-(x + g - m)));
      for (let a = 0; a < D.order; a++) {
        for (let b = 0; b < D.order; b++) {
          const ab = D.mul(a, b);
          for (let x = 0; x < m; x++) expect(act(ab, x)).toBe(act(a, act(b, x)));
        }
      }
    }
  });
  it('is non-abelian from m = 3: r1∘s r0 = s r2 but s r0∘r1 = s r1 in D3', () => {
    const D3 = dihedral(3);
    expect(formatElement(D3, D3.mul(parseElement(D3, 'r1'), parseElement(D3, 's r0')))).toBe('s r2');
    expect(formatElement(D3, D3.mul(parseElement(D3, 's r0'), parseElement(D3, 'r1')))).toBe('s r1');
    expect(isAbelian(dihedral(2))).toBe(true);
    expect(isAbelian(dihedral(3))).toBe(false);
  });
  it('refuses m outside 1..2048', () => {
    expect(() => dihedral(0)).toThrow(/from 1 to 2048, got 0/);
    expect(() => dihedral(2049)).toThrow(/from 1 to 2048/);
  });
});

describe('symmetric', () => {
  it('numbers permutations lexicographically, identity first', () => {
    expect(symmetric(3).elementNames).toEqual(['[0,1,2]', '[0,2,1]', '[1,0,2]', '[1,2,0]', '[2,0,1]', '[2,1,0]']);
    expect(symmetric(4).order).toBe(24);
    expect(symmetric(5).order).toBe(120);
    expect(symmetric(5).elementNames[0]).toBe('[0,1,2,3,4]');
    expect(symmetric(5).elementNames[119]).toBe('[4,3,2,1,0]');
  });
  it('composes as functions, (a∘b)(x) = a(b(x))', () => {
    const S3 = symmetric(3);
    // a = [1,0,2], b = [0,2,1]: x=0 → a(0)=1, x=1 → a(2)=2, x=2 → a(1)=0, so a∘b = [1,2,0].
    const ab = S3.mul(parseElement(S3, '[1,0,2]'), parseElement(S3, '[0,2,1]'));
    expect(formatElement(S3, ab)).toBe('[1,2,0]');
    // b∘a: x=0 → b(1)=2, x=1 → b(0)=0, x=2 → b(2)=1, so [2,0,1].
    const ba = S3.mul(parseElement(S3, '[0,2,1]'), parseElement(S3, '[1,0,2]'));
    expect(formatElement(S3, ba)).toBe('[2,0,1]');
    // [1,2,0] sends 0→1→2→0; its inverse sends 0→2, 1→0, 2→1.
    expect(formatElement(S3, S3.inverse(parseElement(S3, '[1,2,0]')))).toBe('[2,0,1]');
  });
  it('is abelian exactly for k ≤ 2', () => {
    expect([1, 2, 3, 4].map((k) => isAbelian(symmetric(k)))).toEqual([true, true, false, false]);
  });
  it('refuses k outside 1..5', () => {
    expect(() => symmetric(0)).toThrow(/from 1 to 5/);
    expect(() => symmetric(6)).toThrow(/from 1 to 5, got 6/);
  });
});

describe('directProduct', () => {
  it('multiplies componentwise and names pairs "(g,h)"', () => {
    const G = directProduct(cyclic(2), symmetric(3));
    expect(G.name).toBe('Z2xS3');
    expect(G.order).toBe(12);
    expect(G.elementNames[0]).toBe('(0,[0,1,2])');
    const x = parseElement(G, '(1,[1,0,2])');
    const y = parseElement(G, '(1, [0,2,1])');
    expect(formatElement(G, G.mul(x, y))).toBe('(0,[1,2,0])');
    expect(isAbelian(G)).toBe(false);
  });
  it('refuses products above order 4096', () => {
    expect(() => directProduct(cyclic(4096), cyclic(2))).toThrow(/exceeds the maximum 4096/);
  });
});

describe('fromTable', () => {
  const z3 = { name: 'C3', elements: ['e', 'a', 'b'], table: [[0, 1, 2], [1, 2, 0], [2, 0, 1]] };

  it('accepts a valid table, as an object or as JSON text, and finds the identity', () => {
    const G = fromTable(z3);
    expect(G.name).toBe('C3');
    expect(G.identity).toBe(0);
    expect(G.inverse(1)).toBe(2);
    expect(formatElement(G, G.mul(1, 1))).toBe('b');
    expect(parseElement(G, ' a ')).toBe(1);
    const H = fromTable(JSON.stringify({ table: [[1, 0], [0, 1]] }));
    expect(H.name).toBe('table');
    expect(H.identity).toBe(1); // identity need not be element 0
    expect(H.elementNames).toEqual(['0', '1']);
  });

  const expectTableError = (json: unknown, pattern: RegExp): void => {
    let caught: unknown;
    try {
      fromTable(json);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(GroupTableError);
    expect((caught as Error).message).toMatch(pattern);
  };

  it('refuses malformed input, naming the field', () => {
    expectTableError('{not json', /not valid JSON/);
    expectTableError([[0]], /must be a JSON object/);
    expectTableError({ rows: [[0]] }, /field "table" must be a non-empty array/);
    expectTableError({ table: [] }, /field "table" must be a non-empty array/);
    expectTableError({ table: [[0]], name: 3 }, /field "name"/);
    expectTableError({ table: [[0, 1], [1, 0]], elements: ['e'] }, /"elements" has 1 names but the table has 2 rows/);
    expectTableError({ table: [[0, 1], [1, 0]], elements: ['e', 'e'] }, /name "e" is used by elements 0 and 1/);
  });

  it('refuses a non-square table', () => {
    expectTableError({ table: [[0, 1], [1]] }, /row 1 has 1 entries but the table has 2 rows/);
    expectTableError({ table: [[0, 1], 'x'] }, /row 1 is not an array/);
  });

  it('refuses entries that are not elements (closure)', () => {
    expectTableError({ table: [[0, 2], [1, 0]] }, /not closed: table\[0\]\[1\] = 2 is not an element \(expected an integer from 0 to 1\)/);
    expectTableError({ table: [[0, 1], [1, 0.5]] }, /table\[1\]\[1\] = 0.5/);
    expectTableError({ table: [[0, 1], [1, '0']] }, /table\[1\]\[1\] = "0"/);
  });

  it('refuses a table without identity', () => {
    // Constant table: 0∘1 = 0, so 0 is not an identity; neither is 1.
    expectTableError({ table: [[0, 0], [0, 0]] }, /no identity element.*element 0 fails: 0∘1 = 0/);
  });

  it('refuses an element without inverse', () => {
    // The monoid {0, 1} with 1∘1 = 1: associative, identity 0, but 1∘x is never 0.
    expectTableError({ table: [[0, 1], [1, 1]] }, /element 1 has no inverse/);
    expectTableError({ elements: ['one', 'x'], table: [[0, 1], [1, 1]] }, /element x has no inverse.*= one \(the identity\)/);
  });

  it('refuses a non-associative loop, naming the first failing triple', () => {
    // The smallest non-associative loop (order 5): a Latin square with identity 0 in which every
    // element is its own inverse. First triple in lexicographic order that fails:
    // (1∘1)∘2 = 0∘2 = 2 but 1∘(1∘2) = 1∘3 = 4 (triples with a 0, and (1,1,0), (1,1,1), pass).
    const loop = [
      [0, 1, 2, 3, 4],
      [1, 0, 3, 4, 2],
      [2, 4, 0, 1, 3],
      [3, 2, 4, 0, 1],
      [4, 3, 1, 2, 0],
    ];
    expectTableError({ table: loop }, /^not associative: \(1∘1\)∘2 = 2 but 1∘\(1∘2\) = 4$/);
    expectTableError(
      { elements: ['e', 'a', 'b', 'c', 'd'], table: loop },
      /^not associative: \(a∘a\)∘b = b but a∘\(a∘b\) = d$/,
    );
  });

  it(`refuses tables above ${MAX_TABLE_ORDER} elements`, () => {
    const big = Array.from({ length: MAX_TABLE_ORDER + 1 }, () => [0]);
    expectTableError({ table: big }, /limited to 512 elements/);
  });
});

describe('parseGroupName', () => {
  it('reads Z, D, S, products and tables', () => {
    expect(parseGroupName('Z5').order).toBe(5);
    expect(parseGroupName(' Z_12 ').name).toBe('Z12');
    expect(parseGroupName('D4').order).toBe(8);
    expect(parseGroupName('S3').order).toBe(6);
    expect(parseGroupName('Z4096').order).toBe(4096);
    const P = parseGroupName('Z2xS3');
    expect(P.order).toBe(12);
    expect(P.family.kind).toBe('product');
    expect(parseGroupName('Z2xZ2xZ3').order).toBe(12);
    const files: Record<string, string> = { 'k4.json': JSON.stringify({ name: 'K4', table: [[0, 1, 2, 3], [1, 0, 3, 2], [2, 3, 0, 1], [3, 2, 1, 0]] }) };
    const read = (path: string): string => {
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: no such file '${path}'`);
      return text;
    };
    const K4 = parseGroupName('table:k4.json', read);
    expect(K4.name).toBe('K4');
    expect(K4.order).toBe(4);
    expect(() => parseGroupName('table:missing.json', read)).toThrow(/cannot read group table file missing.json: ENOENT/);
    files['bad.json'] = JSON.stringify({ table: [[0, 0], [0, 0]] });
    expect(() => parseGroupName('table:bad.json', read)).toThrow(/^bad.json: no identity element/);
    expect(() => parseGroupName('table:', read)).toThrow(/needs a file name/);
  });

  it('refuses bad names, listing the accepted forms and ranges', () => {
    for (const bad of ['Q8', 'Z0', 'Z4097', 'D0', 'D2049', 'S6', 'S0', 'Z', '', 'z5', 'Z5xQ']) {
      let message = '';
      try {
        parseGroupName(bad);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message, bad).toMatch(/Z<m> \(cyclic, 1 ≤ m ≤ 4096\)/);
      expect(message).toMatch(/D<m> \(dihedral of order 2m, 1 ≤ m ≤ 2048\)/);
      expect(message).toMatch(/S<k> \(symmetric, 1 ≤ k ≤ 5\)/);
      expect(message).toMatch(/table:<file.json>/);
    }
    expect(() => parseGroupName('Q8')).toThrow(/unknown group "Q8"/);
    expect(() => parseGroupName('Z4096xZ2')).toThrow(/order 8192, above the maximum 4096/);
  });
});

describe('parseElement and formatElement', () => {
  it('reads Z_m elements as integers 0..m-1', () => {
    const Z5 = cyclic(5);
    expect(parseElement(Z5, '3')).toBe(3);
    expect(parseElement(Z5, ' 4 ')).toBe(4);
    for (const bad of ['5', '-1', '1.5', 'abc', '']) {
      expect(() => parseElement(Z5, bad)).toThrow(`"${bad}" is not an element of Z5: expected an integer from 0 to 4`);
    }
  });
  it('reads S_k elements as JSON arrays in one-line notation', () => {
    const S3 = symmetric(3);
    expect(parseElement(S3, '[1,0,2]')).toBe(2);
    expect(parseElement(S3, '[2, 1, 0]')).toBe(5);
    expect(() => parseElement(S3, '[1,1,2]')).toThrow(/"\[1,1,2\]" is not an element of S3: .*1 appears twice/);
    expect(() => parseElement(S3, '[0,1]')).toThrow(/not an element of S3: .*\(3 entries\)/);
    expect(() => parseElement(S3, '[0,1,3]')).toThrow(/entry 3 is not in 0..2/);
    expect(() => parseElement(S3, '1,0,2')).toThrow(/not an element of S3: expected a permutation of 0..2 in one-line notation/);
  });
  it('reads D_m elements by name, with shorthands', () => {
    const D4 = dihedral(4);
    expect(parseElement(D4, 'e')).toBe(0);
    expect(parseElement(D4, 'r3')).toBe(3);
    expect(parseElement(D4, 's')).toBe(4);
    expect(parseElement(D4, 's r1')).toBe(5);
    expect(parseElement(D4, 'sr1')).toBe(5);
    expect(parseElement(D4, 's*r2')).toBe(6);
    expect(() => parseElement(D4, 'r4')).toThrow(/"r4" is not an element of D4: expected r<k> .* 0 ≤ k ≤ 3/);
    expect(() => parseElement(D4, 'x')).toThrow(/not an element of D4/);
  });
  it('reads product elements as pairs and explains a bad component', () => {
    const G = parseGroupName('Z2xS3');
    expect(parseElement(G, '(1,[1,0,2])')).toBe(1 * 6 + 2);
    expect(() => parseElement(G, '(1,[1,0,2],0)')).toThrow(/expected a pair \(g,h\) with g in Z2 and h in S3/);
    expect(() => parseElement(G, '(2,[1,0,2])')).toThrow(/"2" is not an element of Z2/);
    const nested = parseGroupName('Z2xZ2xZ3');
    expect(formatElement(nested, parseElement(nested, '((1,0),2)'))).toBe('((1,0),2)');
  });
  it('reads table elements by name', () => {
    const G = fromTable({ elements: ['e', 'a'], table: [[0, 1], [1, 0]] });
    expect(parseElement(G, 'a')).toBe(1);
    expect(() => parseElement(G, '1')).toThrow(/"1" is not an element of table: expected one of the element names "e", "a"/);
  });
  it('formatElement refuses indices out of range', () => {
    expect(() => formatElement(cyclic(5), 5)).toThrow(/element = 5 is not an element of Z5 \(elements are the integers 0..4\)/);
    expect(() => formatElement(cyclic(5), -1)).toThrow(/not an element of Z5/);
  });
});

describe("the element code's bits, bitsFor(|G|) (Theorem 5.1's state)", () => {
  it('is ceil(log2 |G|), at least 1', () => {
    const cases: [FiniteGroup, number][] = [
      [cyclic(1), 1],
      [cyclic(2), 1],
      [cyclic(3), 2],
      [cyclic(4), 2],
      [cyclic(5), 3],
      [symmetric(3), 3],
      [symmetric(5), 7],
      [cyclic(1000), 10],
      [cyclic(1024), 10],
      [cyclic(1025), 11],
      [cyclic(4096), 12],
    ];
    for (const [G, bits] of cases) expect(bitsFor(G.order), G.name).toBe(bits);
  });
});
