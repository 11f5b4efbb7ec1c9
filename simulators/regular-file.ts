// Reading a file the user names (a model file, a group's or an automaton's table), bounded:
// only a regular file is read — it is opened non-blocking and checked with fstat before any
// read, so a FIFO is refused instead of waiting for a writer and /dev/zero instead of being read
// forever — and at most modelFileLimit() bytes (1/8 of the memory budget, raised with
// --max-memory); a file that grows past the limit while it is read stops at the limit.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { formatBytes } from './budget.ts';
import { ResourceError, UsageError } from '../common/errors.ts';
import { modelFileLimit, modelFileLimitText } from './model-limits.ts';

/** Why a file could not be read, with the reason alone (`reason`) for callers that word their own message. */
export class FileReadError extends UsageError {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

/**
 * The bytes of the regular file at `path`; `name` is how errors call it ("model file m.json").
 * Unreadable or not a regular file: FileReadError; over the limit: ResourceError.
 */
export function readRegularFile(path: string, name: string): Uint8Array {
  const limit = modelFileLimit();
  const cannot = (e: unknown) => {
    const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return new FileReadError(`cannot read ${name}: ${reason}`, reason);
  };
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw cannot(e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const kind = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'not a file';
      throw new FileReadError(`${name} is ${kind}, not a regular file`, `it is ${kind}, not a regular file`);
    }
    const over = (size: string) => new ResourceError(`${name} is ${size}, over ${modelFileLimitText()}`);
    if (st.size > limit) throw over(formatBytes(st.size));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(st.size - total, 0) + 65536, limit + 1 - total));
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (e) {
        throw cannot(e);
      }
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > limit) throw over(`more than ${formatBytes(limit)} (it grew while it was read)`);
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/**
 * A table file (table:<file.json> of a group or an automaton) as UTF-8 text, read as above; the
 * task's parser words the message ("cannot read group table file …: <reason>"), so only the
 * reason is thrown on.
 */
export function readTableText(path: string): string {
  const name = `table file ${path}`;
  let bytes: Uint8Array;
  try {
    bytes = readRegularFile(path, name);
  } catch (e) {
    if (e instanceof FileReadError) throw new Error(e.reason);
    if (e instanceof ResourceError && e.message.startsWith(`${name} `)) throw new ResourceError(`it ${e.message.slice(name.length + 1)}`);
    throw e;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error('it is not valid UTF-8');
  }
}
