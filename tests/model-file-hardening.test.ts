// Hostile model files in both formats (looped/1 JSON and safetensors): unknown and `__proto__`
// keys at every level, repeated keys at every level, oversized declared sizes, extra or malformed
// matrix entries, control characters in every string. Each is refused (a ModelError naming the
// field, or a ResourceError naming the size) within a time and memory budget; nothing is
// allocated for what a file merely declares. Walks are exhaustive; fast-check (FC_SEED, default
// 42; FC_RUNS) picks the combinations. The command-line cases run a real child process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fcParams } from '../properties/config.ts';
import { setMemoryBudget, setWorkBudget } from '../simulators/budget.ts';
import { ModelError, ResourceError } from '../common/errors.ts';
import { type Model, addStage, createHead, createLayer, createMlp, createModel } from '../simulators/model.ts';
import { loadModel, modelToJson, saveModel } from '../simulators/model-file.ts';
import { loadSafetensors, modelToSafetensors } from '../simulators/safetensors.ts';
import { space } from '../simulators/space.ts';
import { BIN } from './support/cli.ts';

// ---------------------------------------------------------------- a fixture with every field

/** Two stages (one masked), heads and an MLP, labels, describes, roles and padding: every level of both formats. */
function fixtureModel(): Model {
  const residual = space({ tok: { size: 3, describe: 'the token', labels: ['t_a', 't_b', 't_pad'] }, acc: { size: 2, describe: 'an accumulator' } });
  const model = createModel({ name: 'fixture', description: 'every field', vocab: ['a', 'b', '#'], residual, maxLen: 4, readout: 'last', padding: { promptLength: 2, token: '#', count: 1 } });
  for (let i = 0; i < 3; i++) {
    model.W_E.setAt(i, i, 1);
    model.W_U.setAt(i, i, 1);
  }
  model.W_pos.setAt(1, 3, 0.5);
  const l0 = createLayer('reads the previous token');
  const h = createHead(residual, { name: 'prev', role: 'copies', kind: 'hard', qk: { q: { size: 2, describe: 'query', labels: ['q0', 'q1'] } }, ov: { v: 1 } });
  h.W_Q.setAt(0, 0, 1);
  h.W_K.setAt(1, 1, 2);
  h.W_V.setAt(0, 0, 1);
  h.W_O.setAt(0, 3, 1);
  l0.heads.push(h);
  const mlp = createMlp(residual, { name: 'relu', role: 'thresholds', hidden: { u: { size: 2, describe: 'units' } } });
  mlp.W_in.setAt(3, 0, 1);
  mlp.b_in.matrix.setAt(0, 1, -1);
  mlp.W_out.setAt(1, 4, 1);
  mlp.b_out.matrix.setAt(0, 4, 0.25);
  l0.mlp = mlp;
  addStage(model, [l0], 2, { expr: 'i >= t', describe: 'positions from t on' });
  const l1 = createLayer('second');
  l1.heads.push(createHead(residual, { name: 'soft', kind: 'softmax', scale: 2, qk: 1 }));
  addStage(model, [l1], 1, null);
  return model;
}

const MODEL = fixtureModel();
const JSON_TEXT = saveModel(MODEL);
const JSON_VALUE = JSON.parse(JSON_TEXT) as Record<string, unknown>;
const ST_BYTES = modelToSafetensors(MODEL).bytes;

// ---------------------------------------------------------------- helpers

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The path of a field as the readers write it: `stages[0].layers[0].heads[0].junk`. */
function fieldPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (!/^[A-Za-z_$][\w$]*$/.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent ? `${parent}.${key}` : key;
}

/** Every object in a JSON value with its path, in a fixed order. */
function objectsOf(value: unknown, path = ''): { obj: Obj; path: string }[] {
  const out: { obj: Obj; path: string }[] = [];
  const walk = (v: unknown, p: string) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, fieldPath(p, i)));
    else if (isObj(v)) {
      out.push({ obj: v, path: p });
      for (const [k, x] of Object.entries(v)) walk(x, fieldPath(p, k));
    }
  };
  walk(value, path);
  return out;
}

/** Every string leaf (not keys) with its path and a setter. */
function stringsOf(value: unknown, path = ''): { path: string; set: (s: string) => void; value: string }[] {
  const out: { path: string; set: (s: string) => void; value: string }[] = [];
  const walk = (v: unknown, p: string) => {
    const container = v as Record<string | number, unknown>;
    const keys: (string | number)[] = Array.isArray(v) ? v.map((_, i) => i) : isObj(v) ? Object.keys(v) : [];
    for (const k of keys) {
      const x = container[k];
      const q = fieldPath(p, k);
      if (typeof x === 'string') out.push({ path: q, value: x, set: (s) => void (container[k] = s) });
      else walk(x, q);
    }
  };
  walk(value, path);
  return out;
}

