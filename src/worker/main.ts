/**
 * A worker process from start to exit: connect and handshake, install the runtime, import the user's
 * script (its top level runs on every worker, like a Python module), then either run `main(argv)`
 * (origin) or serve tasks until the broker announces the end of the pool.
 */
import { existsSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";
import { ScoopError, ScriptError } from "../errors.js";
import { setCallbackErrorReporter } from "../futures/future.js";
import { setRuntime } from "../futures/runtime.js";
import { createLogger, type Logger } from "../log.js";
import { MessageType } from "../protocol/messages.js";
import type { WorkerConfig } from "./config.js";
import { BrokerConnection } from "./connection.js";
import { ReferenceRegistry, trackImports } from "./references.js";
import { WorkerRuntime } from "./runtime.js";
import { SerialRuntime } from "./serial-runtime.js";
import { installTelemetry } from "./telemetry.js";
import { installTracing, TRACE_DIR_VAR } from "./trace.js";
import { PROGRESS_REPORT_VAR } from "../observe/progress.js";
import { installProgressReports } from "../observe/progress-worker.js";

/** Exit codes: 0 success, 1 the user's code failed, 2 configuration or handshake problem. */
export const EXIT_OK = 0;
export const EXIT_USER_ERROR = 1;
export const EXIT_CONFIG = 2;

export interface WorkerInvocation {
  config: WorkerConfig;
  script: string;
  args: string[];
}

type ScriptModule = { main?: (argv: string[]) => unknown };

function scriptUrl(script: string): string {
  const path = resolvePath(script);
  if (!existsSync(path)) throw new ScriptError(`script not found: ${script}`);
  return pathToFileURL(path).href;
}

/** Prints what a user needs: the message for our own errors, the stack for theirs. */
export function formatFailure(err: unknown): string {
  if (err instanceof ScoopError && !(err.cause instanceof Error)) return err.message;
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return `uncaught value: ${String(err)}`;
}

async function importScript(url: string, registry: ReferenceRegistry): Promise<ScriptModule> {
  let mod: ScriptModule;
  try {
    mod = (await registry.loadModule(url)) as ScriptModule;
  } catch (err) {
    throw new ScriptError(`cannot load script ${url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, { cause: err });
  }
  await registry.settle();
  return mod;
}

/**
 * The script's `main`: a named export, else a member of a default-export object. A CommonJS script
 * (`module.exports = { main }`, or a `.ts` file of a CommonJS package scope, which tsx compiles to
 * CommonJS) may have no named exports at all: Node then gives its namespace only `default`, which is
 * `module.exports`.
 */
function mainOf(mod: ScriptModule): ((argv: string[]) => unknown) | undefined {
  if (typeof mod.main === "function") return (argv) => mod.main!(argv);
  const exports = (mod as { default?: unknown }).default;
  if (exports === null || typeof exports !== "object") return undefined;
  const holder = exports as ScriptModule;
  // Called as a method, as `require(script).main(argv)` would: CommonJS code may use `this`.
  return typeof holder.main === "function" ? (argv) => holder.main!(argv) : undefined;
}

async function runMain(mod: ScriptModule, url: string, args: string[], log: Logger): Promise<number> {
  const main = mainOf(mod);
  if (main === undefined) {
    log.error(`${url} has no exported main() function: add \`export async function main(argv: string[]) { … }\``);
    return EXIT_CONFIG;
  }
  try {
    await main(args);
    return EXIT_OK;
  } catch (err) {
    process.stderr.write(`${formatFailure(err)}\n`);
    return EXIT_USER_ERROR;
  }
}

/** Runs a worker to completion and returns its exit code. */
export async function runWorker({ config, script, args }: WorkerInvocation): Promise<number> {
  const log = createLogger(config.workerName, config.logLevel);
  setCallbackErrorReporter((err) => log.error("error in a future's done callback:", err));
  const url = scriptUrl(script);
  const registry = new ReferenceRegistry();
  await trackImports(registry);

  if (!config.brokerAddress || !config.metaAddress) {
    log.warn("BROKER_ADDRESS is not set: running the script serially in this process");
    setRuntime(new SerialRuntime(config.workerName, registry, log));
    const mod = await importScript(url, registry);
    return config.isOrigin ? runMain(mod, url, args, log) : EXIT_OK;
  }

  let runtime: WorkerRuntime | undefined;
  const connection = new BrokerConnection({
    brokerAddress: config.brokerAddress,
    metaAddress: config.metaAddress,
    connectTimeout: config.connectTimeout,
    logger: log,
    keys: config.keys,
    onBrokerLost: (reason) => {
      process.stderr.write(`scoop-worker ${config.workerName}: ${reason}; exiting\n`);
      runtime?.brokerLost(reason);
      void connection.close().finally(() => process.exit(EXIT_USER_ERROR));
    },
    hello: {
      name: config.workerName,
      brokerName: config.brokerName,
      origin: config.isOrigin,
      executes: config.executes,
    },
  });
  const welcome = await connection.open();
  log.debug(`connected to broker ${welcome.info.brokerName} as #${welcome.info.index}`);
  runtime = new WorkerRuntime({
    connection,
    welcome: welcome.info,
    constants: welcome.constants,
    registry,
    workerName: config.workerName,
    isOrigin: config.isOrigin,
    executes: config.executes,
    logger: log,
    prefetch: config.prefetch,
  });
  setRuntime(runtime);
  const traceDir = process.env[TRACE_DIR_VAR];
  if (traceDir) installTracing(runtime, traceDir);
  if (process.env[PROGRESS_REPORT_VAR] === "1") installProgressReports(runtime);
  // After tracing: the outermost executor hook is the one that receives a failed task's error.
  const stopTelemetry = runtime.observe ? installTelemetry(runtime) : undefined;
  const poolEnded = new Promise<number>((resolve) => runtime.onShutdown(resolve));

  const stopOnSignal = (signal: NodeJS.Signals) => {
    log.info(`${signal}: leaving the pool`);
    if (config.isOrigin) runtime.endPool(130);
    else connection.send([MessageType.Bye]);
    void runtime.close().then(() => process.exit(130));
  };
  process.once("SIGINT", stopOnSignal);
  process.once("SIGTERM", stopOnSignal);

  let code: number;
  try {
    // A worker that joined just as the pool ended has nothing to do: no need to load the script.
    if (!config.isOrigin && !runtime.isRunning) {
      await runtime.close();
      return EXIT_OK;
    }
    const mod = await importScript(url, registry);
    if (config.executes) runtime.startExecuting();
    if (config.isOrigin) {
      code = await runMain(mod, url, args, log);
      stopTelemetry?.();
      runtime.endPool(code);
    } else {
      await poolEnded;
      code = EXIT_OK;
    }
  } catch (err) {
    process.stderr.write(`${formatFailure(err)}\n`);
    code = err instanceof ScriptError ? EXIT_USER_ERROR : EXIT_CONFIG;
    if (config.isOrigin) runtime.endPool(code);
    else connection.send([MessageType.Bye]);
  }
  stopTelemetry?.();
  await runtime.close();
  return code;
}
