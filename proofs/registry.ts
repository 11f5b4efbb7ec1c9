// The catalogue of constructions that the CLI and the tests read. A construction module exports
// its Construction; adding it to the list below is what registers it (the order is the order
// `looped list` prints). Construction modules never import this file; examples/subleq.ts imports the
// public entry point, which re-exports this file, and calls nothing of it at load, so that cycle is harmless.
import { UsageError } from '../common/errors.ts';
import { cotAutomatonTask } from './cot-tasks/automaton.ts';
import { cotCircuitTask } from './cot-tasks/circuit.ts';
import { cotPHopTask } from './cot-tasks/p-hop.ts';
import { cotTaskConstruction } from './cot-tasks/task.ts';
import { type Construction, lowerHint } from './construction.ts';
import { activity } from '../simulators/activity.ts';
import { requireMemory, withMemoryScope } from '../simulators/budget.ts';
import { lemmaB6Argmax } from './gadgets/argmax.ts';
import { lemmaB11Comparator } from './gadgets/comparator.ts';
import { lemmaB7DecodeEmbed } from './gadgets/decode-embed.ts';
import { lemmaB8Gate } from './gadgets/gate.ts';
import { lemmaB10Increment } from './gadgets/increment.ts';
import { lemmaB4 } from './gadgets/lemma-b4.ts';
import { lemmaB9Shift } from './gadgets/shift.ts';
import { pHopDirect } from './p-hop/direct.ts';
import { pHop } from './p-hop/looped.ts';
import { cor53Compiled } from './compositions/cor-5-3-compiled.ts';
import { groupComposition } from './thm-5-1-group-composition.ts';
import { naryAddition } from './n-ary-addition.ts';
import { thm52 } from './thm-5-2-loop-one-layer.ts';
import { thm54 } from './thm-5-4-cot-loops.ts';
import { subleq } from '../examples/subleq.ts';

const constructions: Construction[] = [
  // gadgets and theorems are listed here
  lemmaB4,
  lemmaB9Shift,
  lemmaB6Argmax,
  lemmaB7DecodeEmbed,
  lemmaB8Gate,
  lemmaB10Increment,
  lemmaB11Comparator,
  groupComposition,
  naryAddition,
  pHopDirect,
  pHop,
  thm52,
  cor53Compiled,
  thm54,
  cotTaskConstruction(cotAutomatonTask),
  cotTaskConstruction(cotPHopTask),
  cotTaskConstruction(cotCircuitTask),
  subleq,
];

/**
 * The catalogue as the CLI and the tests see it: every build is checked against the memory budget
 * first by the construction's own estimate (where it has one), then by charging each weight matrix
 * before it is allocated (simulators/budget.ts), so a refusal names the parameters to lower.
 */
function budgeted(c: Construction): Construction {
  return {
    ...c,
    build(params) {
      const lower = lowerHint(c, params);
      activity(`building ${c.id}`);
      const e = c.estimate?.(params);
      if (e) requireMemory(e.bytes, `${c.id} (${e.what})`, lower);
      return withMemoryScope(`building ${c.id}`, lower, () => c.build(params));
    },
  };
}
const catalogue: Construction[] = constructions.map(budgeted);

export function allConstructions(): readonly Construction[] {
  return catalogue;
}

/**
 * Constructions loaded from users' files for this process (`looped verify ./mine.ts`), by the
 * argument that named them; constructionById finds them under it. Not listed by allConstructions.
 */
const loaded = new Map<string, Construction>();

export function registerConstruction(key: string, c: Construction): Construction {
  const b = budgeted(c);
  loaded.set(key, b);
  return b;
}

export function constructionById(id: string): Construction {
  const fromFile = loaded.get(id);
  if (fromFile !== undefined) return fromFile;
  const c = catalogue.find((x) => x.id === id);
  if (c === undefined) {
    throw new UsageError(`unknown construction "${id}"; known: ${constructions.map((x) => x.id).join(', ') || '(none yet)'}`);
  }
  return c;
}
