// Per-loop masks M^t(i) (Def. B.3/B.4) as mathjs expressions in i, t, T and len: checked as a whole
// before they are compiled (they come from files), compiled once, and evaluated into a row of
// booleans for a loop. simulators/model.ts re-exports checkMask, maskRow and MAX_MASK_LENGTH.
import { type EvalFunction, type MathNode, isConstantNode, isFunctionNode, isSymbolNode, parse as parseExpression, typeOf } from 'mathjs';
import { ModelError } from '../common/errors.ts';
import type { Mask } from './model.ts';
import { CONTROL_CHARACTER } from './strict-json.ts';

// A mask comes from a file, so it is checked as a whole before it is compiled: mathjs would
// otherwise accept assignments (`f(x) = x`, whose value is a function), property access
// (`process.exit(7)`, an "Undefined symbol" at run time with no location) and names that are not
// the mask's scope. Only numbers, true/false, i t T len, operators, comparisons, ?: and the
// numeric functions below are allowed, so nothing a mask says can reach anything but arithmetic.
const MASK_SCOPE = ['i', 't', 'T', 'len'];
const MASK_FUNCTIONS = ['abs', 'ceil', 'floor', 'round', 'fix', 'sign', 'sqrt', 'cbrt', 'exp', 'log', 'log2', 'log10', 'min', 'max', 'mod', 'pow', 'gcd', 'lcm', 'isPrime', 'isInteger', 'isZero', 'isPositive', 'isNegative'];
const MASK_NODES = new Set(['ConstantNode', 'SymbolNode', 'OperatorNode', 'ParenthesisNode', 'ConditionalNode', 'RelationalNode', 'FunctionNode']);
/** Longest mask text and deepest bracket nesting accepted (mathjs parses recursively). */
export const MAX_MASK_LENGTH = 1000;
const MAX_MASK_NESTING = 32;
const ALLOWED = `a mask may use numbers, true/false, ${MASK_SCOPE.join(' ')}, operators, comparisons, ?: and the functions ${MASK_FUNCTIONS.join(', ')}`;

const maskCache = new Map<string, EvalFunction>();

/** The first line of an error from mathjs, shortened: its messages may hold source code. */
const firstLine = (e: unknown): string => {
  const text = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
};

const shortExpr = (expr: string) => JSON.stringify(expr.length > 60 ? `${expr.slice(0, 60)}…` : expr);

/** Checks a mask expression and compiles it; a ModelError names `where` and says what is wrong, in one line. */
function compileMask(mask: Mask, where: string): EvalFunction {
  let fn = maskCache.get(mask.expr);
  if (fn !== undefined) return fn;
  const expr = mask.expr;
  const bad = (why: string): never => {
    throw new ModelError(`${where}: mask ${shortExpr(expr)} ${why}`);
  };
  if (typeof expr !== 'string') bad('is not a string');
  if (expr.length > MAX_MASK_LENGTH) bad(`is ${expr.length} characters long, over the limit of ${MAX_MASK_LENGTH}`);
  if (CONTROL_CHARACTER.test(expr)) bad('holds a control character');
  let depth = 0;
  for (const c of expr) {
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    if (depth > MAX_MASK_NESTING) bad(`nests brackets more than ${MAX_MASK_NESTING} deep`);
  }
  let node: MathNode;
  try {
    node = parseExpression(expr);
  } catch (e) {
    return bad(`is not a valid expression: ${firstLine(e)}`);
  }
  // Walk the tree with a stack of our own (no recursion), refusing anything outside the grammar.
  const stack: MathNode[] = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    const show = () => JSON.stringify(n.toString().slice(0, 40));
    if (!MASK_NODES.has(n.type)) {
      const what: Record<string, string> = {
        FunctionAssignmentNode: 'defines a function',
        AssignmentNode: 'assigns a variable',
        AccessorNode: 'reads a property',
        IndexNode: 'indexes a value',
        BlockNode: 'holds several statements',
        ArrayNode: 'builds a matrix',
        ObjectNode: 'builds an object',
        RangeNode: 'builds a range',
      };
      bad(`${what[n.type] ?? `uses ${n.type}`} (${show()}); ${ALLOWED}`);
    }
    if (isConstantNode(n) && typeof n.value !== 'number' && typeof n.value !== 'boolean') bad(`holds the constant ${show()}, which is not a number or true/false; ${ALLOWED}`);
    if (isFunctionNode(n)) {
      const name = isSymbolNode(n.fn) ? n.fn.name : undefined;
      if (name === undefined || !MASK_FUNCTIONS.includes(name)) bad(`calls ${JSON.stringify(n.fn.toString().slice(0, 40))}, which is not a mask function; ${ALLOWED}`);
      for (const a of n.args) stack.push(a);
      continue; // the function's own name is not a variable
    }
    if (isSymbolNode(n) && !MASK_SCOPE.includes(n.name)) bad(`uses "${n.name}", which is not defined; ${ALLOWED}`);
    n.forEach((child: MathNode) => void stack.push(child));
  }
  try {
    fn = node.compile();
  } catch (e) {
    return bad(`is not a valid expression: ${firstLine(e)}`);
  }
  maskCache.set(expr, fn);
  return fn;
}

/** Checks a mask as a model file's reader and writers do; a ModelError names `where` (a stage, a field). */
export function checkMask(mask: Mask, where: string): void {
  compileMask(mask, where);
}

/** The 0/1 mask of one loop over all positions: true where the position is recomputed. */
export function maskRow(mask: Mask | null, t: number, loops: number, len: number, where = 'mask'): boolean[] {
  if (mask === null) return new Array<boolean>(len).fill(true);
  const fn = compileMask(mask, where);
  const row: boolean[] = [];
  for (let i = 0; i < len; i++) {
    let v: unknown;
    try {
      v = fn.evaluate({ i, t, T: loops, len });
    } catch (e) {
      throw new ModelError(`${where}: mask ${shortExpr(mask.expr)} cannot be evaluated at i=${i}, t=${t}: ${firstLine(e)}`);
    }
    if (typeof v === 'boolean') row.push(v);
    else if (typeof v === 'number' && (v === 0 || v === 1)) row.push(v === 1);
    else {
      const got = typeof v === 'number' ? String(v) : `a ${typeOf(v)}`;
      throw new ModelError(`${where}: mask ${shortExpr(mask.expr)} gave ${got} at i=${i}, t=${t}; it must be true/false or 0/1`);
    }
  }
  return row;
}

