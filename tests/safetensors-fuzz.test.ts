// Hostile input: every corrupted safetensors file is either refused with a ModelError (or a
// ResourceError, for sizes over the budgets) or loads as
// exactly the model the file describes — never another exception, never a hang, never a model
// whose weights differ from the bytes. Named cases first, then fast-check corruptions of valid
// exports: truncation, flipped bytes, edited header fields, poisoned weights (FC_SEED, default 42).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fcParams } from '../properties/config.ts';
import { buildRandomModel, randomModelArbitrary } from '../simulators/random-model.ts';
import { resolveParams } from '../proofs/construction.ts';
import { constructionById } from '../proofs/registry.ts';
import { ModelError, ResourceError } from '../common/errors.ts';
import { type Model, validateModel } from '../simulators/model.ts';
import { modelToJson } from '../simulators/model-file.ts';
import { type SafetensorsDtype, loadSafetensors, modelToSafetensors } from '../simulators/safetensors.ts';

// ---------------------------------------------------------------- fixtures

interface Fixture {
  name: string;
  model: Model;
  dtype: SafetensorsDtype;
  bytes: Uint8Array;
}

function fixture(name: string, model: Model, dtype: SafetensorsDtype = 'F64'): Fixture {
  // A counterexample prints the fixture by name, not as the whole model.
  return { name, model, dtype, bytes: modelToSafetensors(model, { dtype }).bytes, [fc.toStringMethod]: () => `fixture(${JSON.stringify(name)})` } as Fixture;
}

const construction = (id: string, params: Record<string, string>) => {
  const c = constructionById(id);
  return c.build(resolveParams(c, params)).model;
};

const [randomSpec] = fc.sample(randomModelArbitrary({ kinds: ['hard', 'softmax'], maxStages: 2, masks: ['i >= t', 'mod(i + t, 2) == 0'] }), { numRuns: 1, seed: 7 });
const FIXTURES: Fixture[] = [
  fixture('lemma-b4 n=4', construction('lemma-b4', { n: '4' })),
  fixture('p-hop-direct n=4 p=2 alphabet=2', construction('p-hop-direct', { n: '4', p: '2', alphabet: '2' })),
  fixture('group-composition S3 n=3', construction('group-composition', { n: '3' })),
  fixture('random masked model, F32', buildRandomModel(randomSpec), 'F32'),
];

// ---------------------------------------------------------------- a minimal independent decoder

interface Decoded {
  header: Record<string, unknown>;
  headerLength: number;
  /** Tensor values by name (only for structurally valid files). */
  values(name: string): number[];
}

function decode(bytes: Uint8Array): Decoded {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  return {
    header,
    headerLength: n,
    values(name) {
      const t = header[name] as { dtype: string; data_offsets: [number, number] };
      const size = t.dtype === 'F64' ? 8 : 4;
      const out: number[] = [];
      for (let p = 8 + n + t.data_offsets[0]; p < 8 + n + t.data_offsets[1]; p += size) out.push(size === 8 ? view.getFloat64(p, true) : view.getFloat32(p, true));
      return out;
    },
  };
}

function encode(header: unknown, buffer: Uint8Array, lengthDelta = 0): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + buffer.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, text.length + lengthDelta)), true);
  out.set(text, 8);
  out.set(buffer, 8 + text.length);
  return out;
}

const bufferOf = (f: Fixture) => f.bytes.subarray(8 + decode(f.bytes).headerLength);

// ---------------------------------------------------------------- the oracle

/** Subspace lists with default labels and empty describes dropped, as the writer writes them. */
function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (typeof value !== 'object' || value === null) return value;
  const o = { ...(value as Record<string, unknown>) };
  if (typeof o.name === 'string' && typeof o.size === 'number' && Array.isArray(o.labels)) {
    const defaults = o.size === 1 ? [o.name] : Array.from({ length: o.size }, (_, i) => `${o.name as string}[${i}]`);
    if (JSON.stringify(o.labels) === JSON.stringify(defaults)) delete o.labels;
    if (o.describe === '') delete o.describe;
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, normalise(v)]));
}

const stats = { runs: 0, refused: 0, loaded: 0, slowestMs: 0, messages: new Map<string, number>() };

/**
 * Loads corrupted bytes: a ModelError is fine; anything else thrown fails. A model that loads must
 * validate, and re-exported it must give back, tensor by tensor and metadata field by field,
 * exactly what the corrupted file says (so where the corruption left the file alone, it equals the
 * original).
 */
