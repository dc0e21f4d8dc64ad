/**
 * A small levelled logger writing one line per record to stderr, tagged with the process's role/name,
 * so that interleaved output of many workers stays attributable.
 */
import { format } from "node:util";

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  readonly level: LogLevel;
}

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

export function isLogLevel(v: string): v is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(v);
}

/** Level from SCOOP_LOG_LEVEL when valid, else the fallback. */
export function defaultLogLevel(fallback: LogLevel = "warn"): LogLevel {
  const v = process.env.SCOOP_LOG_LEVEL;
  return v && isLogLevel(v) ? v : fallback;
}

export function createLogger(tag: string, level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const min = rank[level];
  const emit = (lvl: LogLevel, args: unknown[]) => {
    if (rank[lvl] < min) return;
    write(`[${new Date().toISOString()}] ${lvl.toUpperCase().padEnd(5)} ${tag}: ${format(...args)}\n`);
  };
  return {
    level,
    debug: (...a) => emit("debug", a),
    info: (...a) => emit("info", a),
    warn: (...a) => emit("warn", a),
    error: (...a) => emit("error", a),
  };
}
