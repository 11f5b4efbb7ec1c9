// The layers stay as they are drawn (design.md): tasks/ holds the reference algorithms and knows
// nothing of transformers — it may import only common/ (the error classes and the JSON nesting
// bound) besides itself; gpu/ is an interpreter and does not reach into properties/ (the checks);
// nothing under simulators/ imports proofs/, properties/ or cli/; common/ imports nothing.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mjs)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

/** The top-level folder of every relative import of `file`. */
function importedFolders(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
  return specs.map((s) => relative(root, resolve(file, '..', s)).split('/')[0]);
}

// The one import across those lines, and why: the interpreter registry (simulators/interpreters.ts)
// names every interpreter, the gpu one included, so a library user finds them all without a
// side-effect import (gpu/ registers nothing itself and does not import the registry).
const ALLOWED_EDGES = ['simulators/interpreters.ts → gpu/'];

describe('layers', () => {
  it.each<[string, string[]]>([
    ['tasks', ['tasks', 'common']],
    ['common', ['common']],
    ['simulators', ['simulators', 'common']],
    ['gpu', ['gpu', 'simulators', 'common']],
  ])('%s/ imports only from %j', (dir, allowed) => {
    const files = sources(dir);
    expect(files.length).toBeGreaterThan(0);
    const wrong = files.flatMap((f) => importedFolders(f).filter((d) => !allowed.includes(d)).map((d) => `${relative(root, f)} → ${d}/`));
    expect(wrong.filter((edge) => !ALLOWED_EDGES.includes(edge))).toEqual([]);
  });

  it('certify/ (the certifier, not the abstractions of constructions) imports only certify/, simulators/ and common/', () => {
    // The obligations must not lean on what they check: no proofs/, properties/ or tasks/ below the abstractions.
    const files = sources('certify').filter((f) => !relative(join(root, 'certify'), f).startsWith('abstractions'));
    expect(files.length).toBeGreaterThan(0);
    const wrong = files.flatMap((f) => importedFolders(f).filter((d) => !['certify', 'simulators', 'common'].includes(d)).map((d) => `${relative(root, f)} → ${d}/`));
    expect(wrong).toEqual([]);
  });

  it('every allowed exception is still an import (a stale one would hide a new edge)', () => {
    const edges = new Set(sources('simulators').flatMap((f) => importedFolders(f).map((d) => `${relative(root, f)} → ${d}/`)));
    for (const e of ALLOWED_EDGES) expect(edges.has(e)).toBe(true);
  });

  it('the check can fail: it sees the imports it forbids', () => {
    // properties/ imports proofs/ and simulators/, which the rule for simulators/ would refuse.
    const folders = new Set(sources('properties').flatMap(importedFolders));
    expect(folders.has('proofs')).toBe(true);
  });
});
