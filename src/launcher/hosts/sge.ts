/**
 * Sun/Son of/Univa Grid Engine parallel environments: `PE_HOSTFILE` names a file whose lines read
 * `host slots queue processor-range`, e.g. `node1.cluster 8 all.q@node1.cluster UNDEFINED`.
 */

import { ConfigError } from "../../errors.js";
import { mergeHostCounts, type HostSlots } from "./distribute.js";
import { checkHostName, quoteValue } from "./hostfile.js";

/**
 * Parses the content of an SGE `PE_HOSTFILE`. Only the host and slot columns matter to us; the
 * queue and processor range are accepted and ignored, and may be missing (some SGE forks and
 * hand-written test files omit them).
 *
 * @param text the file's content.
 * @param source what the file is, for error messages, e.g. `PE_HOSTFILE /tmp/123.1.all.q/pe_hostfile`.
 * @returns one entry per distinct host, in first-seen order, repeated hosts added up.
 * @throws ConfigError naming `source` and the line for a line that is not
 *   `host slots [queue [processor-range]]` with a positive slot count, or naming `source` when the
 *   file lists no host.
 */
export function parseSgeHostfile(text: string, source = "PE_HOSTFILE"): HostSlots[] {
  const pairs: Array<[string, number]> = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "") return;
    const context = `${source} line ${index + 1}`;
    const tokens = line.split(/\s+/);
    const slots = tokens.length >= 2 && /^\d+$/.test(tokens[1]!) ? Number(tokens[1]) : NaN;
    if (tokens.length > 4 || !Number.isSafeInteger(slots) || slots < 1) {
      throw new ConfigError(
        `${context}: ${quoteValue(line)} — expected "host slots queue processor-range" with slots >= 1`,
      );
    }
    pairs.push([checkHostName(tokens[0]!, context), slots]);
  });
  if (pairs.length === 0) throw new ConfigError(`${source}: no host listed`);
  return mergeHostCounts(pairs);
}
