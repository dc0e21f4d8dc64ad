/**
 * Pool: a pool started from inside any Node program. It runs an in-process broker, spawns local
 * worker processes, and connects this process to the broker as a submit-only client, so
 * `pool.futures.*` works as in a script launched with `scoop`. `close()` leaves no process behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isAbsolute, resolve as resolvePath } from "node:path";
import { Broker } from "../broker/broker.js";
import type { Observation } from "../observe/server.js";
import { ArgumentError, ScoopError, SerializationError } from "../errors.js";
import { createFuturesApi, type FuturesApi } from "../futures/api.js";
import { createScoopInfo, type ScoopInfo } from "../futures/info.js";
import { createSharedApi, type SharedApi } from "../futures/shared.js";
import { createLogger, defaultLogLevel, isLogLevel, type LogLevel } from "../log.js";
import type { FunctionRef } from "../protocol/envelope.js";
import { BrokerConnection } from "../worker/connection.js";
import { ReferenceRegistry } from "../worker/references.js";
import { WorkerRuntime, type FunctionRegistry } from "../worker/runtime.js";
import { installTelemetry } from "../worker/telemetry.js";

export interface PoolOptions {
  /** Worker processes to start. Default: the number of CPUs. */
  workers?: number;
  /**
   * Module the workers import to find your task functions (path or file URL). Default: this
   * program's entry script. Its top level runs in every worker: guard pool code with
   * `if (!Pool.isWorker)`, or keep task functions in their own module.
   */
  module?: string;
  /** Extra Node.js flags for the workers. */
  execArgv?: string[];
  /** Log level of the broker and workers. Default: SCOOP_LOG_LEVEL or "warn". */
  logLevel?: LogLevel;
  /** Milliseconds to wait for every worker to join. Default 30000. */
  startTimeout?: number;
  /** Serve the live web dashboard on this port (0: a free one); its address is `pool.dashboardUrl`. */
  dashboard?: number;
  /** Serve Prometheus metrics on this port (0: a free one) at `pool.metricsUrl`. */
  metrics?: number;
  /** Address the dashboard and metrics listen on. Default 127.0.0.1 (this machine only). */
  dashboardHost?: string;
}

const WORKER_ENV = "SCOOP_POOL_WORKER";
const workerCli = fileURLToPath(new URL("../cli/worker.js", import.meta.url));

type ObserveOptions = "dashboard" | "metrics" | "dashboardHost";

function checkPort(v: unknown, what: string): void {
  if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535)) {
    throw new ArgumentError(`Pool.start(): ${what} must be a port number from 0 (a free one) to 65535, got ${String(v)}`);
  }
}

function validate(o: PoolOptions): Required<Omit<PoolOptions, "module" | ObserveOptions>> & Pick<PoolOptions, ObserveOptions> & { module: string } {
  const workers = o.workers ?? availableParallelism();
  if (!Number.isInteger(workers) || workers < 1 || workers > 1024) {
    throw new ArgumentError(`Pool.start(): workers must be an integer from 1 to 1024, got ${String(o.workers)}`);
  }
  const logLevel = o.logLevel ?? defaultLogLevel();
  if (!isLogLevel(logLevel)) throw new ArgumentError(`Pool.start(): logLevel must be debug, info, warn, error or silent`);
  const startTimeout = o.startTimeout ?? 30_000;
  if (!(startTimeout > 0)) throw new ArgumentError("Pool.start(): startTimeout must be a positive number of milliseconds");
  const entry = o.module ?? process.argv[1];
  if (!entry) throw new ArgumentError("Pool.start(): no entry script to import in the workers: pass { module: import.meta.url }");
  const module = entry.startsWith("file:") ? entry : pathToFileURL(isAbsolute(entry) ? entry : resolvePath(entry)).href;
  if (o.execArgv !== undefined && !(Array.isArray(o.execArgv) && o.execArgv.every((a) => typeof a === "string"))) {
    throw new ArgumentError("Pool.start(): execArgv must be an array of strings");
  }
  checkPort(o.dashboard, "dashboard");
  checkPort(o.metrics, "metrics");
  if (o.dashboardHost !== undefined && (typeof o.dashboardHost !== "string" || o.dashboardHost.trim() === "")) {
    throw new ArgumentError("Pool.start(): dashboardHost must be a host name or address");
  }
  return {
    workers,
    logLevel,
    startTimeout,
    module,
    execArgv: o.execArgv ?? [],
    dashboard: o.dashboard,
    metrics: o.metrics,
    dashboardHost: o.dashboardHost,
  };
}

/**
 * Functions of the module that is still evaluating (the one awaiting Pool.start) cannot be indexed
 * from here: its namespace only exists once its top level finished. A named function not found
 * elsewhere is therefore sent as an export of the pool's module; the worker checks it exists there.
 */
class PoolFunctionRegistry extends ReferenceRegistry implements FunctionRegistry {
  constructor(private readonly defaultModule: string) {
    super();
  }

  override refOf(fn: Function): FunctionRef {
    try {
      return super.refOf(fn);
    } catch (err) {
      if (err instanceof SerializationError && typeof fn === "function" && /^[A-Za-z_$][\w$]*$/.test(fn.name) && !fn.name.startsWith("bound ")) {
        return { m: this.defaultModule, n: fn.name };
      }
      throw err;
    }
  }
}

