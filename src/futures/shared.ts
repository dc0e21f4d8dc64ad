/**
 * `shared`: write-once constants broadcast to every worker, present and future.
 */
import { ArgumentError } from "../errors.js";
import { checkTimeout } from "./future.js";
import type { Runtime } from "./runtime.js";

export interface SharedApi {
  /**
   * Defines constants on every worker. Settles once the broker holds them; redefining a name rejects
   * with ConstantError.
   */
  setConst(values: Record<string, unknown>): Promise<void>;
  /** The value of a constant, waiting up to `timeout` ms for some worker to set it. */
  getConst<T = unknown>(name: string, options?: { timeout?: number }): Promise<T>;
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
