// The p-hop constructions' parameters (Theorem B.12 as p-hop-direct, Corollary 5.3 as p-hop):
// what the CLI shows, how a Params object becomes a PHopConfig, and the settings `looped verify
// --all` runs. The algorithm, the precision and the softmax-search finding are in common.ts.
import { bitLength, bitsFor } from '../codes.ts';
import { type ParamSpec, type Params, type VerifySetting, defineParams, orAuto, paramValues } from '../construction.ts';

export interface PHopConfig {
  /** Construction id, for error messages. */
  id: string;
  p: number;
  /** Longest input v (the model has n + 1 positions: the start slot and v_1..v_n). */
  n: number;
  alphabet: number;
  /** Bits of the position codes and of the fixed-point check: max(3, ⌈log2(n + 1)⌉). */
  s: number;
  readout: 'last' | 'all';
  /** Softmax scale of the float64 check (every head). */
  scale: number;
  /** Doubling rounds R = ⌈log2 p⌉ = bit length of p − 1. */
  rounds: number;
  /**
   * hard: the content search is hard attention in the fixed:s check (the default); softmax: it is
   * a softmax head there too, with the scores of softmaxSearchScores (see SOFTMAX SEARCH above).
   */
  search: 'hard' | 'softmax';
  /** Bits of the fixed-point check (param bits, auto = s); the softmax search's scores are set for these bits. */
  checkBits: number;
}

export const P_PARAM = { name: 'p', describe: 'number of hops', default: '3', kind: 'int', min: 1, max: 64 } as const satisfies ParamSpec;
export const N_PARAM = {
  name: 'n',
  describe: 'longest input v_1..v_n (the model adds a start slot at position 0)',
  default: '16',
  kind: 'int',
  min: 1,
  max: 4096,
} as const satisfies ParamSpec;
export const ALPHABET_PARAM = { name: 'alphabet', describe: 'tokens are 0..alphabet−1', default: '4', kind: 'int', min: 2, max: 16 } as const satisfies ParamSpec;
export const READOUT_PARAM = {
  name: 'readout',
  describe: 'last: the answer hop_p(v) at the last position (the paper); all: hop_p of every prefix, one per position 0..m',
  default: 'last',
  kind: 'choice',
  values: ['last', 'all'],
} as const satisfies ParamSpec;
export const SCALE_PARAM = {
  name: 'scale',
  describe:
    'softmax scale β of the float64 check, on every head; auto = 64·2^s. The content search needs β·2^{−s} well above ln n ' +
    '(its runner-up scores 2^{−s} below the winner); set a smaller β to weaken the check',
  default: 'auto',
  kind: 'rational',
  positive: true,
  auto: '64·2^s',
} as const satisfies ParamSpec;

export const SEARCH_PARAM = {
  name: 'search',
  describe:
    'hard: the fixed:s check runs the content search as hard attention (the positional heads as softmax); softmax: the ' +
    'content search is a softmax head in fixed:s too — it fails, at every s (see proofs/p-hop/common.ts, SOFTMAX SEARCH)',
  default: 'hard',
  kind: 'choice',
  values: ['hard', 'softmax'],
} as const satisfies ParamSpec;

export const BITS_PARAM = {
  name: 'bits',
  describe:
    'bits b of the fixed-point check, fixed:b (auto = s = max(3, ⌈log2(n + 1)⌉), the construction\'s own); with ' +
    'search=softmax the search\'s scores are set for F_b, so `--param search=softmax --param bits=b --interpreter fixed:b` ' +
    'tries the softmax search at any b',
  default: 'auto',
  kind: 'int',
  min: 1,
  max: 26,
  auto: 's = max(3, ⌈log2(n + 1)⌉)',
} as const satisfies ParamSpec;

/** The parameters both constructions share, in the order the CLI lists them (each adds its depth parameter). */
export const P_HOP_PARAMS = defineParams([P_PARAM, N_PARAM, ALPHABET_PARAM, READOUT_PARAM, SCALE_PARAM, SEARCH_PARAM, BITS_PARAM]);

/** The float64 check's default softmax scale, 64·2^s. */
export const statedScale = (s: number) => 64 * 2 ** s;

/**
 * The bits s of the position codes and of the fixed-point check: max(3, bitsFor(n + 1)) —
 * codes for the n + 1 positions (start slot and v_1..v_n), and at least 3 so the MLP gates'
 * partial sums (up to 4) stay below B_s (see PRECISION in common.ts).
 */
export function pHopBits(n: number): number {
  return Math.max(3, bitsFor(n + 1));
}

export function readConfig(id: string, params: Params): PHopConfig {
  const v = paramValues(id, P_HOP_PARAMS, params);
  const { p, n, alphabet, readout, search } = v;
  const s = pHopBits(n);
  const scale = v.scale === 'auto' ? statedScale(s) : v.scale.valueOf();
  const checkBits = orAuto(v.bits, () => s);
  return { id, p, n, alphabet, s, readout, scale, rounds: bitLength(p - 1), search, checkBits };
}

/**
 * The settings `looped verify --all` runs for both p-hop constructions (Theorem B.12 and
 * Corollary 5.3): the defaults, every readout, the paper's Table 1 sizes, and the softmax search
 * that must fail in F_s.
 */
export const P_HOP_VERIFY_AT: VerifySetting[] = [
  { params: {} },
  { params: { readout: 'all' } },
  { params: { p: '16', n: '256' }, paper: "Table 1's p-hop: alphabet 4, n = 256, p = 16", samples: 30 },
  { params: { p: '32', n: '256' }, paper: "Table 1's p-hop: alphabet 4, n = 256, p = 32", samples: 30 },
  {
    params: { search: 'softmax' },
    fails:
      'the content search as a softmax head in the paper\'s F_s (no max subtraction) cannot be one-hot on the last of two ' +
      'matches at any s (proofs/p-hop/common.ts, SOFTMAX SEARCH): fixed:s goes wrong where two matches precede a ' +
      'position the answer reads (it copies the sum of their pointers), e.g. [0,0,0,0]',
  },
];
