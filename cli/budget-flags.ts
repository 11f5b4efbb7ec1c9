// --max-memory and --max-work apply to every command, so they are taken off the argument list
// before the command parses its own flags, and set the budgets of simulators/budget.ts.
import { parseBytes, parseCount, setMemoryBudget, setWorkBudget } from '../simulators/budget.ts';
import { UsageError } from '../simulators/errors.ts';

export function budgetFlags(argv: string[]): string[] {
  const rest: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const m = /^--(max-memory|max-work)(?:=(.*))?$/.exec(arg);
    if (!m) {
      rest.push(arg);
      continue;
    }
    const flag = `--${m[1]}`;
    if (seen.has(flag)) throw new UsageError(`${flag} is given twice; give it once`);
    seen.add(flag);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value, like ${flag === '--max-memory' ? '4G' : '1e12'}`);
    if (flag === '--max-memory') setMemoryBudget(parseBytes(value, flag));
    else setWorkBudget(parseCount(value, flag));
  }
  return rest;
}
