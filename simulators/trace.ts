// Residual snapshots keyed the way TransformerLens names activations, with the loop in front:
//   hook_embed                              after the embedding
//   loop3.blocks.0.hook_resid_mid           after the attention of layer 0 in loop 3
//   loop3.blocks.0.hook_resid_post          after the MLP of layer 0 in loop 3
//   loop3.hook_resid_masked                 after the loop's mask blend (masked stages only)
//   loop3.blocks.0.attn.src1.hook_pattern   attention weights of head 'src1' (query × key)
// Loops are counted from 1 over the whole model, stage after stage, so (4 ⊗ 1,4,1) has loops 1–6.
import type { Space } from './space.ts';

export interface Snapshot {
  key: string;
  /** values[position][direction] as doubles. */
  values: number[][];
  /** Exact values where the interpreter has them. */
  exact?: string[][];
}

export class Trace {
  readonly snapshots = new Map<string, Snapshot>();
  readonly patterns = new Map<string, number[][]>();

  constructor(readonly residual: Space) {}

  keys(): string[] {
    return [...this.snapshots.keys()];
  }

  get(key: string): Snapshot {
    const s = this.snapshots.get(key);
    if (s === undefined) {
      const some = this.keys().slice(0, 6).join(', ');
      throw new Error(`no trace entry "${key}" (entries look like: ${some}, …)`);
    }
    return s;
  }

  /** The values of one subspace at one position: `trace.read("loop2.blocks.0.hook_resid_post", "g", 5)`. */
  read(key: string, subspace: string, position: number): number[] {
    const snap = this.get(key);
    const row = snap.values[position];
    if (row === undefined) throw new Error(`trace "${key}" has no position ${position} (length ${snap.values.length})`);
    const { offset, size } = this.residual.range(subspace);
    return row.slice(offset, offset + size);
  }

  /** The exact values (rational strings) of one subspace at one position, as read() gives the doubles; null where the interpreter has none (float runs). */
  readExact(key: string, subspace: string, position: number): string[] | null {
    const snap = this.get(key);
    if (snap.exact === undefined) return null;
    const row = snap.exact[position];
    if (row === undefined) throw new Error(`trace "${key}" has no position ${position} (length ${snap.exact.length})`);
    const { offset, size } = this.residual.range(subspace);
    return row.slice(offset, offset + size);
  }

  /** The residual after the last layer of loop t (after its mask, if any). */
  afterLoop(t: number): Snapshot {
    const masked = this.snapshots.get(`loop${t}.hook_resid_masked`);
    if (masked) return masked;
    let last: Snapshot | undefined;
    for (const [k, s] of this.snapshots) if (k.startsWith(`loop${t}.blocks.`) && k.endsWith('hook_resid_post')) last = s;
    if (last === undefined) throw new Error(`trace has no loop ${t}`);
    return last;
  }
}