/** An own enumerable "__proto__" key, as JSON text would carry it (JSON.stringify writes it). */
function setProto(obj: Obj): void {
  Object.defineProperty(obj, '__proto__', { value: { polluted: 1 }, enumerable: true, configurable: true, writable: true });
}

/** JSON text of `value` in which `target`'s first key appears twice (the second time with `other`). */
function stringifyWithDuplicate(value: unknown, target: Obj, other?: unknown): string {
  const s = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(s).join(',')}]`;
    if (isObj(v)) {
      const entries = Object.entries(v).filter(([, x]) => x !== undefined);
      const parts = entries.map(([k, x]) => `${JSON.stringify(k)}:${s(x)}`);
      if (v === target) parts.push(`${JSON.stringify(entries[0][0])}:${other === undefined ? s(entries[0][1]) : JSON.stringify(other)}`);
      return `{${parts.join(',')}}`;
    }
    return JSON.stringify(v);
  };
  return s(value);
}

interface St {
  header: Obj;
  buffer: Uint8Array;
}
function decodeSt(bytes: Uint8Array): St {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Obj, buffer: bytes.subarray(8 + n) };
}
function encodeSt(headerText: string, buffer: Uint8Array): Uint8Array {
  const text = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + text.length + buffer.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(buffer, 8 + text.length);
  return out;
}
const METADATA_JSON = ['vocab', 'residual_labels', 'stages', 'attention', 'mlp', 'padding'];
const META = (decodeSt(ST_BYTES).header.__metadata__ ?? {}) as Record<string, string>;

const budget = { slowestMs: 0, largestHeapMb: 0, refusals: 0 };

/**
 * Runs a load that must be refused: a ModelError or ResourceError (nothing else), within 1 s and
 * 256 MB of heap growth. Returns the message.
 */
function refused(load: () => unknown, what: string): string {
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  let thrown: unknown;
  try {
    load();
  } catch (e) {
    thrown = e;
  }
  const ms = performance.now() - t0;
  const mb = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
  budget.slowestMs = Math.max(budget.slowestMs, ms);
  budget.largestHeapMb = Math.max(budget.largestHeapMb, mb);
  budget.refusals++;
  if (thrown === undefined) throw new Error(`${what}: loaded, but it must be refused`);
  if (!(thrown instanceof ModelError) && !(thrown instanceof ResourceError)) throw new Error(`${what}: threw ${(thrown as Error).name}: ${(thrown as Error).message}`);
  const message = (thrown as Error).message;
  expect(message, what).not.toMatch(/\n/);
  expect(ms, `${what}: refused in ${ms.toFixed(0)} ms`).toBeLessThan(1000);
  expect(mb, `${what}: heap grew ${mb.toFixed(0)} MB`).toBeLessThan(256);
  return message;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Reads of both formats run under a known budget, so "too big" does not depend on this machine.
beforeAll(() => {
  setMemoryBudget(128 * 2 ** 20);
  setWorkBudget(1e10);
});
afterAll(() => {
  setMemoryBudget(null);
  setWorkBudget(null);
});

// ---------------------------------------------------------------- unknown and __proto__ keys

describe('unknown and __proto__ keys are refused at every level, naming the path', () => {
  it('the fixtures load as written', () => {
    expect(modelToJson(loadModel(JSON_TEXT))).toEqual(modelToJson(MODEL));
    expect(modelToJson(loadSafetensors(ST_BYTES))).toEqual(modelToJson(MODEL));
  });

  it('looped/1 JSON: every object, an unknown key and a __proto__ key', () => {
    const levels = objectsOf(JSON_VALUE).length;
    expect(levels).toBeGreaterThan(30); // model, residual parts, matrices, stages, masks, layers, heads, MLPs, padding
    for (let k = 0; k < levels; k++) {
      for (const key of ['junk', '__proto__']) {
        const clone = structuredClone(JSON_VALUE);
        const { obj, path } = objectsOf(clone)[k];
        if (key === '__proto__') setProto(obj);
        else obj.junk = { deep: [1, 2, 3] };
        const text = JSON.stringify(clone);
        expect(text).toContain(`"${key}"`);
        const message = refused(() => loadModel(text), `${key} at ${path || '(top level)'}`);
        expect(message).toMatch(new RegExp(`^model file: ${escapeRe(fieldPath(path, key))} is not a field`));
      }
    }
    expect(({} as Obj).polluted).toBeUndefined();
  });

  it('safetensors: every tensor entry, __metadata__, and every object inside the metadata JSON', () => {
    const st = decodeSt(ST_BYTES);
    const cases: { where: string; make: (key: string) => Uint8Array; path: (key: string) => string }[] = [];
    for (const name of Object.keys(st.header)) {
      if (name === '__metadata__') continue;
      cases.push({
        where: `tensor ${name}`,
        make: (key) => {
          const h = structuredClone(st.header);
          if (key === '__proto__') setProto(h[name] as Obj);
          else (h[name] as Obj)[key] = [1];
          return encodeSt(JSON.stringify(h), st.buffer);
        },
        path: (key) => `${fieldPath('', name)} has an unknown field "${key}"`,
      });
    }
    cases.push({
      where: '__metadata__ (a 1 MB value)',
      make: (key) => {
        const h = structuredClone(st.header);
        const md = h.__metadata__ as Obj;
        if (key === '__proto__') setProto(md);
        else md[key] = 'x'.repeat(2 ** 20);
        if (key === '__proto__') (md as Record<string, unknown>)['__proto__'] = 'x';
        return encodeSt(JSON.stringify(h), st.buffer);
      },
      path: (key) => `__metadata__.${key} is not a field`,
    });
    for (const mk of METADATA_JSON) {
      const value = JSON.parse(META[mk]) as unknown;
      objectsOf(value, `__metadata__.${mk}`).forEach(({ path }, k) => {
        cases.push({
          where: path,
          make: (key) => {
            const inner = structuredClone(value);
            const { obj } = objectsOf(inner)[k];
            if (key === '__proto__') setProto(obj);
            else obj[key] = 1;
            const h = structuredClone(st.header);
            (h.__metadata__ as Obj)[mk] = JSON.stringify(inner);
            return encodeSt(JSON.stringify(h), st.buffer);
          },
          path: (key) => `${fieldPath(path, key)} is not a field`,
        });
      });
    }
    expect(cases.length).toBeGreaterThan(25);
    for (const c of cases) {
      for (const key of ['junk', '__proto__']) {
        const message = refused(() => loadSafetensors(c.make(key)), `${key} in ${c.where}`);
        expect(message.startsWith('safetensors: '), message).toBe(true);
        expect(message, `${key} in ${c.where}`).toContain(c.path(key));
      }
    }
    // A tensor named "__proto__" or "junk" at the top of the header is not part of the model.
    for (const key of ['junk', '__proto__']) {
      const h = structuredClone(st.header);
      const extra = { dtype: 'F64', shape: [1], data_offsets: [st.buffer.length, st.buffer.length + 8] };
      if (key === '__proto__') setProto(h);
      const text = JSON.stringify(h).replace(/^\{/, `{${JSON.stringify(key)}:${JSON.stringify(extra)},`);
      const message = refused(() => loadSafetensors(encodeSt(text, new Uint8Array([...st.buffer, 0, 0, 0, 0, 0, 0, 0, 0]))), `tensor ${key}`);
      expect(message).toMatch(new RegExp(`"${escapeRe(key)}"`));
    }
    expect(({} as Obj).polluted).toBeUndefined();
  });
});

// ---------------------------------------------------------------- repeated keys

describe('repeated keys are refused at every level, naming the key', () => {
  it('looped/1 JSON: each object with its first key twice (same and conflicting value)', () => {
    const objects = objectsOf(JSON_VALUE);
    for (const { obj, path } of objects) {
      const first = Object.keys(obj)[0];
      for (const other of [undefined, 'changed']) {
        const text = stringifyWithDuplicate(JSON_VALUE, obj, other);
        const message = refused(() => loadModel(text), `"${first}" twice at ${path || '(top level)'}`);
        expect(message).toBe(`model file: ${path || '(top level)'} has the key ${JSON.stringify(first)} twice`);
      }
    }
  });

  it('safetensors: a tensor twice in the header, a field twice in a tensor or in __metadata__, a key twice inside the metadata JSON', () => {
    const st = decodeSt(ST_BYTES);
    const cases: { what: string; bytes: Uint8Array; key: string; at?: string }[] = [];
    cases.push({ what: 'the header', bytes: encodeSt(stringifyWithDuplicate(st.header, st.header), st.buffer), key: Object.keys(st.header)[0] });
    const embed = st.header['embed.W_E'] as Obj;
    const copy = structuredClone(st.header);
    cases.push({ what: 'embed.W_E', bytes: encodeSt(stringifyWithDuplicate(copy, copy['embed.W_E'] as Obj), st.buffer), key: Object.keys(embed)[0], at: '["embed.W_E"]' });
    const copy2 = structuredClone(st.header);
    cases.push({ what: '__metadata__', bytes: encodeSt(stringifyWithDuplicate(copy2, copy2.__metadata__ as Obj), st.buffer), key: Object.keys(st.header.__metadata__ as Obj)[0], at: '__metadata__' });
    // "embed.W_E" twice with different offsets: JSON.parse would keep the second silently.
    const twice = JSON.stringify(st.header).replace('{', `{"embed.W_E":${JSON.stringify({ ...embed, data_offsets: [0, 8] })},`);
    cases.push({ what: 'embed.W_E twice, conflicting', bytes: encodeSt(twice, st.buffer), key: 'embed.W_E' });
    for (const mk of METADATA_JSON) {
      const value = JSON.parse(META[mk]) as unknown;
      for (const { obj, path } of objectsOf(value, `__metadata__.${mk}`)) {
        const h = structuredClone(st.header);
        (h.__metadata__ as Obj)[mk] = stringifyWithDuplicate(value, obj);
        cases.push({ what: path, bytes: encodeSt(JSON.stringify(h), st.buffer), key: Object.keys(obj)[0], at: path });
      }
    }
    expect(cases.length).toBeGreaterThan(15);
    for (const c of cases) {
      const message = refused(() => loadSafetensors(c.bytes), c.what);
      expect(message, c.what).toContain(`has the key ${JSON.stringify(c.key)} twice`);
      if (c.at) expect(message, c.what).toContain(`${c.at} has the key`);
    }
  });
});

// ---------------------------------------------------------------- control characters

const CONTROL = [...Array.from({ length: 32 }, (_, i) => i), 0x7f, ...Array.from({ length: 32 }, (_, i) => 0x80 + i)].map((c) => String.fromCharCode(c));

describe('control characters in any string a file carries are refused, naming the field', () => {
  it('looped/1 JSON: every string, every control character (C0, DEL, C1)', () => {
    const count = stringsOf(JSON_VALUE).length;
    expect(count).toBeGreaterThan(20);
    fc.assert(
      fc.property(fc.nat(count - 1), fc.constantFrom(...CONTROL), fc.nat(20), (k, ch, at) => {
        const clone = structuredClone(JSON_VALUE);
        const s = stringsOf(clone)[k];
        const pos = at % (s.value.length + 1);
        s.set(s.value.slice(0, pos) + ch + s.value.slice(pos));
        const message = refused(() => loadModel(JSON.stringify(clone)), `control character in ${s.path}`);
        expect(message).toMatch(new RegExp(`^model file: ${escapeRe(s.path)} holds the control character U\\+00`));
      }),
      fcParams(300),
    );
  });

  it('safetensors: metadata strings, strings inside the metadata JSON, and tensor names', () => {
    const st = decodeSt(ST_BYTES);
    const targets: { where: string; make: (ch: string) => Uint8Array }[] = [];
    for (const key of ['name', 'description']) {
      targets.push({
        where: `__metadata__.${key}`,
        make: (ch) => {
          const h = structuredClone(st.header);
          (h.__metadata__ as Obj)[key] = `x${ch}[2J`;
          return encodeSt(JSON.stringify(h), st.buffer);
        },
      });
    }
    for (const mk of METADATA_JSON) {
      const value = JSON.parse(META[mk]) as unknown;
      stringsOf(value, `__metadata__.${mk}`).forEach(({ path }, k) => {
        targets.push({
          where: path,
          make: (ch) => {
            const inner = structuredClone(value);
            const s = stringsOf(inner)[k];
            s.set(`${s.value}${ch}`);
            const h = structuredClone(st.header);
            (h.__metadata__ as Obj)[mk] = JSON.stringify(inner);
            return encodeSt(JSON.stringify(h), st.buffer);
          },
        });
      });
    }
    const escaped = (ch: string) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
    targets.push({ where: 'a tensor name', make: (ch) => encodeSt(JSON.stringify(st.header).replace('"embed.W_E"', `"embed.W_E${escaped(ch)}"`), st.buffer) });
    targets.push({ where: 'a __metadata__ key', make: (ch) => encodeSt(JSON.stringify(st.header).replace('"name":', `"na${escaped(ch)}me":`), st.buffer) });
    fc.assert(
      fc.property(fc.constantFrom(...targets), fc.constantFrom(...CONTROL), (t, ch) => {
        const message = refused(() => loadSafetensors(t.make(ch)), `control character in ${t.where}`);
        expect(message).toMatch(/control character U\+00[0-9A-F]{2}/);
        if (t.where.startsWith('__metadata__')) expect(message).toContain(`${t.where} holds the control character`);
      }),
      fcParams(300),
    );
  });

  it('the writers refuse what the readers refuse: control characters, a bad mask', () => {
    const named = fixtureModel();
    (named as { name: string }).name = 'evil\u001b[2J';
    expect(() => saveModel(named)).toThrow(/the name holds the control character U\+001B/);
    expect(() => modelToSafetensors(named)).toThrow(/the name holds the control character U\+001B/);
    const vocab = createModel({ name: 'v', vocab: ['a', 'b\u009b'], residual: space({ x: 1 }), maxLen: 2 });
    expect(() => saveModel(vocab)).toThrow(/vocabulary .*label holds the control character U\+009B/);
    for (const expr of ['f(x)=x', 'process.exit(7)', 'x > 1']) {
      const masked = fixtureModel();
      masked.stages[0].mask = { expr };
      expect(() => saveModel(masked), expr).toThrow(ModelError);
      expect(() => modelToSafetensors(masked), expr).toThrow(/export: stage 0: mask/);
    }
  });
});

// ---------------------------------------------------------------- oversized declared sizes

/** A looped/1 file that declares these sizes with empty matrices: a few hundred bytes. */
function declaring(o: { width: number; vocab: number; maxLen: number; stages: number; loops: number; qk: number; hidden: number }): string {
  const { width: d, vocab: V, maxLen: N } = o;
  const m = (r: number, c: number) => ({ shape: [r, c], entries: [] });
  const head = { name: 'h', kind: 'hard', scale: 1, causal: true, qk: [{ name: 'q', size: o.qk }], ov: [{ name: 'v', size: o.qk }], W_Q: m(d, o.qk), W_K: m(d, o.qk), W_V: m(d, o.qk), W_O: m(o.qk, d) };
  const mlp = { name: 'm', hidden: [{ name: 'u', size: o.hidden }], W_in: m(d, o.hidden), b_in: m(1, o.hidden), W_out: m(o.hidden, d), b_out: m(1, d) };
  const stage = { loops: o.loops, mask: null, layers: [{ heads: [head], mlp }] };
  return JSON.stringify({
    format: 'looped/1',
    name: 'big',
    vocab: Array.from({ length: Math.min(V, 4) }, (_, i) => `t${i}`),
    maxLen: N,
    readout: 'last',
    residual: [{ name: 'x', size: d }],
    W_E: m(Math.min(V, 4), d),
    W_pos: m(N, d),
    W_U: m(d, Math.min(V, 4)),
    stages: Array.from({ length: o.stages }, () => stage),
  });
}

describe('oversized declared sizes are refused before anything is allocated', () => {
  it('the 436-byte attack: a residual of width 16,777,216; with maxLen 1,048,576; 1,000 stages of 1,048,576 loops', () => {
    const width = refused(() => loadModel(declaring({ width: 2 ** 24, vocab: 1, maxLen: 1, stages: 0, loops: 0, qk: 0, hidden: 0 })), 'width 2^24');
    expect(width).toMatch(/residual\[0\]\.size must be a whole number in 0\.\.1048576, got 16777216/);
    const both = refused(() => loadModel(declaring({ width: 2 ** 20, vocab: 1, maxLen: 2 ** 20, stages: 0, loops: 0, qk: 0, hidden: 0 })), 'width and maxLen 2^20');
    expect(both).toMatch(/W_pos \(maxLen × residual width = 1,048,576 × 1,048,576\)\) needs about 8\.0 TiB, over the memory budget/);
    const loops = refused(() => loadModel(declaring({ width: 2, vocab: 1, maxLen: 1, stages: 1000, loops: 2 ** 20, qk: 1, hidden: 1 })), '1000 stages of 2^20 loops');
    expect(loops).toMatch(/one run of the model this file declares, on a single position \(1,000 stages; busiest: stages\[0\] \(1,048,576 loops × 1 layer\)\) needs about .* over the work budget/);
    const head = refused(() => loadModel(declaring({ width: 2 ** 16, vocab: 1, maxLen: 1, stages: 1, loops: 1, qk: 2 ** 16, hidden: 1 })), 'a wide head');
    expect(head).toMatch(/largest part: stages\[0\]\.layers\[0\]\.heads\[0\]/);
  });

  it('any combination of declared sizes either loads (it fits) or is refused, within 1 s and 256 MB', () => {
    const size = fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constantFrom(2 ** 10, 2 ** 16, 2 ** 20, 2 ** 20 + 1, 2 ** 24, 2 ** 31, 2 ** 53, 1e300));
    let loaded = 0;
    fc.assert(
      fc.property(fc.record({ width: size, vocab: fc.integer({ min: 1, max: 4 }), maxLen: size, stages: fc.constantFrom(0, 1, 3, 1000), loops: size, qk: size, hidden: size }), (o) => {
        const text = declaring({ ...o, width: Math.max(1, o.width), maxLen: Math.max(1, o.maxLen) });
        const heap0 = process.memoryUsage().heapUsed;
        const t0 = performance.now();
        let fits = false;
        try {
          loadModel(text);
          fits = true;
          loaded++;
        } catch (e) {
          if (!(e instanceof ModelError) && !(e instanceof ResourceError)) throw e;
          expect((e as Error).message).toMatch(/^model file: /);
        }
        // A refusal is quick; a model that fits the (128 MiB) budget takes what building it takes.
        expect(performance.now() - t0).toBeLessThan(fits ? 10_000 : 1000);
        expect((process.memoryUsage().heapUsed - heap0) / 2 ** 20).toBeLessThan(256);
      }),
      fcParams(100),
    );
    expect(loaded).toBeGreaterThan(0);
  });

  it('safetensors: huge loop counts, layer counts or head sizes in the metadata are refused before tensors are built', () => {
    const st = decodeSt(ST_BYTES);
    const stages = JSON.parse(META.stages) as Obj[];
    const attention = JSON.parse(META.attention) as unknown[];
    const mlp = JSON.parse(META.mlp) as unknown[];
    const withMeta = (md: Record<string, string>) => {
      const h = structuredClone(st.header);
      Object.assign(h.__metadata__ as Obj, md);
      return encodeSt(JSON.stringify(h), st.buffer);
    };
    const many = Array.from({ length: 1000 }, (_, s) => ({ ...stages[s % 2], loops: 2 ** 20 }));
    const manyMessage = refused(
      () => loadSafetensors(withMeta({ stages: JSON.stringify(many), attention: JSON.stringify(many.map((_, s) => attention[s % 2])), mlp: JSON.stringify(many.map((_, s) => mlp[s % 2])) })),
      '1000 stages of 2^20 loops',
    );
    expect(manyMessage).toMatch(/^safetensors: one run of the model this file declares.*over the work budget/);
    fc.assert(
      fc.property(fc.constantFrom('loops', 'layers', 'd_qk', 'd_mlp', 'size'), fc.constantFrom(2 ** 20 + 1, 2 ** 24, 2 ** 53, 1e300, -1, 0.5), (field, value) => {
        const s2 = structuredClone(stages);
        const a2 = structuredClone(attention) as Obj[][][];
        const m2 = structuredClone(mlp) as (Obj | null)[][];
        const r2 = JSON.parse(META.residual_labels) as Obj[];
        if (field === 'loops' || field === 'layers') s2[0][field] = value;
        else if (field === 'd_qk') a2[0][0][0].d_qk = value;
        else if (field === 'd_mlp') m2[0][0]!.d_mlp = value;
        else r2[0].size = value;
        refused(() => loadSafetensors(withMeta({ stages: JSON.stringify(s2), attention: JSON.stringify(a2), mlp: JSON.stringify(m2), residual_labels: JSON.stringify(r2) })), `${field} = ${value}`);
      }),
      fcParams(60),
    );
  });
});

// ---------------------------------------------------------------- extra or malformed entries

describe('extra or malformed matrix entries are refused, naming the entry', () => {
  const matrices = objectsOf(JSON_VALUE).filter(({ obj }) => Array.isArray(obj.shape));

  it.each([
    ['an entry with four numbers', (m: Obj) => (m.entries as unknown[][]).push([0, 0, 1, 7]), /entries\[\d+\] must be \[row, col, value\], got 4 items/],
    ['an entry with two numbers', (m: Obj) => (m.entries as unknown[][]).push([0, 0]), /entries\[\d+\] must be \[row, col, value\], got 2 items/],
    ['a three-dimensional shape', (m: Obj) => (m.shape as number[]).push(1), /shape must be \[rows, cols\], got 3 items/],
    ['a conflicting duplicate entry', (m: Obj) => (m.entries as unknown[][]).push([0, 0, 5], [0, 0, 6]), /entries\[\d+\] repeats row 0, col 0 of entries\[\d+\]/],
    ['an equal duplicate entry', (m: Obj) => (m.entries as unknown[][]).push([0, 0, 5], [0, 0, 5]), /repeats row 0, col 0/],
    ['an entry that is an object', (m: Obj) => (m.entries as unknown[]).push({ row: 0 }), /entries\[\d+\] must be an array/],
    ['a weight of 1e400 (a string)', (m: Obj) => (m.entries as unknown[][]).push([0, 0, '1e400']), /entries\[\d+\]\[2\] "1e400" is not a rational number: write it as 3, -3\/4 or 0\.125/],
    ['a weight of 1e400 (a number)', (m: Obj) => (m.entries as unknown[][]).push([0, 0, '__BIG__']), /entries\[\d+\]\[2\] is the number 1e400, beyond the range of a double/, (t: string) => t.replace('"__BIG__"', '1e400')],
    ['a huge rational', (m: Obj) => (m.entries as unknown[][]).push([0, 0, `1${'0'.repeat(400)}`]), /beyond the range of a double/],
  ] as const)('%s', (_what, edit, message, text?: (t: string) => string) => {
    // Every matrix that has room for (0, 0) and no entry there yet.
    for (const { path } of matrices) {
      const clone = structuredClone(JSON_VALUE);
      const m = objectsOf(clone).find((o) => o.path === path)!.obj;
      if ((m.shape as number[]).includes(0) || (m.entries as number[][]).some((e) => e[0] === 0 && e[1] === 0)) continue;
      edit(m);
      let t = JSON.stringify(clone);
      if (text) t = text(t);
      const got = refused(() => loadModel(t), `${_what} in ${path}`);
      expect(got).toContain(`model file: ${path}.`);
      expect(got).toMatch(message);
    }
  });

  it('random extra or malformed entries in random matrices (fast-check)', () => {
    const bad = fc.oneof(
      fc.tuple(fc.nat(3), fc.nat(3), fc.double(), fc.double()),
      fc.tuple(fc.nat(3)),
      fc.tuple(fc.integer({ min: -5, max: -1 }), fc.nat(3), fc.integer()),
      fc.tuple(fc.nat(3), fc.constantFrom(0.5, 1e9, Number.MAX_SAFE_INTEGER), fc.integer()),
      fc.tuple(fc.nat(3), fc.nat(3), fc.constantFrom('1e400', 'NaN', '0x10', '1/0', 'Infinity', '', ' ', null, true, [], {})),
      fc.constantFrom(null, 7, 'x', {}),
    );
    fc.assert(
      fc.property(fc.nat(matrices.length - 1), bad, fc.nat(10), (k, entry, at) => {
        const clone = structuredClone(JSON_VALUE);
        const { obj, path } = objectsOf(clone).filter(({ obj: o }) => Array.isArray(o.shape))[k];
        const entries = obj.entries as unknown[];
        entries.splice(at % (entries.length + 1), 0, entry);
        const message = refused(() => loadModel(JSON.stringify(clone)), `${JSON.stringify(entry)} in ${path}`);
        expect(message).toContain(`model file: ${path}.entries[`);
      }),
      fcParams(300),
    );
  });
});

// ---------------------------------------------------------------- masks

describe('masks: refused with the stage and the field named, in one line, and nothing runs', () => {
  it.each([
    ['process.exit(7)', /calls "process\.exit", which is not a mask function/],
    ['f(x)=x', /defines a function/],
    ['config({number: "BigNumber"})', /calls "config", which is not a mask function/],
    ['import({pi: 4}, {override: true})', /calls "import", which is not a mask function/],
    ['x + 1 > 0', /uses "x", which is not defined/],
    ['i >=', /is not a valid expression: Unexpected end of expression/],
  ])('%s', (expr, reason) => {
    const clone = structuredClone(JSON_VALUE) as { stages: { mask: { expr: string } }[] };
    clone.stages[0].mask.expr = expr;
    const message = refused(() => loadModel(JSON.stringify(clone)), expr);
    expect(message).toMatch(/^model file: stages\[0\]\.mask\.expr: mask /);
    expect(message).toMatch(reason);
    const st = decodeSt(ST_BYTES);
    const stages = JSON.parse(META.stages) as { mask: { expr: string } | null }[];
    stages[0].mask = { expr };
    const h = structuredClone(st.header);
    (h.__metadata__ as Obj).stages = JSON.stringify(stages);
    const sm = refused(() => loadSafetensors(encodeSt(JSON.stringify(h), st.buffer)), expr);
    expect(sm).toMatch(/^safetensors: __metadata__\.stages\[0\]\.mask\.expr: mask /);
    expect(sm).toMatch(reason);
  });
});

// ---------------------------------------------------------------- the command line

describe('the command line refuses hostile model files: exit 2, one line naming the field, no stack', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'looped-hardening-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 30_000, maxBuffer: 1 << 20 });
    return { code: r.status ?? -1, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  };
  const expectRefused = (r: ReturnType<typeof run>, message: RegExp) => {
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  };
  const file = (name: string, text: string | Uint8Array) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('/dev/zero and a directory are not regular files', () => {
    expectRefused(run('run', '--model', '/dev/zero', '--input', '[0]'), /model file \/dev\/zero is a character device, not a regular file/);
    expectRefused(run('run', '--model', dir, '--input', '[0]'), /is a directory, not a regular file/);
  });

  it('a FIFO is refused at once, not waited on', () => {
    const fifo = join(dir, 'fifo');
    const mk = spawnSync('mkfifo', [fifo]);
    if (mk.status !== 0) return; // no mkfifo here
    const t0 = Date.now();
    expectRefused(run('run', '--model', fifo, '--input', '[0]'), /is a FIFO, not a regular file/);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('a file over the size limit (1/8 of --max-memory) is refused naming the limit', () => {
    const p = file('padded.json', JSON_TEXT + ' '.repeat(300_000));
    expectRefused(run('run', '--model', p, '--input', '["a","b"]', '--max-memory', '2M'), /model file .* is .*, over the limit of 256 KiB \(1\/8 of the memory budget; raise it with --max-memory\)/);
  });

  it('the 436-byte files: width 16,777,216; and with maxLen 1,048,576; and 1,000 stages of 1,048,576 loops', () => {
    const wide = JSON.stringify({ format: 'looped/1', name: 'w', vocab: ['a'], maxLen: 1, readout: 'last', residual: [{ name: 'x', size: 16777216 }], W_E: { shape: [1, 16777216], entries: [] }, W_pos: { shape: [1, 16777216], entries: [] }, W_U: { shape: [16777216, 1], entries: [] }, stages: [] });
    expect(wide.length).toBeLessThan(436);
    expectRefused(run('run', '--model', file('wide.json', wide), '--input', '["a"]'), /model file: residual\[0\]\.size must be a whole number in 0\.\.1048576, got 16777216/);
    const long = declaring({ width: 2 ** 20, vocab: 1, maxLen: 2 ** 20, stages: 0, loops: 0, qk: 0, hidden: 0 });
    expectRefused(run('run', '--model', file('long.json', long), '--input', '["t0"]'), /model file: the model this file declares \(largest part: W_pos .*over the memory budget/);
    const loops = declaring({ width: 2, vocab: 1, maxLen: 1, stages: 1000, loops: 2 ** 20, qk: 1, hidden: 1 });
    expectRefused(run('run', '--model', file('loops.json', loops), '--input', '["t0"]'), /busiest: stages\[0\] \(1,048,576 loops × 1 layer\).*over the work budget/);
  });

  it('a mask that would run code exits 2 naming the field, not 7', () => {
    const clone = structuredClone(JSON_VALUE) as { stages: { mask: { expr: string } }[] };
    clone.stages[0].mask.expr = 'process.exit(7)';
    expectRefused(run('run', '--model', file('exit.json', JSON.stringify(clone)), '--input', '["a","b"]'), /model file: stages\[0\]\.mask\.expr: mask "process\.exit\(7\)" calls "process\.exit"/);
    clone.stages[0].mask.expr = 'f(x)=x';
    expectRefused(run('run', '--model', file('fx.json', JSON.stringify(clone)), '--input', '["a","b"]'), /stages\[0\]\.mask\.expr: mask "f\(x\)=x" defines a function/);
  });

  it('export does not write a model that run would refuse', () => {
    const clone = structuredClone(JSON_VALUE) as { stages: { mask: { expr: string } }[] };
    clone.stages[0].mask.expr = 'f(x)=x';
    const out = join(dir, 'fx.safetensors');
    expectRefused(run('export', file('fx-export.json', JSON.stringify(clone)), '--format', 'safetensors', '--out', out), /stages\[0\]\.mask\.expr: mask "f\(x\)=x" defines a function/);
    expect(spawnSync('test', ['-e', out]).status).not.toBe(0);
  });

  it('duplicate and __proto__ keys from the command line', () => {
    const dup = JSON_TEXT.replace('"name":', '"name":"x","name":');
    expectRefused(run('run', '--model', file('dup.json', dup), '--input', '["a","b"]'), /model file: \(top level\) has the key "name" twice/);
    const proto = `${JSON_TEXT.slice(0, -1)},"__proto__":{"polluted":1}}`;
    expectRefused(run('run', '--model', file('proto.json', proto), '--input', '["a","b"]'), /model file: __proto__ is not a field of a looped\/1 model file/);
  });
});

describe('budget', () => {
  it('every refusal above came within 1 s and 256 MB', () => {
    expect(budget.refusals).toBeGreaterThan(500);
    expect(budget.slowestMs).toBeLessThan(1000);
    console.log(`model-file hardening: ${budget.refusals} refusals, slowest ${budget.slowestMs.toFixed(1)} ms, largest heap growth ${budget.largestHeapMb.toFixed(1)} MB`);
  });
});
