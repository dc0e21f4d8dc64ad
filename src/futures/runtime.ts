/**
 * The seam between the user API and whatever executes tasks: a worker connected to a broker, an
 * embedding program's pool client, or the in-process serial fallback. The API only talks to this.
 */
import type { Logger } from "../log.js";
import type { CallOp } from "../protocol/envelope.js";
import type { Future } from "./future.js";

export interface Runtime {
  readonly isOrigin: boolean;
  readonly workerName: string;
  readonly brokerName: string;
  /** Workers that execute tasks in the pool. */
  readonly size: number;
  readonly isRunning: boolean;
  readonly logger: Logger;
  hosts(): string[];
  /**
   * Sends one call. Throws SerializationError synchronously when the function or an argument cannot
   * travel. `extra` is the reducer of a map-reduce or scan chunk; `unary` marks a chunk payload of
   * single arguments rather than argument tuples.
   */
  submit<R>(op: CallOp, fn: Function, payload: unknown[], extra?: Function, unary?: boolean): Future<R>;
  setConst(values: Record<string, unknown>): Promise<void>;
  getConst(name: string, timeout?: number): Promise<unknown>;
  /** Ends the pool (origin / embedding program only). */
  shutdown(wait: boolean): Promise<void>;
}

/**
 * The process-wide slot lives on globalThis under a registered symbol: a user script may reach this
 * package through another path (a symlink, its own node_modules) and load a second copy of this
 * module, and both copies must talk to the one runtime the worker started.
 */
const SLOT = Symbol.for("scoop.runtime");
const FALLBACK = Symbol.for("scoop.runtime.fallback");
type Slots = { [SLOT]?: Runtime; [FALLBACK]?: () => Runtime };
const slots = globalThis as unknown as Slots;

/** Installs the runtime that the module-level `futures`, `shared` and `scoop` objects use. */
export function setRuntime(rt: Runtime | undefined): void {
  slots[SLOT] = rt;
}

/** How to build a runtime when a script uses the API outside any pool (serial, in-process). */
export function setFallbackRuntimeFactory(factory: () => Runtime): void {
  slots[FALLBACK] ??= factory;
}

export function getRuntime(): Runtime {
  let rt = slots[SLOT];
  if (!rt) {
    const factory = slots[FALLBACK];
    if (!factory) throw new Error("scoop: no runtime available");
    rt = slots[SLOT] = factory();
  }
  return rt;
}

export function peekRuntime(): Runtime | undefined {
  return slots[SLOT];
}
