/**
 * The launcher's options: what `scoop [options] script [args…]` accepts, validated into a
 * {@link LaunchOptions}. Every mistake is a ConfigError with one line naming the option, so the CLI
 * prints it and exits 2 (never a stack trace).
 */
import { existsSync, statSync } from "node:fs";
import { ConfigError } from "../errors.js";
import { quoteValue } from "./hosts/hostfile.js";

/** Verbosity: -1 quiet (-q), 0 default, 1 (-v), 2 (-vv), 3 (-vvv). */
export type Verbosity = -1 | 0 | 1 | 2 | 3;

/** When to draw the live progress line. */
export type ProgressMode = "off" | "auto" | "always";

export interface LaunchOptions {
  /** The user's script, as given (resolved against `cwd`). */
  script: string;
  /** Arguments for `main(argv)`. */
  args: string[];
  /** `-n`: total number of workers, origin included. Default: see detectHosts. */
  workers?: number;
  /** `--hosts`: one entry per mention. */
  hosts?: string[];
  /** `--hostfile`. */
  hostfile?: string;
  /** `--path`: working directory of remote workers. Default: `cwd`. */
  path?: string;
  /** `--node`: Node.js binary of the workers. Default: this one (remote: this path, else `node`). */
  node?: string;
  /** `--node-options`: extra Node.js flags of the workers. */
  nodeOptions: string[];
  /** `--prolog`: shell script sourced on remote hosts before their workers start. */
  prolog?: string;
  /** `--ssh-executable`, split into words. Default ["ssh"]. */
  ssh: string[];
  /** `--tunnel`: remote workers reach the broker through ssh reverse tunnels. */
  tunnel: boolean;
  /** `--external-hostname`: the address remote workers use to reach the broker. */
  externalHostname?: string;
  /** `--nice`: niceness of every worker. */
  nice?: number;
  verbosity: Verbosity;
  /** `--log`: write the launcher's log to this file instead of stderr. */
  logFile?: string;
  /** `--debug`: directory for per-worker task traces (JSON lines). */
  debugDir?: string;
  /** `--profile`: directory for per-worker V8 CPU profiles. */
  profileDir?: string;
  progress: ProgressMode;
  /** `--dashboard [PORT]`: serve the live web dashboard (`fallback`: another port when that one is taken). */
  dashboard?: { port: number; fallback: boolean };
  /** `--dashboard-host`: bind address of the dashboard and metrics servers. Default 127.0.0.1. */
  dashboardHost?: string;
  /** `--metrics PORT`: serve Prometheus metrics. */
  metricsPort?: number;
  /** Environment to read scheduler variables from and to pass to local workers. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Directory the script and relative options are resolved against. Default process.cwd(). */
  cwd?: string;
}

/** Options that take a value, so a pre-scan of argv knows where the script starts. */
export const VALUE_OPTIONS = new Set([
  "-n",
  "--hostfile",
  "-p",
  "--path",
  "--node",
  "--node-options",
  "--prolog",
  "--ssh-executable",
  "--external-hostname",
  "--nice",
  "--log",
  "--debug",
  "--profile",
  "--dashboard-host",
  "--metrics",
]);

const SCRIPT_EXTENSION = /\.(?:[cm]?[jt]s|[jt]sx)$/i;

/** Could this word be the script rather than one more host after `--hosts`? */
export function looksLikeScript(word: string): boolean {
  if (SCRIPT_EXTENSION.test(word) || word.includes("/")) return true;
  try {
    return existsSync(word) && statSync(word).isFile();
  } catch {
    return false;
  }
}

/**
 * Rewrites `--hosts a b c` (SCOOP's syntax: every following word is a host) into
 * `--hosts=a --hosts=b --hosts=c`, stopping at the next option, at `--`, or at the first word that
 * looks like the script (a `.ts`/`.js`-like name, a path, or an existing file), so that
 * `scoop --hosts a b script.ts` works. A bare `--progress` becomes `--progress=auto` so its optional
 * value never swallows the script's name. Everything from the script on is left untouched.
 */
