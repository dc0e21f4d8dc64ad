/**
 * PBS/Torque (and PBS Pro) allocations: `PBS_NODEFILE` names a file listing one host per allocated
 * slot, so a host with 8 slots appears 8 times.
 */

import { ConfigError } from "../../errors.js";
import { mergeHostCounts, type HostSlots } from "./distribute.js";
import { checkHostName } from "./hostfile.js";

/**
 * Parses the content of a PBS nodefile.
 *
 * Any whitespace separates entries, not only newlines: SCOOP splits the file that way (its own
 * test nodefile holds every entry on one line), and a host name never contains whitespace, so
 * accepting both costs nothing.
 *
 * @param text the file's content.
 * @param source what the file is, for error messages, e.g. `PBS_NODEFILE /var/spool/aux/123`.
 * @returns one entry per distinct host, in first-seen order, slots = number of appearances.
 * @throws ConfigError naming `source` and the line for an entry that is not a host name, or naming
 *   `source` when the file lists no host.
 */
export function parsePbsNodefile(text: string, source = "PBS_NODEFILE"): HostSlots[] {
  const pairs: Array<[string, number]> = [];
  text.split(/\r?\n/).forEach((line, index) => {
    for (const token of line.split(/\s+/)) {
      if (token !== "") pairs.push([checkHostName(token, `${source} line ${index + 1}`), 1]);
    }
  });
  if (pairs.length === 0) throw new ConfigError(`${source}: no host listed`);
  return mergeHostCounts(pairs);
}
