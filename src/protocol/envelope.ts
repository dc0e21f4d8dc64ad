/**
 * What a task frame carries: the operation, the function reference(s) and the arguments, and what a
 * result frame carries: a status and the value or error. Plain data only; the value codec encodes it.
 */

/** How a function travels: module URL + export name, a well-known global, or closure-free source. */
export type FunctionRef = { m: string; n: string } | { g: string } | { s: string };

export const enum CallOp {
  /** fn(...args) */
  Call = 0,
  /** [fn(...args) for args of argLists]: one task carrying a chunk of a map. */
  Chunk = 1,
  /** reduce(map(...args) for args of argLists): a map chunk folded where it ran. */
  MapReduceChunk = 2,
  /** The inclusive prefix scan of a mapped chunk, computed where it ran. */
  ScanChunk = 3,
}

/**
 * `[op, fn, payload, reducer, unary]`. For chunk operations the payload is a list of argument tuples,
 * or, when `unary` is set, a flat list of single arguments (a one-iterable map: half the encoding work).
 */
export type Envelope = [CallOp, FunctionRef, unknown[], FunctionRef | null, boolean];

export const enum ResultStatus {
  Error = 0,
  Ok = 1,
}

export type ResultPayload = [ResultStatus.Ok, unknown] | [ResultStatus.Error, unknown];

/** A readable name for a function reference, for messages and traces. */
export function describeRef(ref: FunctionRef): string {
  if ("n" in ref) return ref.n;
  if ("g" in ref) return ref.g;
  const src = ref.s.replace(/\s+/g, " ");
  return src.length > 40 ? `${src.slice(0, 37)}...` : src;
}
