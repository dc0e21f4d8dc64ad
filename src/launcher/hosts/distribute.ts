/**
 * Worker placement: how many workers each host receives for a requested total. Also home of the
 * {@link HostSlots} type every host source produces, so that the parsers depend on this module and
 * never on each other.
 */

import { ConfigError } from "../../errors.js";

/** One host and how many workers it should (or can) run. */
export interface HostSlots {
  host: string;
  slots: number;
}

/**
 * Merges `(host, count)` pairs into one entry per distinct host, in first-seen order, counts added.
 *
 * Every host source allows a host to appear more than once (a PBS nodefile repeats it once per
 * slot, a hostfile may list it twice); the launcher wants one ssh session per host, hence the merge.
 * Host names are compared exactly: resolving aliases would need DNS, which this module never does.
 */
export function mergeHostCounts(pairs: Iterable<readonly [string, number]>): HostSlots[] {
  const byHost = new Map<string, HostSlots>();
  for (const [host, count] of pairs) {
    const seen = byHost.get(host);
    if (seen) seen.slots += count;
    else byHost.set(host, { host, slots: count });
  }
  return [...byHost.values()];
}

/** Sum of the slots of every host: the default worker count when nothing else states one. */
export function totalSlots(hosts: readonly HostSlots[]): number {
  let total = 0;
  for (const h of hosts) total += h.slots;
  return total;
}

/**
 * Per-host worker counts for `n` workers over `hosts`, following SCOOP's launcher:
 *
 * - `n` equal to the total of slots: every host gets its slots.
 * - `n` above it: the extra workers are dealt one at a time, round-robin, starting again at the
 *   first host (so `{a:2, b:1}` with `n = 6` gives `a:4, b:2`).
 * - `n` below it: hosts are filled in order and the list is cut from the end, so the last hosts
 *   may receive nothing and the one at the cut receives the remainder.
 *
 * Hosts that end with no worker are left out of the result; the input is not modified. The first
 * host of the result is the one that runs the origin.
 *
 * @param hosts the available hosts, in priority order (as produced by a host source).
 * @param n the requested number of workers, a positive integer.
 * @throws ConfigError when `n` is not a positive integer, `hosts` is empty, or a slot count is not
 *   a non-negative integer.
 */
export function distributeWorkers(hosts: readonly HostSlots[], n: number): HostSlots[] {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new ConfigError(`the number of workers (-n) must be a positive integer, got ${String(n)}`);
  }
  if (hosts.length === 0) throw new ConfigError("no host to place the workers on");
  for (const h of hosts) {
    if (!Number.isSafeInteger(h.slots) || h.slots < 0) {
      throw new ConfigError(`host "${h.host}" has an invalid slot count ${String(h.slots)}`);
    }
  }

  const total = totalSlots(hosts);
  if (n >= total) {
    // Dealing the extras one by one from the first host is the same as giving every host
    // floor(extra / hosts) and one more to the first (extra % hosts) hosts; computed directly so a
    // large -n costs nothing.
    const extra = n - total;
    const each = Math.floor(extra / hosts.length);
    const rest = extra % hosts.length;
    return hosts
      .map((h, i) => ({ host: h.host, slots: h.slots + each + (i < rest ? 1 : 0) }))
      .filter((h) => h.slots > 0);
  }

  const out: HostSlots[] = [];
  let left = n;
  for (const h of hosts) {
    if (left === 0) break;
    const take = Math.min(h.slots, left);
    if (take > 0) out.push({ host: h.host, slots: take });
    left -= take;
  }
  return out;
}
