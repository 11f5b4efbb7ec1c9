// Weight matrices between named spaces. Values are stored as doubles (fast for the float
// interpreters) with an exact rational kept beside any entry that a double cannot hold, so exact
// constructions and model files with entries like "1/3" lose nothing.
import { type Rational, type Scalar, exactFromDouble, isExactAsDouble, rationalToNumber, toRational } from './rational.ts';
import { activity } from './activity.ts';
import { chargeMemory } from './budget.ts';
import { type Selector, type Space, labeledSpace } from './space.ts';

/** A block to write between two subspaces: a matrix, `identity(c)`, or a function of (row, col). */
export type Block = readonly (readonly Scalar[])[] | IdentityBlock | ((row: number, col: number) => Scalar);
export interface IdentityBlock {
  readonly identity: Scalar;
}
export const identity = (scale: Scalar = 1): IdentityBlock => ({ identity: scale });

/** One nonzero entry of a sparse row. */
export interface Entry {
  readonly col: number;
  readonly value: number;
  readonly exact: Rational;
}

export class LabeledMatrix {
  readonly data: Float64Array;
  /** Exact values of the entries a double cannot represent, by flat index. */
  readonly inexact = new Map<number, Rational>();
  private sparseRows: Entry[][] | null = null;

  constructor(
    /** Where the matrix sits, for error messages: "layer 0, head 'src1', W_Q". */
    public readonly name: string,
    public readonly rows: Space,
    public readonly cols: Space,
  ) {
    // Charged before it is allocated, so a model too big for the memory budget is refused here
    // with its name and shape instead of exhausting the heap (simulators/budget.ts).
    chargeMemory(8 * rows.dim * cols.dim, `${name} (${rows.dim.toLocaleString('en-US')} × ${cols.dim.toLocaleString('en-US')})`);
    this.data = new Float64Array(rows.dim * cols.dim);
  }

  get shape(): [number, number] {
    return [this.rows.dim, this.cols.dim];
  }

