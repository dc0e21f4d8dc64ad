/**
 * Host sources and worker placement for the launcher: which hosts to use, and how many workers on
 * each. Pure logic; nothing here starts a process.
 */

export { distributeWorkers, mergeHostCounts, totalSlots, type HostSlots } from "./distribute.js";
export { checkHostName, hostsFromList, parseHostfile } from "./hostfile.js";
export {
  expandNodelist,
  hostsFromSlurm,
  MAX_EXPANDED_NODES,
  parseTasksPerNode,
  type SlurmHostsInput,
} from "./slurm.js";
export { parsePbsNodefile } from "./pbs.js";
export { parseSgeHostfile } from "./sge.js";
export { parseLsbMcpuHosts } from "./lsf.js";
export {
  detectHosts,
  LOCAL_HOST,
  type DetectHostsOptions,
  type Env,
  type HostDetection,
  type HostSource,
} from "./detect.js";
