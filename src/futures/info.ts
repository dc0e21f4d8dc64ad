/**
 * `scoop`: facts about the running pool, read from the current runtime.
 */
import type { Logger } from "../log.js";
import type { Runtime } from "./runtime.js";

export interface ScoopInfo {
  /** True in the process that runs `main`. */
  readonly isOrigin: boolean;
  /** True while the pool accepts tasks. */
  readonly isRunning: boolean;
  readonly workerName: string;
  readonly brokerName: string;
  /** Workers executing tasks in the pool. */
  readonly size: number;
  /** Levelled logger whose lines carry this worker's name. */
  readonly logger: Logger;
  /** Host of each worker in the pool. */
  hosts(): string[];
}

export function createScoopInfo(runtime: () => Runtime): ScoopInfo {
  return {
    get isOrigin() {
      return runtime().isOrigin;
    },
    get isRunning() {
      return runtime().isRunning;
    },
    get workerName() {
      return runtime().workerName;
    },
    get brokerName() {
      return runtime().brokerName;
    },
    get size() {
      return runtime().size;
    },
    get logger() {
      return runtime().logger;
    },
    hosts: () => runtime().hosts(),
  };
}
