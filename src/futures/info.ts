/**
 * `scoop`: facts about the running pool, read from the current runtime.
 */
import type { Logger } from "../log.js";
import type { Runtime } from "./runtime.js";

/**
 * Facts about the pool this process belongs to, read live (they follow workers joining and leaving).
 *
 * ```ts
 * if (scoop.isOrigin) scoop.logger.info(`running on ${scoop.size} workers: ${scoop.hosts().join(", ")}`);
 * ```
 */
export interface ScoopInfo {
  /** True in the process that runs `main` (the origin); false in the other workers. */
  readonly isOrigin: boolean;
  /** True while the pool accepts tasks; false once it was shut down. */
  readonly isRunning: boolean;
  /** This worker's name (`WORKER_NAME`; `"origin"` by default). */
  readonly workerName: string;
  /** The name of the broker this worker is connected to (`BROKER_NAME`; `"broker"` by default). */
  readonly brokerName: string;
  /**
   * Number of workers executing tasks in the pool (the origin included when it executes tasks). A
   * worker counts once it joined; it loads the script after that, so it takes tasks a little later.
   */
  readonly size: number;
  /**
   * Levelled logger (`debug`, `info`, `warn`, `error`; threshold from `SCOOP_LOG_LEVEL`, default
   * `warn`) writing one line per record to stderr, each tagged with this worker's name.
   */
  readonly logger: Logger;
  /** The host of each worker executing tasks, one entry per worker. */
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
