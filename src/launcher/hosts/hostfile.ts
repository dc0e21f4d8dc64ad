/**
 * Hosts given by the user: `--hostfile FILE` and `--hosts a a b`.
 *
 * Hostfile grammar, one host per line:
 *   host            one worker
 *   host N          N workers (N >= 1)
 *   host slots=N    the same, as OpenMPI writes it, so existing MPI hostfiles work unchanged
 * `#` starts a comment (whole line or trailing), blank lines are skipped, a host listed twice adds
 * up. `host` may also be a SLURM-style group such as `node[01-04]` (SCOOP accepts those in
 * hostfiles and `--hosts`), which gives every node of the group the line's count.
 *
 * Unlike SCOOP, which takes the first number it finds anywhere on the line, anything else is an
 * error naming the file and line: a silently misread hostfile launches the wrong number of workers
 * on the wrong machines, which is far harder to notice than a refusal.
 */

import { ConfigError } from "../../errors.js";
import { mergeHostCounts, type HostSlots } from "./distribute.js";
import { expandNodelist } from "./slurm.js";

/** Quoted, length-limited copy of a user value, so an error message stays on one short line. */
export function quoteValue(value: string): string {
  const oneLine = value.replace(/\s+/g, " ");
  return JSON.stringify(oneLine.length > 120 ? `${oneLine.slice(0, 117)}...` : oneLine);
}

/**
 * Characters of a host name as ssh and ZeroMQ accept it: DNS names, IPv4, IPv6 (with `%zone`), and
 * `user@host`, which ssh understands and SCOOP users rely on.
 */
const HOST_NAME = /^[A-Za-z0-9._:%@-]+$/;

/**
 * Checks that `name` can be used as a host and returns it.
 *
 * @param name the host name, already stripped of a count.
 * @param context where it came from, prefixed to the error message (e.g. `hostfile h.txt line 3`).
 * @throws ConfigError when the name has characters no host name has, starts with `-` (ssh would
 *   read it as an option), or is written `host:N` (a count in a form SCOOP never accepted).
 */
export function checkHostName(name: string, context: string): string {
  const fail: (why: string) => never = (why) => {
    throw new ConfigError(`${context}: ${quoteValue(name)} — ${why}`);
  };
  if (name === "") fail("empty host name");
  if (!HOST_NAME.test(name)) fail("not a valid host name");
  if (name.startsWith("-")) fail('a host name cannot start with "-"');
  // One colon followed by digits only is someone giving a count the MPICH way; IPv6 addresses
  // always have at least two colons, so they are not caught here.
  const hostColonCount = /^([^:]+):(\d+)$/.exec(name);
  if (hostColonCount) fail(`write "${hostColonCount[1]} ${hostColonCount[2]}" to give a worker count`);
  return name;
}

/**
 * The host names one token stands for: a plain name, a bracketed IPv6 literal (brackets removed),
 * or a SLURM-style group expanded to its nodes.
 */
function expandHostToken(token: string, context: string): string[] {
  const ipv6 = /^\[([^\]]*:[^\]]*)\]$/.exec(token);
  if (ipv6) return [checkHostName(ipv6[1]!, context)];
  if (/[[\],]/.test(token)) {
    return expandNodelist(token, context).map((n) => checkHostName(n, context));
  }
  return [checkHostName(token, context)];
}

/** Parses a worker count token; `undefined` when it is not a well-formed positive integer. */
function parseCount(token: string): number | undefined {
  const m = /^(?:slots=)?(\d+)$/.exec(token);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}

/**
 * Parses the text of a hostfile.
 *
 * A line with no count stands for one worker. (SCOOP documents "as many workers as the host has
 * cores" but actually launches none; knowing a remote core count needs an ssh round trip, so one
 * worker per mention, as with `--hosts`, is the predictable reading.)
 *
 * @param text the file's content.
 * @param file the file's name as the user gave it, used in error messages.
 * @returns one entry per distinct host, in first-seen order, repeated hosts added up.
 * @throws ConfigError naming the file and line for a malformed line, or naming the file when it
 *   lists no host at all.
 */
export function parseHostfile(text: string, file: string): HostSlots[] {
  const pairs: Array<[string, number]> = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, index) => {
    const hash = raw.indexOf("#");
    const line = (hash < 0 ? raw : raw.slice(0, hash)).trim();
    if (line === "") return;
    const context = `hostfile ${file} line ${index + 1}`;
    const tokens = line.split(/\s+/);
    if (tokens.length > 2) {
      throw new ConfigError(`${context}: ${quoteValue(line)} — expected "host [count]"`);
    }
    let count = 1;
    if (tokens.length === 2) {
      const parsed = parseCount(tokens[1]!);
      if (parsed === undefined) {
        const why = /^(?:slots=)?0+$/.test(tokens[1]!)
          ? "the worker count must be at least 1"
          : 'expected "host [count]"';
        throw new ConfigError(`${context}: ${quoteValue(line)} — ${why}`);
      }
      count = parsed;
    }
    for (const host of expandHostToken(tokens[0]!, context)) pairs.push([host, count]);
  });
  if (pairs.length === 0) throw new ConfigError(`hostfile ${file}: no host listed`);
  return mergeHostCounts(pairs);
}

/**
 * Hosts from `--hosts a a b`: every mention is one worker, so this gives `a: 2, b: 1`.
 *
 * @param hosts the option's values, one host (or SLURM-style group) per element.
 * @throws ConfigError when the list is empty or a value is not a host name.
 */
export function hostsFromList(hosts: readonly string[]): HostSlots[] {
  if (hosts.length === 0) throw new ConfigError("--hosts: no host given");
  const pairs: Array<[string, number]> = [];
  for (const value of hosts) {
    const token = value.trim();
    if (/\s/.test(token) || token === "") {
      throw new ConfigError(`--hosts: ${quoteValue(value)} — expected one host name per value`);
    }
    for (const host of expandHostToken(token, "--hosts")) pairs.push([host, 1]);
  }
  return mergeHostCounts(pairs);
}
