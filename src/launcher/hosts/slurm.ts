/**
 * SLURM host lists, parsed natively. SCOOP shells out to `scontrol show hostnames`, which is missing
 * on many login/compute images and is slow; SLURM's compressed syntax is small enough to parse here.
 *
 * Node list grammar (what SLURM writes into `SLURM_JOB_NODELIST`):
 *   list  := item ("," item)*            commas inside brackets do not split items
 *   item  := (text | "[" ranges "]")+    several bracket groups give their cartesian product
 *   ranges:= range ("," range)*
 *   range := digits ("-" digits)?        the lower bound's width is kept as zero padding
 */

import { ConfigError } from "../../errors.js";
import { mergeHostCounts, type HostSlots } from "./distribute.js";

/**
 * Ceiling on how many names one list may expand to. A typo such as `n[1-10000000]` would otherwise
 * allocate millions of strings before any other check could complain; real allocations are far
 * below this.
 */
export const MAX_EXPANDED_NODES = 100_000;

/** Quoted, length-limited copy of a user value, so an error message stays on one short line. */
function quote(value: string): string {
  const oneLine = value.replace(/\s+/g, " ");
  return JSON.stringify(oneLine.length > 120 ? `${oneLine.slice(0, 117)}...` : oneLine);
}

/** Splits on commas that are not inside brackets. */
function splitTopLevel(list: string, fail: (why: string) => never): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === "[") {
      if (depth > 0) fail(`nested "[" at position ${i + 1}`);
      depth = 1;
    } else if (c === "]") {
      if (depth === 0) fail(`"]" without "[" at position ${i + 1}`);
      depth = 0;
    } else if (c === "," && depth === 0) {
      items.push(list.slice(start, i));
      start = i + 1;
    }
  }
  if (depth > 0) fail(`unclosed "["`);
  items.push(list.slice(start));
  return items;
}

/** The numbers of one bracket body such as `1-4,07`, as zero-padded strings. */
function expandRanges(body: string, fail: (why: string) => never): string[] {
  const out: string[] = [];
  for (const part of body.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) fail(`bad range ${quote(part)} in "[${body}]" — expected N or N-M`);
    const loText = m[1]!;
    const lo = Number(loText);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi)) fail(`number too large in "[${body}]"`);
    if (hi < lo) fail(`range ${quote(part)} goes backwards`);
    if (out.length + (hi - lo + 1) > MAX_EXPANDED_NODES) {
      fail(`expands to more than ${MAX_EXPANDED_NODES} nodes`);
    }
    // SLURM pads every number to the width of the lower bound: n[01-10] is n01..n10, n[1-10] is
    // n1..n10.
    for (let v = lo; v <= hi; v++) out.push(String(v).padStart(loText.length, "0"));
  }
  return out;
}

/** Expands one top-level item, e.g. `x[1-2]y[1-2]`, to its names, leftmost group varying slowest. */
function expandItem(item: string, fail: (why: string) => never): string[] {
  let names = [""];
  let i = 0;
  while (i < item.length) {
    const open = item.indexOf("[", i);
    const text = open < 0 ? item.slice(i) : item.slice(i, open);
    if (text) names = names.map((n) => n + text);
    if (open < 0) break;
    const close = item.indexOf("]", open);
    const values = expandRanges(item.slice(open + 1, close), fail);
    if (names.length * values.length > MAX_EXPANDED_NODES) {
      fail(`expands to more than ${MAX_EXPANDED_NODES} nodes`);
    }
    const next: string[] = [];
    for (const n of names) for (const v of values) next.push(n + v);
    names = next;
    i = close + 1;
  }
  return names;
}

/**
 * Expands a SLURM compressed node list to the node names, in SLURM's order.
 *
 * `n[1-3,07]` gives `n1 n2 n3 n07`; `n[01-03]` keeps the padding (`n01 n02 n03`); `x[1-2]y[1-2]`
 * gives the cartesian product `x1y1 x1y2 x2y1 x2y2`; `a,b[1-2],c` mixes plain names and groups; a
 * single name such as `node7` is itself. Duplicates are kept (merging is the caller's business).
 *
 * @param nodelist the compressed list, e.g. the value of `SLURM_JOB_NODELIST`.
 * @param source what the list is, for error messages (an environment variable name, or a file and
 *   line).
 * @throws ConfigError naming `source` on empty items, unbalanced or nested brackets, bad or
 *   backwards ranges, whitespace, names starting with `-`, or more than
 *   {@link MAX_EXPANDED_NODES} names.
 */