export function normaliseArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === "--") {
      out.push(...argv.slice(i));
      return out;
    }
    if (a === "--hosts" || a === "--host") {
      i++;
      let n = 0;
      while (i < argv.length && !argv[i]!.startsWith("-") && !(n > 0 && looksLikeScript(argv[i]!))) {
        out.push(`--hosts=${argv[i]!}`);
        n++;
        i++;
      }
      if (n === 0) out.push("--hosts=");
      continue;
    }
    if (a.startsWith("--host=")) {
      out.push(`--hosts=${a.slice("--host=".length)}`);
      i++;
      continue;
    }
    if (a === "--progress") {
      out.push("--progress=auto");
      i++;
      continue;
    }
    if (a === "--dashboard") {
      // An optional port: only a number is taken, so `--dashboard script.ts` keeps its script.
      const next = argv[i + 1];
      if (next !== undefined && /^\d+$/.test(next)) {
        out.push(`--dashboard=${next}`);
        i += 2;
      } else {
        out.push("--dashboard=auto");
        i++;
      }
      continue;
    }
    if (VALUE_OPTIONS.has(a)) {
      out.push(a);
      if (i + 1 < argv.length) out.push(argv[i + 1]!);
      i += 2;
      continue;
    }
    if (!a.startsWith("-") || a === "-") {
      // The script: the rest belongs to it.
      out.push(...argv.slice(i));
      return out;
    }
    out.push(a);
    i++;
  }
  return out;
}

/** `-n`: a positive integer, written as one. */
export function parseWorkerCount(value: string): number {
  const v = value.trim();
  if (!/^\d+$/.test(v)) throw new ConfigError(`-n ${quoteValue(value)}: the number of workers must be a positive integer`);
  const n = Number(v);
  if (n < 1) throw new ConfigError(`-n ${v}: the number of workers must be at least 1`);
  if (!Number.isSafeInteger(n) || n > 100_000) throw new ConfigError(`-n ${v}: too many workers`);
  return n;
}

/** A TCP port for `option`: an integer from 0 (any free port) to 65535. */
export function parsePort(value: string, option: string): number {
  const v = value.trim();
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new ConfigError(`${option} ${quoteValue(value)}: expected a port number from 0 (any free port) to 65535`);
  return Number(v);
}

/** The dashboard's port when none is given (Dask's); a free one is taken when it is in use. */
export const DEFAULT_DASHBOARD_PORT = 8787;

/** `--dashboard [PORT]`: no port means the default one, or a free one when it is taken. */
export function parseDashboard(value: string): { port: number; fallback: boolean } {
  if (value === "auto" || value === "") return { port: DEFAULT_DASHBOARD_PORT, fallback: true };
  return { port: parsePort(value, "--dashboard"), fallback: false };
}

/** `--nice`: an integer from -20 to 19, as nice(1) takes it. */
export function parseNice(value: string): number {
  const v = value.trim();
  if (!/^[+-]?\d+$/.test(v)) throw new ConfigError(`--nice ${quoteValue(value)}: expected an integer from -20 to 19`);
  const n = Number(v);
  if (n < -20 || n > 19) throw new ConfigError(`--nice ${v}: expected an integer from -20 to 19`);
  return n;
}

/**
 * Splits a command line the way a POSIX shell splits words: whitespace separates, single quotes
 * keep everything literally, double quotes keep spaces (with `\"` and `\\` escapes), a backslash
 * escapes the next character. No expansion of any kind.
 *
 * @throws ConfigError on an unterminated quote, naming `what`.
 */
export function splitWords(text: string, what: string): string[] {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new ConfigError(`${what} ${quoteValue(text)}: unterminated single quote`);
      cur += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new ConfigError(`${what} ${quoteValue(text)}: unterminated double quote`);
        const d = text[i]!;
        if (d === '"') break;
        if (d === "\\" && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) {
          cur += text[i + 1]!;
          i += 2;
        } else {
          cur += d;
          i++;
        }
      }
      inWord = true;
      i++;
    } else if (c === "\\" && i + 1 < text.length) {
      cur += text[i + 1]!;
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
      i++;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** A non-empty option value without control characters. */
export function checkPlainValue(value: string, option: string): string {
  if (value.trim() === "" || /[\x00-\x1f]/.test(value)) throw new ConfigError(`${option} ${quoteValue(value)}: expected a non-empty value`);
  return value;
}