function check(f: Fixture, bytes: Uint8Array): void {
  stats.runs++;
  const t0 = performance.now();
  let model: Model;
  try {
    model = loadSafetensors(bytes);
  } catch (e) {
    const ms = performance.now() - t0;
    stats.slowestMs = Math.max(stats.slowestMs, ms);
    // A ResourceError is a refusal too: declared sizes or loop counts over the budgets.
    if (!(e instanceof ModelError) && !(e instanceof ResourceError)) throw new Error(`${f.name}: loading threw ${(e as Error).name}, not a ModelError: ${(e as Error).stack}`);
    expect(e.message).toMatch(/^safetensors: /);
    stats.refused++;
    const kind = e.message.replace(/"[^"]*"|\d+|\(.*\)|'[^']*'/g, '…').slice(0, 70);
    stats.messages.set(kind, (stats.messages.get(kind) ?? 0) + 1);
    return;
  }
  const ms = performance.now() - t0;
  stats.slowestMs = Math.max(stats.slowestMs, ms);
  stats.loaded++;
  validateModel(model);
  const file = decode(bytes);
  const again = decode(modelToSafetensors(model, { dtype: f.dtype, allowRounding: true }).bytes);
  const names = (h: Record<string, unknown>) => Object.keys(h).filter((k) => k !== '__metadata__').sort();
  expect(names(again.header)).toEqual(names(file.header));
  for (const name of names(file.header)) {
    const a = again.values(name);
    const b = file.values(name);
    expect((again.header[name] as { shape: number[] }).shape, name).toEqual((file.header[name] as { shape: number[] }).shape);
    expect(a.length).toBe(b.length);
    for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) throw new Error(`${f.name}: tensor ${name}[${k}] loaded as ${a[k]} but the file holds ${b[k]}`);
  }
  const mdFile = file.header.__metadata__ as Record<string, string>;
  const mdAgain = again.header.__metadata__ as Record<string, string>;
  for (const [key, value] of Object.entries(mdAgain)) {
    const parse = (s: string) => {
      try {
        return normalise(JSON.parse(s));
      } catch {
        return s;
      }
    };
    expect(['format', 'name', 'description', 'readout'].includes(key) ? mdFile[key] : parse(mdFile[key]), `__metadata__.${key}`).toEqual(
      ['format', 'name', 'description', 'readout'].includes(key) ? value : parse(value),
    );
  }
}

// ---------------------------------------------------------------- named hostile cases

