// The public entry point: `import { … } from 'looped'`. What an author of a construction needs —
// named subspaces and labelled matrices; heads, MLPs, layers, stages, masks and readouts; the
// interpreters and number systems; the construction contract; verify, counterexample search and
// sweeps as functions returning the objects the CLI prints; model files and safetensors — and
// nothing else. Every other module of the repository is internal: its names may change without
// notice. interpreterByName knows every interpreter (exact, fixed:<s>, float64, float32, fast64,
// fast32, gpu[:backend]): simulators/interpreters.ts registers them all where it defines the registry.

// ── Named subspaces and labelled matrices ────────────────────────────────────────────────────
export { Space, type Subspace, type SubspaceSpec, type Selector, space, labeledSpace } from './simulators/space.ts';
export { LabeledMatrix, type LabeledVector, type Block, type IdentityBlock, type Entry, identity } from './simulators/matrix.ts';

// ── The model: heads, MLPs, layers, stages (block × loops), masks, readouts ───────────────────
export {
  type Model,
  type ModelSpec,
  type Head,
  type HeadSpec,
  type Mlp,
  type MlpSpec,
  type Layer,
  type Stage,
  type Mask,
  type AttentionKind,
  type ReadoutMode,
  type PromptPadding,
  type ModelSizes,
  createModel,
  createHead,
  createMlp,
  createLayer,
  addStage,
  paddedInput,
  validateModel,
  checkMask,
  modelSizes,
  withLoops,
  withAttention,
  unroll,
} from './simulators/model.ts';

// ── Interpreters and number systems ──────────────────────────────────────────────────────────
export { interpreterByName, knownInterpreters, registerInterpreter, generic } from './simulators/interpreters.ts';
export type { Interpreter, RunResult, RunOptions, Readout, Margins, AttentionSite } from './simulators/result.ts';
export type { NumberSystem } from './simulators/arithmetic/number-system.ts';
export { exact } from './simulators/arithmetic/exact.ts';
export { fixedPoint, MIN_BITS, MAX_BITS } from './simulators/arithmetic/fixed.ts';
export { float64, float32 } from './simulators/arithmetic/float.ts';
export { type Rational, type Scalar, toRational, parseRational, rationalToNumber, formatRational } from './simulators/rational.ts';
export { type Snapshot, Trace } from './simulators/trace.ts';
export { type CotResult, decodeCot } from './simulators/cot.ts';

// ── The construction contract ────────────────────────────────────────────────────────────────
export {
  type Construction,
  type BuiltConstruction,
  type InterpreterCheck,
  type ClaimedSizes,
  type SizeKey,
  type SizeRow,
  type ParamSpec,
  type IntParamSpec,
  type ChoiceParamSpec,
  type RationalParamSpec,
  type TextParamSpec,
  type ParamValues,
  type ParamValueOf,
  type Params,
  type ParamValue,
  type Lockstep,
  type Weakening,
  type WordSpace,
  type VerifySetting,
  type CotRoute,
  resolveParams,
  defineConstruction,
  defineParams,
  paramValues,
  readParam,
  orAuto,
  compareSizes,
  wordCount,
  allWords,
} from './proofs/construction.ts';
export { sbin, decodeSbin, bitsFor } from './proofs/codes.ts';
// Lemma B.8's building piece, relu(v + g) − relu(−v + g): a signal through a gate (examples/subleq.ts's write and branch).
export { type GatedPassSpec, writeGatedPass } from './proofs/gadgets/gate.ts';
// Random inputs are fast-check arbitraries; this is the fast-check the verifier runs them with.
export { default as fc } from 'fast-check';
export { allConstructions, constructionById } from './proofs/registry.ts';
// The SUBLEQ reference interpreter (tasks/subleq.ts), for examples/subleq.ts, which may import only this module.
export { type SubleqInput, type SubleqState, type Instruction as SubleqInstruction, checkInput as checkSubleqInput, rounds as subleqRounds, run as runSubleq, valueRange as subleqValueRange } from './tasks/subleq.ts';

// ── Verify, counterexamples, sweeps ──────────────────────────────────────────────────────────
export { type VerifyReport, type CheckReport, type VerifyOptions, type Counterexample, verifyConstruction, verifyAll } from './properties/verify.ts';
export { type SearchOptions, type SearchResult, searchCounterexample, fewestPassingBits, smallestPassingScale } from './properties/counterexample.ts';
export { type SweepOptions, type SweepReport, sweepConstruction } from './properties/sweep.ts';

// ── Certify: a proof for every input (docs/certify.md) ──────────────────────────────────────
export type { Abstraction, LocalRule, RoundsProof } from './certify/abstraction.ts';
export { type CertifyOptions, certify } from './certify/certify.ts';
export type { CertifyResult, Verdict, ObligationKind, ObligationTally, Failure, Configuration } from './certify/report.ts';
export { type Certificate, CERTIFICATE_FORMAT, makeCertificate, parseCertificate, compareCertificate, modelHash } from './certify/certificate.ts';

// ── Model files and safetensors ──────────────────────────────────────────────────────────────
export { type ModelJson, MODEL_FORMAT, modelToJson, saveModel, loadModel } from './simulators/model-file.ts';
export { modelToSafetensors, loadSafetensors, parseSafetensors, writeSafetensors } from './simulators/safetensors.ts';

// Inputs: bound the nesting of JSON text before parsing it (what comes after JSON.parse recurses).
export { assertJsonDepth, MAX_JSON_DEPTH } from './common/json-depth.ts';
// …and read a JSON array of tokens, numbers or elements, naming the position and why on error.
export { type JsonArrayOptions, parseJsonArray, tokenItem, intItem } from './proofs/input-parsing.ts';
export { loopsParamSpec, scaleParamSpec, MAX_LOOPS_PARAM } from './proofs/param-readers.ts';

// ── Errors, by cause ─────────────────────────────────────────────────────────────────────────
export { ModelError, InputError, UnsupportedError, NumericError, UsageError, ResourceError } from './common/errors.ts';
export { setMemoryBudget, setWorkBudget } from './simulators/budget.ts';
