/**
 * `shared`: write-once constants broadcast to every worker, present and future.
 */
import { ArgumentError } from "../errors.js";
import { checkTimeout } from "./future.js";
import type { Runtime } from "./runtime.js";

/** Options of {@link SharedApi.getConst}. */
export interface GetConstOptions {
  /** Milliseconds to wait for the constant to be set; then the promise rejects with TimeoutError. Default: no limit. */
  timeout?: number;
}

/** The `shared` object: write-once constants shared with every worker of the pool. */
export interface SharedApi {
  /**
   * Defines constants on every worker of the pool, present and future (a worker that joins later
   * receives every constant set so far). Values follow the rules of task arguments (functions by
   * reference included). Resolves once the broker holds them; a name defined before — by this or by
   * another worker — rejects with ConstantError and defines nothing.
   *
   * ```ts
   * await shared.setConst({ table: new Map([[1, "one"]]), scale: 2.5 });
   * ```
   */
  setConst(values: Record<string, unknown>): Promise<void>;
  /**
   * The value of a constant, waiting for some worker to set it; with `{ timeout }` it rejects with
   * TimeoutError when it is still unset after that many milliseconds.
   *
   * ```ts
   * const table = await shared.getConst<Map<number, string>>("table", { timeout: 5000 });
   * ```
   */
  getConst<T = unknown>(name: string, options?: GetConstOptions): Promise<T>;
}

export function createSharedApi(runtime: () => Runtime): SharedApi {
  return {
    async setConst(values) {
      if (values === null || typeof values !== "object" || Array.isArray(values)) {
        throw new ArgumentError("setConst() takes an object of name: value pairs");
      }
      if (Object.keys(values).length === 0) return;
      await runtime().setConst(values);
    },
    getConst(name, options = {}) {
      if (typeof name !== "string" || name.length === 0) throw new ArgumentError("getConst() takes a constant name");
      checkTimeout(options.timeout, "getConst()");
      return runtime().getConst(name, options.timeout) as Promise<never>;
    },
  };
}
