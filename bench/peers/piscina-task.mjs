// Task functions for the Piscina peer, one named export per workload (picked with run's `name`
// option), so no dispatch object has to be cloned into the worker with every task.
import { spin, busy, checksum } from "../lib/workloads.mjs";

export function noop() {
  return null;
}

export function incChunk(xs) {
  return xs.map((x) => x + 1);
}

export function spinTask({ loops, seed }) {
  return spin(loops, seed);
}

export function busyTask(ms) {
  return busy(ms);
}

export function checksumTask(a) {
  return checksum(a);
}
