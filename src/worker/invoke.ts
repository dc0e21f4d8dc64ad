/**
 * Runs one decoded call: a single call, a map chunk, a map chunk folded with a reducer, or a map
 * chunk's prefix scan. Returns the value directly when everything was synchronous, so the common case
 * costs no promise.
 */
import { CallOp } from "../protocol/envelope.js";

type AnyFn = (...args: unknown[]) => unknown;

export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === "object" || typeof v === "function") && typeof (v as { then?: unknown }).then === "function";
}

export function invoke(op: CallOp, fn: AnyFn, payload: unknown[], reduceFn: AnyFn | undefined, unary: boolean): unknown {
  switch (op) {
    case CallOp.Call:
      return fn(...payload);
    case CallOp.Chunk:
      return mapChunk(fn, payload, unary);
    case CallOp.MapReduceChunk: {
      const mapped = mapChunk(fn, payload, unary);
      return isThenable(mapped) ? Promise.resolve(mapped).then((vs) => fold(reduceFn!, vs)) : fold(reduceFn!, mapped);
    }
    case CallOp.ScanChunk: {
      const mapped = mapChunk(fn, payload, unary);
      return isThenable(mapped) ? Promise.resolve(mapped).then((vs) => scan(reduceFn!, vs)) : scan(reduceFn!, mapped);
    }
    default:
      throw new TypeError(`unknown call operation ${String(op)}`);
  }
}

function mapChunk(fn: AnyFn, payload: unknown[], unary: boolean): unknown[] | Promise<unknown[]> {
  const n = payload.length;
  const out = new Array<unknown>(n);
  let async = false;
  if (unary) {
    for (let i = 0; i < n; i++) {
      const r = fn(payload[i]);
      if (!async && isThenable(r)) async = true;
      out[i] = r;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const r = fn(...(payload[i] as unknown[]));
      if (!async && isThenable(r)) async = true;
      out[i] = r;
    }
  }
  return async ? Promise.all(out) : out;
}

/** Left fold of a non-empty list; an async reducer is awaited step by step. */
function fold(reduceFn: AnyFn, values: unknown[]): unknown {
  let acc: unknown = values[0];
  for (let i = 1; i < values.length; i++) {
    if (isThenable(acc)) {
      const rest = values.slice(i);
      return Promise.resolve(acc).then((a) => fold(reduceFn, [a, ...rest]));
    }
    acc = reduceFn(acc, values[i]);
  }
  return acc;
}

/** Inclusive prefix scan of a non-empty list. */
async function scanAsync(reduceFn: AnyFn, values: unknown[], from: number, out: unknown[]): Promise<unknown[]> {
  for (let i = from; i < values.length; i++) out[i] = await reduceFn(out[i - 1], values[i]);
  return out;
}

function scan(reduceFn: AnyFn, values: unknown[]): unknown[] | Promise<unknown[]> {
  const out = new Array<unknown>(values.length);
  if (values.length === 0) return out;
  out[0] = values[0];
  for (let i = 1; i < values.length; i++) {
    const r = reduceFn(out[i - 1], values[i]);
    if (isThenable(r)) {
      return Promise.resolve(r).then((v) => {
        out[i] = v;
        return scanAsync(reduceFn, values, i + 1, out);
      });
    }
    out[i] = r;
  }
  return out;
}