describe('safetensors import refuses hostile files, naming the problem', () => {
  const f = FIXTURES[1];
  const good = decode(f.bytes);
  const buffer = bufferOf(f);
  /** A loader of the fixture with its header changed (offsets and buffer left alone). */
  const edit = (change: (h: Record<string, any>) => void, on: Fixture = f) => () => {
    const h = structuredClone(decode(on.bytes).header) as Record<string, any>;
    change(h);
    return loadSafetensors(encode(h, bufferOf(on)));
  };
  const firstAttn = 'stages.0.blocks.0.attn.W_Q';

  it('loads the untouched fixtures', () => {
    for (const x of FIXTURES) expect(modelToJson(loadSafetensors(x.bytes))).toEqual(modelToJson(x.model));
  });

  it.each([
    ['an empty file', () => loadSafetensors(new Uint8Array(0)), /truncated: 0 bytes/],
    ['a file cut inside the length', () => loadSafetensors(f.bytes.subarray(0, 5)), /truncated: 5 bytes/],
    ['a file cut inside the header', () => loadSafetensors(f.bytes.subarray(0, 200)), /header length \d+ is beyond the file \(200 bytes/],
    ['a file cut inside the buffer', () => loadSafetensors(f.bytes.subarray(0, f.bytes.length - 3)), /buffer is \d+ bytes but the tensors need \d+|out of range/],
    ['bytes after the last tensor', () => loadSafetensors(new Uint8Array([...f.bytes, 0, 0, 0, 0, 0, 0, 0, 0])), /8 bytes after the last tensor/],
    ['a header length of 2^63', () => { const b = f.bytes.slice(); new DataView(b.buffer).setBigUint64(0, 1n << 63n, true); return loadSafetensors(b); }, /header length 9223372036854775808 is beyond the file/],
    ['a header that is not JSON', () => { const b = f.bytes.slice(); b[9] = 0x7b; return loadSafetensors(b); }, /header is not valid JSON/],
    ['a header that is not UTF-8', () => { const b = f.bytes.slice(); b[10] = 0xff; return loadSafetensors(b); }, /not valid UTF-8/],
    ['a header that is an array', () => loadSafetensors(encode([1, 2], new Uint8Array(0))), /header must be a JSON object/],
    ['an unknown dtype', edit((h) => (h[firstAttn].dtype = 'F65')), /tensor "stages\.0\.blocks\.0\.attn\.W_Q": unknown dtype "F65"/],
    ['an unsupported dtype', edit((h) => (h[firstAttn].dtype = 'F16')), /dtype F16 is not supported \(looped reads F64, F32\)/],
    ['a missing dtype', edit((h) => delete h[firstAttn].dtype), /dtype is missing/],
    ['an unknown tensor field', edit((h) => (h[firstAttn].stride = [1])), /\["stages\.0\.blocks\.0\.attn\.W_Q"\] has an unknown field "stride"/],
    ['data_offsets out of range', edit((h) => (h[firstAttn].data_offsets = [0, 10 ** 9])), /out of range: the buffer has \d+ bytes/],
    ['data_offsets backwards', edit((h) => (h[firstAttn].data_offsets = [16, 8])), /end before they begin/],
    ['negative data_offsets', edit((h) => (h[firstAttn].data_offsets = [-8, 0])), /data_offsets begin is -8/],
    ['overlapping tensors', edit((h) => (h['embed.W_E'].data_offsets = h['pos_embed.W_pos'].data_offsets.slice())), /overlap|cover|needs/],
    ['two tensors on the same bytes', edit((h) => { const a = h['stages.0.blocks.0.attn.W_K']; h['stages.0.blocks.0.attn.W_Q'].data_offsets = a.data_offsets.slice(); }), /overlap tensor/],
    ['offsets that do not match shape × dtype', edit((h) => (h[firstAttn].shape = [1, 2, 3])), /cover \d+ bytes but shape \[1, 2, 3\] of F64 needs 48/],
    ['a shape that disagrees with the metadata', edit((h) => { const t = h['embed.W_E']; const [V, d] = t.shape; t.shape = [d, V]; }), /tensor "embed\.W_E" has shape \[\d+, \d+\] but the metadata says/],
    ['a shape with a fraction', edit((h) => (h[firstAttn].shape = [1.5, 2])), /shape\[0\] is 1\.5/],
    ['a missing tensor', edit((h) => { h['unembed.W_U'].data_offsets; delete h['unembed.W_U']; }), /bytes at .* that belong to no tensor|is missing/],
    ['a missing tensor (buffer consistent)', () => { const h = structuredClone(good.header) as Record<string, any>; const [b, e] = h['unembed.W_U'].data_offsets; delete h['unembed.W_U']; for (const v of Object.values(h)) if (v && Array.isArray(v.data_offsets) && v.data_offsets[0] >= e) v.data_offsets = [v.data_offsets[0] - (e - b), v.data_offsets[1] - (e - b)]; return loadSafetensors(encode(h, new Uint8Array([...buffer.subarray(0, b), ...buffer.subarray(e)]))); }, /tensor "unembed\.W_U" is missing/],
    ['an extra tensor', () => { const h = structuredClone(good.header) as Record<string, any>; h['stages.0.blocks.9.mlp.W_in'] = { dtype: 'F64', shape: [1], data_offsets: [buffer.length, buffer.length + 8] }; return loadSafetensors(encode(h, new Uint8Array([...buffer, 0, 0, 0, 0, 0, 0, 0, 0]))); }, /tensor "stages\.0\.blocks\.9\.mlp\.W_in" is not part of the model/],
    ['a renamed tensor', edit((h) => { h['embed.W_X'] = h['embed.W_E']; delete h['embed.W_E']; }), /tensor "embed\.W_E" is missing/],
    ['no metadata', edit((h) => delete h.__metadata__), /__metadata__\.format is missing/],
    ['metadata that is not an object', edit((h) => (h.__metadata__ = 'x')), /__metadata__ must be an object of strings/],
    ['a metadata value that is not a string', edit((h) => (h.__metadata__.vocab = ['0', '1'])), /__metadata__\.vocab must be a string/],
    ['another format', edit((h) => (h.__metadata__.format = 'looped/2')), /__metadata__\.format is "looped\/2"; this version reads "looped\/1"/],
    ['a missing metadata field', edit((h) => delete h.__metadata__.attention), /__metadata__\.attention is missing/],
    ['metadata that is not JSON', edit((h) => (h.__metadata__.stages = '[{')), /__metadata__\.stages is not valid JSON/],
    ['a bad attention kind', edit((h) => { const a = JSON.parse(h.__metadata__.attention); a[0][0][0].kind = 'sharp'; h.__metadata__.attention = JSON.stringify(a); }), /__metadata__\.attention\[0\]\[0\]\[0\]\.kind must be one of softmax, hard, got "sharp"/],
    ['a bad scale', edit((h) => { const a = JSON.parse(h.__metadata__.attention); a[0][0][0].scale = '1/0'; h.__metadata__.attention = JSON.stringify(a); }), /attention\[0\]\[0\]\[0\]\.scale rational "1\/0" has a zero denominator/],
    ['head sizes that disagree with the labels', edit((h) => { const a = JSON.parse(h.__metadata__.attention); a[0][0][0].d_qk += 1; h.__metadata__.attention = JSON.stringify(a); }), /d_qk is \d+ but the qk subspaces add up to \d+/],
    ['a head larger than d_head', edit((h) => { const a = JSON.parse(h.__metadata__.attention); a[0][0][0].qk[0].size += 40; a[0][0][0].d_qk += 40; h.__metadata__.attention = JSON.stringify(a); }), /qk has \d+ directions but the attn tensors' d_head is \d+/],
    ['residual labels of the wrong width', edit((h) => { const r = JSON.parse(h.__metadata__.residual_labels); r[0].size += 1; h.__metadata__.residual_labels = JSON.stringify(r); }), /tensor "embed\.W_E" has shape .* but the metadata says/],
    ['a layer count that disagrees', edit((h) => { const s = JSON.parse(h.__metadata__.stages); s[0].layers += 1; h.__metadata__.stages = JSON.stringify(s); }), /__metadata__\.attention\[0\] has \d+ entries but should have \d+/],
    ['a stage count that disagrees', edit((h) => { const s = JSON.parse(h.__metadata__.stages); s.push(s[0]); h.__metadata__.stages = JSON.stringify(s); }), /__metadata__\.attention has 1 entries but should have 2/],
    ['a bad mask', edit((h) => { const s = JSON.parse(h.__metadata__.stages); s[0].mask = { expr: 'i >=' }; h.__metadata__.stages = JSON.stringify(s); }), /mask "i >=" is not a valid expression/],
    ['a repeated token', edit((h) => (h.__metadata__.vocab = JSON.stringify(['0', '0', '1']))), /vocab repeats the token "0"/],
    ['duplicate head names', edit((h) => { const a = JSON.parse(h.__metadata__.attention); a[0][0][1].name = a[0][0][0].name; h.__metadata__.attention = JSON.stringify(a); }, FIXTURES[2]), /two heads in one layer share the name/],
    ['a bad subspace name', edit((h) => { const r = JSON.parse(h.__metadata__.residual_labels); r[0].name = '9 lives'; h.__metadata__.residual_labels = JSON.stringify(r); }), /residual_labels subspace name "9 lives" must start with a letter/],
    ['a residual of width 0', () => loadSafetensors(encode({ __metadata__: { ...good.header.__metadata__ as object, residual_labels: '[]' } }, new Uint8Array(0))), /residual_labels describe a residual stream of width 0/],
  ] as const)('%s', (_what, load, message) => {
    let thrown: unknown;
    try {
      load();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ModelError);
    expect((thrown as Error).message).toMatch(message);
  });

  it('refuses NaN and infinite weights, and nonzero padding, naming the entry', () => {
    const h = good.header as Record<string, { data_offsets: [number, number] }>;
    const poked = (tensor: string, index: number, value: number) => {
      const b = f.bytes.slice();
      new DataView(b.buffer).setFloat64(8 + good.headerLength + h[tensor].data_offsets[0] + index * 8, value, true);
      return b;
    };
    const poke = (tensor: string, index: number, value: number) => () => loadSafetensors(poked(tensor, index, value));
    expect(poke('embed.W_E', 0, NaN)).toThrow(/tensor "embed\.W_E" entry \(0, .*\) is NaN; weights must be finite/);
    expect(poke('unembed.W_U', 1, Infinity)).toThrow(/tensor "unembed\.W_U" entry .* is Infinity/);
    expect(poke('stages.0.blocks.2.mlp.b_out', 0, -Infinity)).toThrow(/tensor "stages\.0\.blocks\.2\.mlp\.b_out" entry \([^,]*\) is -Infinity/);
    expect(poke(firstAttn, 0, NaN)).toThrow(/tensor "stages\.0\.blocks\.0\.attn\.W_Q" head 0 '.*' entry \(.*\) is NaN/);
    // Head 0 of layer 0 is smaller than d_head: its last column is padding.
    const attn = JSON.parse((good.header.__metadata__ as Record<string, string>).attention) as { d_qk: number }[][][];
    const dHead = (good.header[firstAttn] as { shape: number[] }).shape[2];
    expect(attn[0][0][0].d_qk).toBeLessThan(dHead);
    expect(poke(firstAttn, dHead - 1, 1)).toThrow(/head 0 '.*': padding column \d+ \(the head's size is \d+\) holds 1; padding must be zero/);
    expect(poke(firstAttn, dHead - 1, NaN)).toThrow(/padding column .* holds NaN/);
    // A finite weight is what the file says: it loads, changed in that one entry only.
    const m = loadSafetensors(poked('unembed.W_U', 1, 0.75));
    expect(m.W_U.data[1]).toBe(0.75);
    const want = modelToJson(f.model);
    want.W_U = modelToJson(m).W_U;
    expect(modelToJson(m)).toEqual(want);
  });
});

// ---------------------------------------------------------------- fuzzing

describe('safetensors import under fuzzing (fast-check, FC_SEED)', () => {
  const fixtureArb = fc.constantFrom(...FIXTURES);

  it('truncated at any point: a ModelError', () => {
    fc.assert(
      fc.property(fixtureArb.chain((f) => fc.tuple(fc.constant(f), fc.integer({ min: 0, max: f.bytes.length - 1 }))), ([f, cut]) => {
        expect(() => loadSafetensors(f.bytes.subarray(0, cut))).toThrow(ModelError);
      }),
      fcParams(300),
    );
  });

  it('random bytes flipped (anywhere, or in the header): a ModelError or exactly the model the bytes describe', () => {
    const flips = (f: Fixture) => {
      const headerEnd = 8 + decode(f.bytes).headerLength;
      const pos = fc.oneof(fc.integer({ min: 0, max: f.bytes.length - 1 }), fc.integer({ min: 0, max: headerEnd - 1 }), fc.integer({ min: 0, max: 7 }));
      return fc.array(fc.tuple(pos, fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 });
    };
    fc.assert(
      fc.property(fixtureArb.chain((f) => fc.tuple(fc.constant(f), flips(f))), ([f, changes]) => {
        const b = f.bytes.slice();
        for (const [p, x] of changes) b[p] ^= x;
        check(f, b);
      }),
      fcParams(600),
    );
  });

  it('header fields edited (dtype, shape, offsets, tensors, metadata): a ModelError or exactly the model the file describes', () => {
    type H = Record<string, any>;
    const jsonValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.integer({ min: -3, max: 70 }), fc.constantFrom('F64', 'F32', 'F16', 'I64', 'BOOL', '', null, [], {}, -1, 2 ** 53, 1e300, 0.5));
    const editArb = (f: Fixture) => {
      const header = decode(f.bytes).header;
      const tensors = Object.keys(header).filter((k) => k !== '__metadata__');
      const keys = Object.keys(header.__metadata__ as object);
      const tensor = fc.constantFrom(...tensors);
      return fc.oneof(
        fc.record({ op: fc.constant('field' as const), tensor, field: fc.constantFrom('dtype', 'shape', 'data_offsets', 'extra'), value: jsonValue }),
        fc.record({ op: fc.constant('dim' as const), tensor, index: fc.nat(3), value: fc.integer({ min: -1, max: 70 }) }),
        fc.record({ op: fc.constant('offset' as const), tensor, index: fc.nat(1), delta: fc.integer({ min: -64, max: 64 }) }),
        fc.record({ op: fc.constant('swap' as const), tensor, other: tensor }),
        fc.record({ op: fc.constant('drop' as const), tensor }),
        fc.record({ op: fc.constant('rename' as const), tensor, other: tensor }),
        fc.record({ op: fc.constant('meta-drop' as const), key: fc.constantFrom(...keys) }),
        fc.record({ op: fc.constant('meta-set' as const), key: fc.constantFrom(...keys), value: fc.oneof(fc.string(), fc.json({ maxDepth: 2 })) }),
        fc.record({ op: fc.constant('meta-leaf' as const), key: fc.constantFrom(...keys), path: fc.array(fc.nat(40), { minLength: 1, maxLength: 6 }), value: jsonValue }),
        fc.record({ op: fc.constant('whole' as const), value: jsonValue }),
      ).chain((e) => fc.record({ edit: fc.constant(e), lengthDelta: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -16, max: 16 }) }) }));
    };
    /** Replaces the leaf reached by following `path` (indices into keys/elements, mod their count). */
    const setLeaf = (root: unknown, path: number[], value: unknown): unknown => {
      if (path.length === 0 || typeof root !== 'object' || root === null) return value;
      const entries = Array.isArray(root) ? root.map((_, i) => i) : Object.keys(root);
      if (entries.length === 0) return value;
      const k = entries[path[0] % entries.length];
      (root as Record<string | number, unknown>)[k] = setLeaf((root as Record<string | number, unknown>)[k], path.slice(1), value);
      return root;
    };
    fc.assert(
      fc.property(fixtureArb.chain((f) => fc.tuple(fc.constant(f), editArb(f))), ([f, { edit, lengthDelta }]) => {
        let h = structuredClone(decode(f.bytes).header) as H;
        switch (edit.op) {
          case 'field':
            if (edit.field === 'extra') h[edit.tensor].extra = edit.value;
            else h[edit.tensor][edit.field] = edit.value;
            break;
          case 'dim':
            h[edit.tensor].shape[edit.index % (h[edit.tensor].shape.length + 1)] = edit.value;
            break;
          case 'offset':
            h[edit.tensor].data_offsets[edit.index] += edit.delta;
            break;
          case 'swap': {
            const a = h[edit.tensor].data_offsets;
            h[edit.tensor].data_offsets = h[edit.other].data_offsets;
            h[edit.other].data_offsets = a;
            break;
          }
          case 'drop':
            delete h[edit.tensor];
            break;
          case 'rename':
            if (edit.tensor !== edit.other) {
              const t = h[edit.tensor];
              h[edit.tensor] = h[edit.other];
              h[edit.other] = t;
            }
            break;
          case 'meta-drop':
            delete h.__metadata__[edit.key];
            break;
          case 'meta-set':
            h.__metadata__[edit.key] = edit.value;
            break;
          case 'meta-leaf': {
            const text: string = h.__metadata__[edit.key];
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = text;
            }
            const changed = setLeaf(parsed, edit.path, edit.value);
            h.__metadata__[edit.key] = typeof changed === 'string' && typeof parsed === 'string' ? changed : JSON.stringify(changed);
            break;
          }
          case 'whole':
            h = edit.value as H;
            break;
        }
        check(f, encode(h, bufferOf(f), lengthDelta));
      }),
      fcParams(600),
    );
  });

  it('weights poisoned (NaN, ±Infinity, any double): a ModelError for the non-finite, exactly the file otherwise', () => {
    const pokeArb = (f: Fixture) => {
      const { headerLength } = decode(f.bytes);
      const size = f.dtype === 'F64' ? 8 : 4;
      const count = (f.bytes.length - 8 - headerLength) / size;
      return fc.record({ index: fc.integer({ min: 0, max: count - 1 }), value: fc.oneof(fc.constantFrom(NaN, Infinity, -Infinity, -0, 1, 2 ** 100), fc.double()) });
    };
    let nonFinite = 0;
    fc.assert(
      fc.property(fixtureArb.chain((f) => fc.tuple(fc.constant(f), pokeArb(f))), ([f, { index, value }]) => {
        const b = f.bytes.slice();
        const at = 8 + decode(f.bytes).headerLength;
        const view = new DataView(b.buffer);
        if (f.dtype === 'F64') view.setFloat64(at + index * 8, value, true);
        else view.setFloat32(at + index * 4, value, true);
        if (!Number.isFinite(f.dtype === 'F64' ? value : Math.fround(value))) {
          nonFinite++;
          expect(() => loadSafetensors(b)).toThrow(ModelError);
          expect(() => loadSafetensors(b)).toThrow(/NaN|Infinity/);
        } else check(f, b);
      }),
      fcParams(300),
    );
    expect(nonFinite).toBeGreaterThan(0);
  });

  it('reports what the fuzzing saw', () => {
    // Every load above took well under a second (no hang); print the tally for the record.
    expect(stats.slowestMs).toBeLessThan(1000);
    const top = [...stats.messages].sort((a, b) => b[1] - a[1]).slice(0, 12);
    console.log(
      `safetensors fuzz: ${stats.runs} corrupted files, ${stats.refused} refused with a ModelError, ${stats.loaded} loaded as exactly what they say; ` +
        `slowest load ${stats.slowestMs.toFixed(1)} ms\n  ${top.map(([m, n]) => `${n}× ${m}`).join('\n  ')}`,
    );
  });
});
