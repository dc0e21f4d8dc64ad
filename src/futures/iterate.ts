/**
 * Zips sync and async iterables lazily, like Python's zip: stops at the shortest, pulls one tuple at
 * a time so unbounded inputs stay unbounded, and stays synchronous when every input is.
 */
import { ArgumentError } from "../errors.js";

export type AnyIterable<T> = Iterable<T> | AsyncIterable<T>;

export interface TupleSource {
  /** True when every input is synchronous: then `next()` never returns a promise. */
  readonly sync: boolean;
  /** Next argument tuple, or undefined at the end. A promise only when some input is async. */
  next(): unknown[] | undefined | Promise<unknown[] | undefined>;
  /**
   * With one synchronous input only: its next `n` values as they are (no tuples), fewer only at
   * the end. A chunk of a plain array is one slice.
   */
  takeValues?(n: number): unknown[];
  close(): void;
}

export function isIterable(v: unknown): v is AnyIterable<unknown> {
  return (
    v !== null &&
    v !== undefined &&
    typeof v !== "string" &&
    (typeof (v as Iterable<unknown>)[Symbol.iterator] === "function" ||
      typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function")
  );
}

export function zipSource(call: string, iterables: unknown[]): TupleSource {
  if (iterables.length === 0) throw new ArgumentError(`${call}() needs at least one iterable of arguments`);
  const its = iterables.map((it, i) => {
    if (!isIterable(it)) {
      throw new ArgumentError(`${call}(): argument ${i + 2} is not iterable (got ${it === null ? "null" : typeof it})`);
    }
    const asyncIt = (it as AsyncIterable<unknown>)[Symbol.asyncIterator];
    return typeof asyncIt === "function"
      ? { async: true, it: asyncIt.call(it) as AsyncIterator<unknown> }
      : { async: false, it: (it as Iterable<unknown>)[Symbol.iterator]() as Iterator<unknown> };
  });
  let finished = false;
  const close = () => {
    if (finished) return;
    finished = true;
    for (const { it } of its) {
      // Lets a generator run its `finally`; an error there must not become an unhandled rejection.
      try {
        const r = it.return?.();
        if (r && typeof (r as Promise<unknown>).then === "function") (r as Promise<unknown>).then(undefined, () => {});
      } catch {
        // the input is abandoned anyway
      }
    }
  };
  if (its.length === 1 && !its[0]!.async) return singleSource(iterables[0] as Iterable<unknown>, its[0]!.it as Iterator<unknown>, close);
  if (its.every((x) => !x.async)) {
    const sync = its.map((x) => x.it as Iterator<unknown>);
    return {
      sync: true,
      next() {
        if (finished) return undefined;
        const tuple = new Array<unknown>(sync.length);
        for (let i = 0; i < sync.length; i++) {
          const r = sync[i]!.next();
          if (r.done) {
            close();
            return undefined;
          }
          tuple[i] = r.value;
        }
        return tuple;
      },
      close,
    };
  }
  return {
    sync: false,
    async next() {
      if (finished) return undefined;
      // Left to right, stopping at the first exhausted input, as Python's zip: the inputs after it
      // lose no element.
      const tuple = new Array<unknown>(its.length);
      for (let i = 0; i < its.length; i++) {
        const r = await its[i]!.it.next();
        if (finished) return undefined;
        if (r.done) {
          close();
          return undefined;
        }
        tuple[i] = r.value;
      }
      return tuple;
    },
    close,
  };
}

/** One synchronous input: tuples of one, or plain values by the chunk (a slice when it is an array). */
function singleSource(input: Iterable<unknown>, it: Iterator<unknown>, close: () => void): TupleSource {
  let finished = false;
  const end = () => {
    finished = true;
    close();
  };
  // A plain array iterated the standard way reads each index when it gets there: slicing at the
  // same moment sees the same elements.
  const array = Array.isArray(input) && input[Symbol.iterator] === Array.prototype[Symbol.iterator] ? (input as unknown[]) : undefined;
  let at = 0;
  return {
    sync: true,
    next() {
      if (finished) return undefined;
      if (array) {
        if (at >= array.length) return end(), undefined;
        return [array[at++]];
      }
      const r = it.next();
      if (r.done) return end(), undefined;
      return [r.value];
    },
    takeValues(n) {
      if (finished) return [];
      if (array) {
        const out = array.slice(at, at + n);
        at += out.length;
        if (out.length < n) end();
        return out;
      }
      const out: unknown[] = [];
      while (out.length < n) {
        const r = it.next();
        if (r.done) {
          end();
          break;
        }
        out.push(r.value);
      }
      return out;
    },
    close: () => {
      finished = true;
      close();
    },
  };
}