export function expandNodelist(nodelist: string, source = "SLURM_JOB_NODELIST"): string[] {
  const list = nodelist.trim();
  const fail: (why: string) => never = (why) => {
    throw new ConfigError(`${source}: bad node list ${quote(list)}: ${why}`);
  };
  if (list === "") fail("it is empty");
  if (/\s/.test(list)) fail("it contains whitespace");

  const names: string[] = [];
  for (const item of splitTopLevel(list, fail)) {
    if (item === "") fail("empty entry between commas");
    const expanded = expandItem(item, fail);
    if (names.length + expanded.length > MAX_EXPANDED_NODES) {
      fail(`expands to more than ${MAX_EXPANDED_NODES} nodes`);
    }
    for (const name of expanded) {
      // A leading dash would be read as an option by ssh: never let one through as a host.
      if (name.startsWith("-")) fail(`node name ${quote(name)} starts with "-"`);
      names.push(name);
    }
  }
  return names;
}

/**
 * Expands `SLURM_TASKS_PER_NODE` (`2(x3),1` means 2, 2, 2, 1) to one count per node.
 *
 * @param spec the variable's value.
 * @param source the variable name, for error messages.
 * @throws ConfigError naming `source` when an entry is not `N` or `N(xM)` with positive integers.
 */
export function parseTasksPerNode(spec: string, source = "SLURM_TASKS_PER_NODE"): number[] {
  const text = spec.trim();
  const fail: (why: string) => never = (why) => {
    throw new ConfigError(`${source}: bad value ${quote(text)}: ${why}`);
  };
  if (text === "") fail("it is empty");
  const counts: number[] = [];
  for (const part of text.split(",")) {
    const m = /^(\d+)(?:\(x(\d+)\))?$/.exec(part);
    if (!m) fail(`entry ${quote(part)} is not "N" or "N(xM)"`);
    const tasks = Number(m[1]);
    const repeat = m[2] === undefined ? 1 : Number(m[2]);
    if (!Number.isSafeInteger(tasks) || tasks < 1) fail(`entry ${quote(part)} has no task`);
    if (!Number.isSafeInteger(repeat) || repeat < 1) fail(`entry ${quote(part)} repeats zero times`);
    if (counts.length + repeat > MAX_EXPANDED_NODES) fail(`describes more than ${MAX_EXPANDED_NODES} nodes`);
    for (let r = 0; r < repeat; r++) counts.push(tasks);
  }
  return counts;
}

/** Inputs of {@link hostsFromSlurm}, named after the environment variables they usually come from. */
export interface SlurmHostsInput {
  /** Compressed node list (`SLURM_JOB_NODELIST` / `SLURM_NODELIST`). */
  nodelist: string;
  /** `SLURM_TASKS_PER_NODE`, when set: one count per node, after expansion. */
  tasksPerNode?: string;
  /** Slots per node when `tasksPerNode` is absent (e.g. `SLURM_CPUS_ON_NODE`); default 1. */
  defaultSlots?: number;
  /** Name of the variable `nodelist` came from, for error messages. */
  nodelistSource?: string;
  /** Name of the variable `tasksPerNode` came from, for error messages. */
  tasksSource?: string;
}

/**
 * Hosts and slots of a SLURM allocation, without calling `scontrol`.
 *
 * @throws ConfigError when the node list or the task counts are malformed, when the task counts do
 *   not describe exactly the listed nodes, or when `defaultSlots` is not a positive integer.
 */
export function hostsFromSlurm(input: SlurmHostsInput): HostSlots[] {
  const nodelistSource = input.nodelistSource ?? "SLURM_JOB_NODELIST";
  const tasksSource = input.tasksSource ?? "SLURM_TASKS_PER_NODE";
  const nodes = expandNodelist(input.nodelist, nodelistSource);
  if (input.tasksPerNode === undefined) {
    const slots = input.defaultSlots ?? 1;
    if (!Number.isSafeInteger(slots) || slots < 1) {
      throw new ConfigError(`SLURM: slots per node must be a positive integer, got ${String(slots)}`);
    }
    return mergeHostCounts(nodes.map((n) => [n, slots] as const));
  }
  const counts = parseTasksPerNode(input.tasksPerNode, tasksSource);
  if (counts.length !== nodes.length) {
    throw new ConfigError(
      `${tasksSource}=${quote(input.tasksPerNode.trim())} gives counts for ${counts.length} node(s) ` +
        `but ${nodelistSource}=${quote(input.nodelist.trim())} lists ${nodes.length}`,
    );
  }
  return mergeHostCounts(nodes.map((n, i) => [n, counts[i]!] as const));
}
