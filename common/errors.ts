// Error classes by cause, so the CLI can map each to its exit code and message without a stack. A
// leaf module (it imports nothing) in common/, so every layer can throw them: tasks/, which knows
// nothing of transformers, as well as simulators/, proofs/ and cli/.

/** A model that is malformed: a wrong shape, a bad field, a weight that is not finite. */
export class ModelError extends Error {
  override name = 'ModelError';
}

/** An input the model cannot take: a token outside the vocabulary, a sequence that is too long. */
export class InputError extends Error {
  override name = 'InputError';
}

/** An interpreter asked to do what its number system cannot represent (softmax in exact rationals). */
export class UnsupportedError extends Error {
  override name = 'UnsupportedError';
}

/** Arithmetic that has no value in the number system (a softmax whose denominator rounded to 0). */
export class NumericError extends Error {
  override name = 'NumericError';
}

/** A bad command-line argument or parameter value. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Work that cannot fit: a model, a run or a sweep whose estimated memory or arithmetic is over the
 * budget (simulators/budget.ts). Raised before the work starts, never after it has filled memory.
 */
export class ResourceError extends Error {
  override name = 'ResourceError';
}
