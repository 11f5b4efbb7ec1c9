// Interpreters by name, as the CLI, the properties and library users ask for them:
//   exact | fixed:<s> | float64 | float32   the generic interpreter over a number system
//   fast64 | fast32                         the batched typed-array CPU path (simulators/fast)
//   gpu[:backend]                           the gpu.js interpreter (gpu/)
// Every one is registered here, where the registry is defined, so interpreterByName works for any
// importer of this module or of the public entry point. The fast and gpu paths export their
// entries (fastEntries, gpuEntry) and import nothing from here, so there is no import cycle; gpu.js
// itself is loaded by a GpuInterpreter's first run, not by loading this module.
import { exact } from './arithmetic/exact.ts';
import { fixedPoint } from './arithmetic/fixed.ts';
import { float32, float64 } from './arithmetic/float.ts';
import type { NumberSystem } from './arithmetic/number-system.ts';
import { UsageError } from '../common/errors.ts';
import { forward } from './forward.ts';
import { fastEntries } from './fast/index.ts';
import { gpuEntry } from '../gpu/index.ts';
import type { Interpreter, InterpreterEntry } from './result.ts';

export function generic<T>(ns: NumberSystem<T>): Interpreter {
  return {
    name: ns.name,
    run: (model, tokens, options) => forward(ns, model, tokens, options),
    runBatch: (model, inputs) => inputs.map((tokens) => forward(ns, model, tokens)),
  };
}

type Factory = InterpreterEntry['make'];
const factories = new Map<string, { make: Factory; describe: string }>();

/** Adds (or replaces) the interpreter `prefix` / `prefix:<arg>`; for interpreters of one's own. */
export function registerInterpreter(prefix: string, describe: string, make: Factory): void {
  factories.set(prefix, { make, describe });
}

const builtIn: readonly InterpreterEntry[] = [
  { name: 'exact', describe: 'exact rationals (mathjs Fraction), hard attention only', make: () => generic(exact) },
  {
    name: 'fixed',
    describe: "the paper's fixed point F_s: fixed:<s>, s from 1 to 26",
    make: (arg) => {
      if (arg === undefined || !/^\d+$/.test(arg)) throw new UsageError(`fixed needs a number of bits, as in fixed:8 (got "${arg ?? ''}")`);
      return generic(fixedPoint(Number(arg)));
    },
  },
  { name: 'float64', describe: 'IEEE double precision, stable softmax', make: () => generic(float64) },
  { name: 'float32', describe: 'single precision, every operation rounded', make: () => generic(float32) },
  ...fastEntries,
  gpuEntry,
];
for (const e of builtIn) registerInterpreter(e.name, e.describe, (arg) => e.make(arg));

/** "exact", "fixed:8", "float32", … → the interpreter; an unknown name is a UsageError listing the known ones. */
export function interpreterByName(name: string): Interpreter {
  const [prefix, arg] = name.includes(':') ? [name.slice(0, name.indexOf(':')), name.slice(name.indexOf(':') + 1)] : [name, undefined];
  const f = factories.get(prefix);
  if (f === undefined) {
    throw new UsageError(`unknown interpreter "${name}"; known: ${knownInterpreters().map((k) => k.name).join(', ')}`);
  }
  return f.make(arg);
}

export function knownInterpreters(): { name: string; describe: string }[] {
  return [...factories].map(([name, f]) => ({ name: name === 'fixed' ? 'fixed:<s>' : name, describe: f.describe }));
}
