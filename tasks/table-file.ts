// The first step of reading a user's table (a group's Cayley table, an automaton's transitions):
// JSON text or an already parsed value, which must be a JSON object. Each reader has its own error
// class; `fail` throws it, so messages keep the reader's prefix and the file name.

/** The object in `json` (text or parsed); anything else goes to `fail` with `shape`, the expected form. */
export function tableObject(json: unknown, fail: (message: string) => never, shape: string): Record<string, unknown> {
  let data: unknown = json;
  if (typeof json === 'string') {
    try {
      data = JSON.parse(json);
    } catch (e) {
      fail(`not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail(shape);
  return data as Record<string, unknown>;
}
