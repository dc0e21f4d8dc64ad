/**
 * IBM Spectrum LSF allocations: `LSB_MCPU_HOSTS` holds `host1 8 host2 4`, host and slot count
 * alternating, one pair per execution host. SCOOP has no LSF support; this is new.
 */

import { ConfigError } from "../../errors.js";
import { mergeHostCounts, type HostSlots } from "./distribute.js";
import { checkHostName, quoteValue } from "./hostfile.js";

/**
 * Parses the value of `LSB_MCPU_HOSTS`.
 *
 * @param value the variable's value.
 * @param source the variable name, for error messages.
 * @returns one entry per distinct host, in first-seen order, repeated hosts added up.
 * @throws ConfigError naming `source` when the value is empty, has an odd number of words, or a
 *   count that is not a positive integer, or a word in host position that is not a host name.
 */
export function parseLsbMcpuHosts(value: string, source = "LSB_MCPU_HOSTS"): HostSlots[] {
  const words = value.trim().split(/\s+/).filter((w) => w !== "");
  if (words.length === 0) throw new ConfigError(`${source}: no host listed`);
  if (words.length % 2 !== 0) {
    throw new ConfigError(`${source}=${quoteValue(value.trim())} — expected pairs "host count"`);
  }
  const pairs: Array<[string, number]> = [];
  for (let i = 0; i < words.length; i += 2) {
    const host = checkHostName(words[i]!, source);
    const countText = words[i + 1]!;
    const count = /^\d+$/.test(countText) ? Number(countText) : NaN;
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new ConfigError(
        `${source}: count ${quoteValue(countText)} for host ${quoteValue(host)} is not a positive integer`,
      );
    }
    pairs.push([host, count]);
  }
  return mergeHostCounts(pairs);
}