  /** Sets one entry by flat row and column indices (used by loaders; builders use write/set). */
  setAt(r: number, c: number, value: Scalar): this {
    if (r < 0 || r >= this.rows.dim || c < 0 || c >= this.cols.dim) {
      throw new Error(`${this.name}: entry (${r}, ${c}) is outside its ${this.rows.dim}×${this.cols.dim} shape`);
    }
    const k = r * this.cols.dim + c;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) {
        throw new Error(`${this.name}: entry (${this.rows.labels[r]}, ${this.cols.labels[c]}) is ${value}; weights must be finite`);
      }
      this.data[k] = value;
      this.inexact.delete(k);
    } else {
      const exact = toRational(value);
      this.data[k] = rationalToNumber(exact);
      if (isExactAsDouble(exact)) this.inexact.delete(k);
      else this.inexact.set(k, exact);
    }
    this.sparseRows = null;
    return this;
  }

  /** Sets the single entry between two directions: `set("pos[2]", "ptr[0]", 1)`. */
  set(row: Selector, col: Selector, value: Scalar): this {
    const r = this.rows.range(row);
    const c = this.cols.range(col);
    if (r.size !== 1 || c.size !== 1) {
      throw new Error(`${this.name}: set() takes single directions, got ${r.what} (${r.size}) and ${c.what} (${c.size}); use write() for blocks`);
    }
    return this.setAt(r.offset, c.offset, value);
  }

  /** Adds to one entry (exactly). */
  add(row: Selector, col: Selector, value: Scalar): this {
    const r = this.rows.range(row).offset;
    const c = this.cols.range(col).offset;
    return this.setAt(r, c, this.exactAt(r, c).add(toRational(value)));
  }

  /** Writes a block from one subspace (rows) to another (columns): `W.write("pos", "src", identity())`. */
  write(from: Selector, to: Selector, block: Block): this {
    const r = this.rows.range(from);
    const c = this.cols.range(to);
    if (typeof block === 'function') {
      for (let i = 0; i < r.size; i++) for (let j = 0; j < c.size; j++) this.setAt(r.offset + i, c.offset + j, block(i, j));
    } else if ('identity' in block) {
      if (r.size !== c.size) {
        throw new Error(`${this.name}: identity from "${r.what}" (${r.size}) to "${c.what}" (${c.size}) needs equal sizes`);
      }
      for (let i = 0; i < r.size; i++) this.setAt(r.offset + i, c.offset + i, block.identity);
    } else {
      const cols = block[0]?.length ?? 0;
      if (block.length !== r.size || block.some((row) => row.length !== c.size)) {
        throw new Error(
          `${this.name}: block for "${r.what}" → "${c.what}" is ${block.length}×${cols} but the subspaces are ${r.size}×${c.size}`,
        );
      }
      block.forEach((row, i) => row.forEach((v, j) => this.setAt(r.offset + i, c.offset + j, v)));
    }
    return this;
  }

  get(r: number, c: number): number {
    return this.data[r * this.cols.dim + c];
  }

  exactAt(r: number, c: number): Rational {
    const k = r * this.cols.dim + c;
    return this.inexact.get(k) ?? exactFromDouble(this.data[k]);
  }

  /** Nonzero entries of each row, computed once: the constructions are very sparse. */
  rowsSparse(): Entry[][] {
    if (this.sparseRows === null) {
      const out: Entry[][] = [];
      const nc = this.cols.dim;
      const step = Math.max(1, Math.floor(2 ** 20 / Math.max(1, nc))); // rows per million entries
      for (let r = 0; r < this.rows.dim; r++) {
        // A matrix of millions of entries takes seconds to read: say so on the progress line.
        if (r % step === 0 && this.rows.dim * nc > 1 << 22) activity(() => `${this.name}: reading its nonzeros, row ${r} of ${this.rows.dim}`);
        const row: Entry[] = [];
        for (let c = 0; c < nc; c++) {
          const k = r * nc + c;
          const v = this.data[k];
          const ex = this.inexact.get(k);
          if (v !== 0 || ex !== undefined) row.push({ col: c, value: v, exact: ex ?? exactFromDouble(v) });
        }
        out.push(row);
      }
      this.sparseRows = out;
    }
    return this.sparseRows;
  }

  nonzeroCount(): number {
    return this.rowsSparse().reduce((s, row) => s + row.length, 0);
  }

  /** True when every entry is exactly a double (no rational was rounded to store it). */
  isDyadic(): boolean {
    return this.inexact.size === 0;
  }

  clone(name = this.name): LabeledMatrix {
    const m = new LabeledMatrix(name, this.rows, this.cols);
    m.data.set(this.data);
    for (const [k, v] of this.inexact) m.inexact.set(k, v);
    return m;
  }
}

const BIAS_ROW = labeledSpace('bias', ['bias']);

/** A bias vector over a named space: a one-row matrix, so it shares storage and checks. */
export class LabeledVector {
  readonly matrix: LabeledMatrix;
  constructor(name: string, space: Space) {
    this.matrix = new LabeledMatrix(name, BIAS_ROW, space);
  }
  get space(): Space {
    return this.matrix.cols;
  }
  get name(): string {
    return this.matrix.name;
  }
  get dim(): number {
    return this.matrix.cols.dim;
  }
  set(at: Selector, value: Scalar): this {
    this.matrix.set('bias', at, value);
    return this;
  }
  /** Writes the same value, or one value per direction, into a subspace. */
  write(at: Selector, values: Scalar | readonly Scalar[]): this {
    const { size } = this.space.range(at);
    const row = Array.isArray(values) ? (values as readonly Scalar[]) : Array.from({ length: size }, () => values as Scalar);
    this.matrix.write('bias', at, [row]);
    return this;
  }
  get(i: number): number {
    return this.matrix.get(0, i);
  }
  exactAt(i: number): Rational {
    return this.matrix.exactAt(0, i);
  }
  setAt(i: number, value: Scalar): this {
    this.matrix.setAt(0, i, value);
    return this;
  }
  clone(name = this.name): LabeledVector {
    const v = new LabeledVector(name, this.space);
    v.matrix.data.set(this.matrix.data);
    for (const [k, x] of this.matrix.inexact) v.matrix.inexact.set(k, x);
    return v;
  }
}
