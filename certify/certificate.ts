// A certificate file: what was certified (construction, parameters, interpreter), the model it
// was certified for (the sha256 of its model file, so a certificate cannot be shown for another
// model), and every kind of obligation with its count and margin. `looped certify --check` re-runs
// the obligations and refuses a certificate whose hash or counts do not match.
import { createHash } from 'node:crypto';
import { ModelError } from '../common/errors.ts';
import { assertJsonDepth } from '../common/json-depth.ts';
import type { Model } from '../simulators/model.ts';
import { saveModel } from '../simulators/model-file.ts';
import type { CertifyResult, ObligationTally } from './report.ts';

export const CERTIFICATE_FORMAT = 'looped-certificate/1';

export interface Certificate {
  format: typeof CERTIFICATE_FORMAT;
  construction: string;
  params: Record<string, string>;
  interpreter: string;
  model: { name: string; sha256: string };
  verdict: CertifyResult['verdict'];
  inputs: CertifyResult['inputs'];
  obligations: ObligationTally[];
  rounds: CertifyResult['rounds'];
  failure: CertifyResult['failure'];
}

/** The sha256 of the model's file form (looped-model JSON): equal for equal weights and layout. */
export function modelHash(model: Model): string {
  return createHash('sha256').update(saveModel(model)).digest('hex');
}

export function makeCertificate(what: { construction: string; params: Record<string, string>; interpreter: string; model: Model }, result: CertifyResult): Certificate {
  return {
    format: CERTIFICATE_FORMAT,
    construction: what.construction,
    params: what.params,
    interpreter: what.interpreter,
    model: { name: what.model.name, sha256: modelHash(what.model) },
    verdict: result.verdict,
    inputs: result.inputs,
    obligations: result.obligations,
    rounds: result.rounds,
    failure: result.failure,
  };
}

/** Reads a certificate file, naming the field that is missing or malformed. */
export function parseCertificate(text: string, file: string): Certificate {
  assertJsonDepth(text);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ModelError(`${file}: not JSON (${(e as Error).message})`);
  }
  const bad = (what: string) => new ModelError(`${file}: not a looped certificate: ${what}`);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('expected a JSON object');
  const o = v as Record<string, unknown>;
  if (o.format !== CERTIFICATE_FORMAT) throw bad(`"format" must be "${CERTIFICATE_FORMAT}", got ${JSON.stringify(o.format)}`);
  if (typeof o.construction !== 'string') throw bad('"construction" must be a string');
  if (typeof o.interpreter !== 'string') throw bad('"interpreter" must be a string');
  if (typeof o.params !== 'object' || o.params === null || Array.isArray(o.params) || !Object.values(o.params).every((x) => typeof x === 'string')) {
    throw bad('"params" must be an object of strings');
  }
  const m = o.model as Record<string, unknown> | undefined;
  if (typeof m !== 'object' || m === null || typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256) || typeof m.name !== 'string') {
    throw bad('"model" must be { name, sha256 } with a 64-digit hex sha256');
  }
  if (!['certified', 'refuted', 'unproved'].includes(String(o.verdict))) throw bad('"verdict" must be certified, refuted or unproved');
  if (!Array.isArray(o.obligations) || !o.obligations.every((x) => typeof x === 'object' && x !== null && typeof (x as ObligationTally).kind === 'string' && Number.isSafeInteger((x as ObligationTally).count))) {
    throw bad('"obligations" must be a list of { kind, count, minMargin }');
  }
  return o as unknown as Certificate;
}

/** Where a re-run differs from the certificate: null when it agrees. */
export function compareCertificate(cert: Certificate, model: Model, rerun: CertifyResult): string | null {
  const hash = modelHash(model);
  if (hash !== cert.model.sha256) return `the model's sha256 is ${hash}, but the certificate is for ${cert.model.sha256} (${cert.model.name}): a different model`;
  if (rerun.verdict !== cert.verdict) return `the certificate says ${cert.verdict}, but re-running its obligations gives ${rerun.verdict}`;
  for (const o of rerun.obligations) {
    const c = cert.obligations.find((x) => x.kind === o.kind);
    if (c === undefined) return `the certificate lists no ${o.kind} obligations; re-running gives ${o.count}`;
    if (c.count !== o.count) return `the certificate counts ${c.count} ${o.kind} obligations; re-running counts ${o.count}`;
    if ((c.minMargin ?? null) !== (o.minMargin ?? null)) return `the certificate's smallest ${o.kind} margin is ${c.minMargin}; re-running gives ${o.minMargin}`;
  }
  return null;
}
