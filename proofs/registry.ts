// The catalogue of constructions that the CLI and the tests read. A construction module exports
// its Construction; adding it to the list below is what registers it (the order is the order
// `looped list` prints). Construction modules never import this file, so there are no cycles.
import { UsageError } from '../simulators/errors.ts';
import type { Construction } from './construction.ts';
import { lemmaB4 } from './gadgets/lemma-b4.ts';
import { lemmaB9Shift } from './gadgets/shift.ts';
import { pHopDirect } from './p-hop/direct.ts';
import { pHopLooped } from './p-hop/looped.ts';
import { groupComposition } from './thm-5-1-group-composition.ts';

const constructions: Construction[] = [
  // gadgets and theorems are listed here
  lemmaB4 as Construction,
  lemmaB9Shift as Construction,
  groupComposition as Construction,
  pHopDirect as Construction,
  pHopLooped as Construction,
];

export function allConstructions(): readonly Construction[] {
  return constructions;
}

export function constructionById(id: string): Construction {
  const c = constructions.find((x) => x.id === id);
  if (c === undefined) {
    throw new UsageError(`unknown construction "${id}"; known: ${constructions.map((x) => x.id).join(', ') || '(none yet)'}`);
  }
  return c;
}