export class Pool {
  /** True inside a worker process started by a Pool. */
  static readonly isWorker: boolean = process.env[WORKER_ENV] === "1";

  /** submit, map, mapReduce, … running on this pool's workers. */
  readonly futures: FuturesApi;
  /** Shared constants of this pool. */
  readonly shared: SharedApi;
  /** Facts about this pool. */
  readonly info: ScoopInfo;
  private closing: Promise<void> | undefined;
  private stopTelemetry: (() => void) | undefined;

  private constructor(
    private readonly broker: Broker,
    private readonly runtime: WorkerRuntime,
    private readonly children: ChildProcess[],
    private readonly observation: Observation | undefined,
  ) {
    const rt = () => runtime;
    this.futures = createFuturesApi(rt);
    this.shared = createSharedApi(rt);
    this.info = createScoopInfo(rt);
  }

  /** Starts a broker and `workers` local worker processes; resolves once all of them joined. */
  static async start(options: PoolOptions = {}): Promise<Pool> {
    if (Pool.isWorker) {
      throw new ScoopError(
        "ERR_SCOOP_POOL_IN_WORKER",
        "Pool.start() ran inside a pool worker: workers import your module to find its task functions. " +
          "Guard the pool code with `if (!Pool.isWorker)` or move the task functions to their own module.",
      );
    }
    const o = validate(options);
    const log = createLogger("pool", o.logLevel);
    let observation: Observation | undefined;
    if (o.dashboard !== undefined || o.metrics !== undefined) {
      const { Observation } = await import("../observe/server.js");
      const host = o.dashboardHost !== undefined ? { host: o.dashboardHost } : {};
      observation = await Observation.start({
        ...(o.dashboard !== undefined ? { dashboard: { port: o.dashboard, ...host } } : {}),
        ...(o.metrics !== undefined ? { metrics: { port: o.metrics, ...host } } : {}),
      });
    }
    let broker: Broker;
    try {
      broker = await Broker.start({
        name: `pool-${process.pid}`,
        inproc: true,
        logger: createLogger("pool broker", o.logLevel),
        ...(observation ? { observer: observation.observer } : {}),
      });
    } catch (err) {
      await observation?.close();
      throw err;
    }
    observation?.attach(broker);
    const children: ChildProcess[] = [];
    const joined = new Promise<void>((resolve, reject) => {
      let n = 0;
      broker.on("worker", () => {
        if (++n === o.workers + 1) resolve();
      });
      const timer = setTimeout(() => reject(new ScoopError("ERR_SCOOP_POOL_START", `Pool.start(): workers did not all join within ${o.startTimeout} ms`)), o.startTimeout);
      timer.unref();
    });
    for (let i = 1; i <= o.workers; i++) {
      const child = spawn(process.execPath, [...o.execArgv, workerCli, fileURLToPath(o.module)], {
        env: {
          ...process.env,
          [WORKER_ENV]: "1",
          IS_ORIGIN: "0",
          WORKER_NAME: `pool-worker-${i}`,
          BROKER_NAME: broker.name,
          BROKER_ADDRESS: broker.taskAddress,
          META_ADDRESS: broker.metaAddress,
          SCOOP_LOG_LEVEL: o.logLevel,
        },
        stdio: ["ignore", "inherit", "inherit"],
      });
      children.push(child);
    }
    const registry = new PoolFunctionRegistry(o.module);
    let runtime: WorkerRuntime | undefined;
    const connection = new BrokerConnection({
      brokerAddress: broker.taskAddress,
      metaAddress: broker.metaAddress,
      ...(broker.inprocAddresses ? { inproc: broker.inprocAddresses } : {}),
      connectTimeout: o.startTimeout,
      logger: log,
      onBrokerLost: (reason) => runtime?.brokerLost(reason),
      hello: {
          name: "pool-client",
        brokerName: broker.name,
        origin: true,
        executes: false,
      },
    });
    try {
      const welcome = await connection.open();
      runtime = new WorkerRuntime({
        connection,
        welcome: welcome.info,
        constants: welcome.constants,
        registry,
        workerName: "pool-client",
        isOrigin: true,
        executes: false,
        logger: log,
      });
      const pool = new Pool(broker, runtime, children, observation);
      if (runtime.observe) pool.stopTelemetry = installTelemetry(runtime);
      await joined;
      return pool;
    } catch (err) {
      for (const c of children) c.kill("SIGKILL");
      await connection.close();
      await observation?.close();
      await broker.close();
      throw err;
    }
  }

  /** Workers in the pool. */
  get size(): number {
    return this.runtime.size;
  }

  /** `http://127.0.0.1:PORT/`: the live dashboard, when started with `{ dashboard }`. */
  get dashboardUrl(): string | undefined {
    return this.observation?.dashboardUrl;
  }

  /** `http://127.0.0.1:PORT/metrics`: Prometheus metrics, when started with `{ metrics }`. */
  get metricsUrl(): string | undefined {
    return this.observation?.metricsUrl;
  }

  /** Ends the pool: workers exit, the broker closes. Resolves when no process of the pool is left. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopTelemetry?.();
      this.runtime.endPool(0);
      await this.runtime.close();
      await Promise.all(this.children.map((c) => waitForExit(c, 5000)));
      await this.observation?.close();
      await this.broker.close();
    })();
    return this.closing;
  }
}

function waitForExit(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
