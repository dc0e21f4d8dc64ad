/**
 * scoop: Scalable COncurrent Operations in TypeScript.
 *
 * ```ts
 * import { futures } from "scoop";
 * export async function main() {
 *   const squares = await futures.map(square, [1, 2, 3]);
 * }
 * ```
 */
import { createFuturesApi } from "./futures/api.js";
import { createScoopInfo } from "./futures/info.js";
import { getRuntime, setFallbackRuntimeFactory } from "./futures/runtime.js";
import { createSharedApi } from "./futures/shared.js";
import { createLogger, defaultLogLevel } from "./log.js";
import { SerialRuntime } from "./worker/serial-runtime.js";

setFallbackRuntimeFactory(() => {
  const logger = createLogger("origin", defaultLogLevel());
  logger.warn("no pool is running: tasks run serially in this process (start with `npx scoop` or Pool.start())");
  return new SerialRuntime("origin", undefined, logger);
});

/** Submit tasks and collect their results: submit, map, mapReduce, asCompleted, wait, … */
export const futures = createFuturesApi(getRuntime);
/** Write-once constants shared with every worker. */
export const shared = createSharedApi(getRuntime);
/** Facts about the running pool: isOrigin, workerName, size, hosts(), logger, … */
export const scoop = createScoopInfo(getRuntime);

export { Future, isFuture, type CompletedFuture, type WaitOptions } from "./futures/future.js";
export {
  MapResult,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  ALL_COMPLETED,
  type AnyIterable,
  type AsCompletedOptions,
  type ChunkOptions,
  type FuturesApi,
  type IterablesOf,
  type MapOptions,
  type MapReduceOptions,
  type MapScanOptions,
  type Result,
  type ReturnWhen,
  type ShutdownOptions,
  type WaitCallOptions,
  type WaitResult,
} from "./futures/api.js";
export type { SharedApi, GetConstOptions } from "./futures/shared.js";
export type { ScoopInfo } from "./futures/info.js";
export type { Logger, LogLevel } from "./log.js";
export * from "./errors.js";
export { Pool, type PoolOptions } from "./launcher/pool.js";
