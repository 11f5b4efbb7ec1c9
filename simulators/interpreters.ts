// Interpreters by name, as the CLI and the properties ask for them:
//   exact | fixed:<s> | float64 | float32   the generic interpreter over a number system
//   fast64 | fast32                         the batched typed-array CPU path (simulators/fast)
//   gpu[:backend]                           the gpu.js interpreter (gpu/)
// Paths other than the generic one register themselves here so this module stays dependency-free.
import { exact } from './arithmetic/exact.ts';
import { fixedPoint } from './arithmetic/fixed.ts';
import { float32, float64 } from './arithmetic/float.ts';
import type { NumberSystem } from './arithmetic/number-system.ts';
import { UsageError } from '../common/errors.ts';
import { forward } from './forward.ts';
import type { Interpreter } from './result.ts';

export function generic<T>(ns: NumberSystem<T>): Interpreter {
  return {
    name: ns.name,
    run: (model, tokens, options) => forward(ns, model, tokens, options),
    runBatch: (model, inputs) => inputs.map((tokens) => forward(ns, model, tokens)),
  };
}

type Factory = (arg: string | undefined) => Interpreter;
const factories = new Map<string, { make: Factory; describe: string }>();

export function registerInterpreter(prefix: string, describe: string, make: Factory): void {
  factories.set(prefix, { make, describe });
}

registerInterpreter('exact', 'exact rationals (mathjs Fraction), hard attention only', () => generic(exact));
registerInterpreter('fixed', "the paper's fixed point F_s: fixed:<s>, s from 1 to 26", (arg) => {
  if (arg === undefined || !/^\d+$/.test(arg)) throw new UsageError(`fixed needs a number of bits, as in fixed:8 (got "${arg ?? ''}")`);
  return generic(fixedPoint(Number(arg)));
});
registerInterpreter('float64', 'IEEE double precision, stable softmax', () => generic(float64));
registerInterpreter('float32', 'single precision, every operation rounded', () => generic(float32));

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
