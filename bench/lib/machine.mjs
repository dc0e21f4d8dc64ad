// Machine load, for warning that a benchmark shared its cores with someone else.
import { readFileSync } from "node:fs";

/** Fraction of all cores busy over `ms` while the caller sleeps, from /proc/stat (null where there
 * is none). Nothing of ours runs then, so anything seen is someone else's load. */
export async function machineBusy(ms) {
  const sample = () => {
    try {
      const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
      return { idle: f[3] + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
    } catch {
      return null;
    }
  };
  const a = sample();
  await new Promise((r) => setTimeout(r, ms));
  const b = sample();
  if (!a || !b || b.total === a.total) return null;
  return 1 - (b.idle - a.idle) / (b.total - a.total);
}
