/**
 * A worker's configuration from the seed's environment variables, overridden by flags of the same
 * meaning. Every value is validated here so a mistake is one line and exit code 2.
 */
import { ConfigError } from "../errors.js";
import { isLogLevel, type LogLevel } from "../log.js";
import { parseEndpoint } from "../protocol/address.js";
import { keysFromEnv, readKeyFile, type PoolKeys } from "../transport/curve.js";

export interface WorkerConfig {
  isOrigin: boolean;
  workerName: string;
  brokerName: string;
  brokerAddress: string | undefined;
  metaAddress: string | undefined;
  logLevel: LogLevel;
  /** Milliseconds to wait for the broker's WELCOME before giving up. */
  connectTimeout: number;
  /** false: this worker only submits (an origin that keeps its core for main). */
  executes: boolean;
  /** Tasks to keep at hand; undefined = adaptive (about 4 ms of measured work). */
  prefetch: number | undefined;
  /** CurveZMQ keys (SCOOP_KEY / SCOOP_KEY_FILE / --key-file), when the pool runs with them. */
  keys: PoolKeys | undefined;
}

/** Flag values as commander hands them over (all optional strings). */
export interface WorkerFlags {
  isOrigin?: string;
  workerName?: string;
  brokerName?: string;
  brokerAddress?: string;
  metaAddress?: string;
  logLevel?: string;
  connectTimeout?: string;
  execute?: string;
  prefetch?: string;
  keyFile?: string;
}

function pick(flag: string | undefined, env: string | undefined): { value: string | undefined; from: "flag" | "env" } {
  return flag !== undefined ? { value: flag, from: "flag" } : { value: env, from: "env" };
}

function label(from: "flag" | "env", envName: string, flagName: string): string {
  return from === "flag" ? `--${flagName}` : envName;
}

function parseName(value: string, setting: string): string {
  if (value.length === 0 || value.length > 255 || /[\s\x00-\x1f]/.test(value)) {
    throw new ConfigError(`${setting}="${value}" is not a valid name: use 1-255 characters without spaces`);
  }
  return value;
}

export function parseWorkerConfig(flags: WorkerFlags, env: NodeJS.ProcessEnv): WorkerConfig {
  const origin = pick(flags.isOrigin, env.IS_ORIGIN);
  let isOrigin = true;
  if (origin.value !== undefined) {
    if (origin.value !== "0" && origin.value !== "1") {
      throw new ConfigError(`${label(origin.from, "IS_ORIGIN", "is-origin")}="${origin.value}" must be 1 or 0`);
    }
    isOrigin = origin.value === "1";
  }
  const wn = pick(flags.workerName, env.WORKER_NAME);
  const bn = pick(flags.brokerName, env.BROKER_NAME);
  const ba = pick(flags.brokerAddress, env.BROKER_ADDRESS);
  const ma = pick(flags.metaAddress, env.META_ADDRESS);
  const workerName = wn.value === undefined ? "origin" : parseName(wn.value, label(wn.from, "WORKER_NAME", "worker-name"));
  const brokerName = bn.value === undefined ? "broker" : parseName(bn.value, label(bn.from, "BROKER_NAME", "broker-name"));
  const brokerAddress =
    ba.value === undefined || ba.value === "" ? undefined : parseEndpoint(ba.value, label(ba.from, "BROKER_ADDRESS", "broker-address"));
  const metaAddress =
    ma.value === undefined || ma.value === "" ? undefined : parseEndpoint(ma.value, label(ma.from, "META_ADDRESS", "meta-address"));
  if (brokerAddress && !metaAddress) {
    throw new ConfigError("META_ADDRESS is required when BROKER_ADDRESS is set (the broker's meta socket, e.g. tcp://127.0.0.1:5556)");
  }
  if (metaAddress && !brokerAddress) {
    throw new ConfigError("BROKER_ADDRESS is required when META_ADDRESS is set (the broker's task socket, e.g. tcp://127.0.0.1:5555)");
  }
  const ll = pick(flags.logLevel, env.SCOOP_LOG_LEVEL);
  if (ll.value !== undefined && !isLogLevel(ll.value)) {
    throw new ConfigError(`${label(ll.from, "SCOOP_LOG_LEVEL", "log-level")}="${ll.value}" must be one of debug, info, warn, error, silent`);
  }
  const ct = pick(flags.connectTimeout, env.SCOOP_CONNECT_TIMEOUT);
  let connectTimeout = 60_000;
  if (ct.value !== undefined) {
    const n = Number(ct.value);
    if (!Number.isFinite(n) || n <= 0) {
      throw new ConfigError(`${label(ct.from, "SCOOP_CONNECT_TIMEOUT", "connect-timeout")}="${ct.value}" must be a positive number of milliseconds`);
    }
    connectTimeout = n;
  }
  const ex = pick(flags.execute, env.SCOOP_EXECUTE);
  if (ex.value !== undefined && ex.value !== "0" && ex.value !== "1") {
    throw new ConfigError(`${label(ex.from, "SCOOP_EXECUTE", "execute")}="${ex.value}" must be 1 or 0`);
  }
  const pf = pick(flags.prefetch, env.SCOOP_PREFETCH);
  let prefetch: number | undefined;
  if (pf.value !== undefined) {
    prefetch = Number(pf.value);
    if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > 1_000_000) {
      throw new ConfigError(`${label(pf.from, "SCOOP_PREFETCH", "prefetch")}="${pf.value}" must be an integer from 1 to 1000000`);
    }
  }
  const keys = flags.keyFile !== undefined ? readKeyFile(flags.keyFile) : keysFromEnv(env);
  return {
    keys,
    prefetch,
    executes: ex.value !== "0",
    isOrigin,
    workerName,
    brokerName,
    brokerAddress,
    metaAddress,
    logLevel: (ll.value as LogLevel | undefined) ?? "warn",
    connectTimeout,
  };
}
