#!/usr/bin/env node
/**
 * scoop-broker: the broker of a manually launched pool. Prints its two addresses, then routes tasks
 * until the origin ends the pool or it receives SIGINT/SIGTERM.
 */
import { Broker } from "../broker/broker.js";
import { ConfigError } from "../errors.js";
import { createLogger, isLogLevel, type LogLevel } from "../log.js";
import { keysFromEnv, readKeyFile } from "../transport/curve.js";
import { createProgram, runCli } from "./common.js";

function parsePort(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${flag} "${v}" is not a port number (0-65535)`);
  return n;
}

function positiveInt(v: string | undefined, what: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${what} "${v}" must be an integer >= ${min}`);
  return n;
}

void runCli("scoop-broker", async () => {
  const program = createProgram("scoop-broker")
    .description("Run a SCOOP broker: a task socket (ROUTER) and a meta socket (PUB).")
    .option("--tPort <port>", "task socket port (default: a free port, printed on start)")
    .option("--mPort <port>", "meta socket port (default: a free port, printed on start)")
    .option("--name <name>", "broker name that workers give in BROKER_NAME", "broker")
    .option("--host <address>", "bind address; 0.0.0.0 to accept remote workers", "127.0.0.1")
    .option("-v, --verbose", "log joins, departures and shutdown (info)")
    .option("-q, --quiet", "log errors only")
    .option("--log-level <level>", "debug|info|warn|error|silent (env SCOOP_LOG_LEVEL)")
    .option("--heartbeat-interval <ms>", "heartbeat period (env SCOOP_HEARTBEAT_INTERVAL, default 1000)")
    .option("--heartbeat-timeout <ms>", "silence after which a worker is dropped and its tasks requeued (env SCOOP_HEARTBEAT_TIMEOUT, default 10000)")
    .option("--max-task-retries <n>", "requeues of a task whose workers were lost before it fails with WorkerLostError (env SCOOP_MAX_TASK_RETRIES, default 3)")
    .option("--key-file <path>", "CurveZMQ key file (env SCOOP_KEY_FILE; `npx scoop keygen DIR` makes one): encrypt and admit only key holders; required with a non-loopback --host")
    .option("--max-message-size <bytes>", "largest accepted message (env SCOOP_MAX_MESSAGE_SIZE, default 1073741824)");
  program.parse(process.argv);
  const o = program.opts<{
    tPort?: string;
    mPort?: string;
    name: string;
    host: string;
    verbose?: boolean;
    quiet?: boolean;
    logLevel?: string;
    heartbeatInterval?: string;
    heartbeatTimeout?: string;
    maxTaskRetries?: string;
    maxMessageSize?: string;
    keyFile?: string;
  }>();
  const keys = o.keyFile !== undefined ? readKeyFile(o.keyFile) : keysFromEnv(process.env);
  const heartbeatInterval = positiveInt(o.heartbeatInterval ?? process.env.SCOOP_HEARTBEAT_INTERVAL, "heartbeat interval", 1);
  const heartbeatTimeout = positiveInt(o.heartbeatTimeout ?? process.env.SCOOP_HEARTBEAT_TIMEOUT, "heartbeat timeout", 1);
  const maxTaskRetries = positiveInt(o.maxTaskRetries ?? process.env.SCOOP_MAX_TASK_RETRIES, "max task retries", 0);
  const maxMessageSize = positiveInt(o.maxMessageSize ?? process.env.SCOOP_MAX_MESSAGE_SIZE, "max message size", 1024);
  const taskPort = parsePort(o.tPort, "--tPort");
  const metaPort = parsePort(o.mPort, "--mPort");
  if (!o.name || /\s/.test(o.name)) throw new ConfigError(`--name "${o.name}" is not a valid broker name`);
  const levelFlag = o.logLevel ?? process.env.SCOOP_LOG_LEVEL;
  if (levelFlag !== undefined && !isLogLevel(levelFlag)) throw new ConfigError(`log level "${levelFlag}" must be one of debug, info, warn, error, silent`);
  const level: LogLevel = (levelFlag as LogLevel | undefined) ?? (o.verbose ? "info" : o.quiet ? "error" : "warn");
  const logger = createLogger(`broker ${o.name}`, level);
  let broker: Broker;
  try {
    broker = await Broker.start({ name: o.name, host: o.host, taskPort, metaPort, logger, heartbeatInterval, heartbeatTimeout, maxTaskRetries, maxMessageSize, keys });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot bind ${o.host} (tPort ${o.tPort ?? "auto"}, mPort ${o.mPort ?? "auto"}): ${(err as Error).message}`);
  }
  process.stdout.write(`BROKER_ADDRESS=${broker.taskAddress}\nMETA_ADDRESS=${broker.metaAddress}\n`);
  return new Promise<number>((resolve) => {
    const stop = async () => {
      broker.shutdown(0);
      await broker.close();
      resolve(0);
    };
    broker.once("shutdown", () => void stop());
    process.once("SIGINT", () => void stop());
    process.once("SIGTERM", () => void stop());
  });
});
