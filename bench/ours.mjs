// Runner for our own pool: the "ours" column of `npm run bench`. PLACEHOLDER until the lead fills
// it in; the harness shows "—" for every workload while this throws.
//
// Contract (same as every peer, see bench/README.md):
//   runOurs(workload, params) -> Promise<{ figure: number | null, unit: string, detail?: object }>
// It is called once per run in a fresh `node bench/peers/ours-peer.mjs` process, so it may start
// and stop a whole pool. Start-up belongs only in W6: warm the pool before timing the rest.
//
// workload: "W1" | "W1s" | "W1l" | "W2" | "W3" | "W4" | "W5" | "W6"
// params:   { workers, quick?, ...sizes } with sizes from SIZES in bench/lib/workloads.mjs
//           (W1 {n}, W1s {n}, W1l {n}, W2 {tasks, taskMs, loops, serialMs}, W3 {n},
//           W4 {tasks, seed}, W5 {tasks, mib}); helpers for the work itself (spin, busy,
//           w4Durations, w5Payload, checksum, fibCalls) are exported from the same module.
// Units the table expects: W1 items/s, W1s tasks/s, W1l µs (per round trip), W2 speedup
//   (= serialMs / 1000 / wall; returning {figure: wall, unit: "s"} works too, the harness converts),
//   W3 tasks/s (tasks = fibCalls(n)), W4 wall/ideal (ideal = sum of durations / workers),
//   W5 MiB/s (tasks * mib / wall), W6 s (spawn-to-exit of a program whose main returns at once).

// eslint-disable-next-line no-unused-vars
export async function runOurs(workload, params) {
  throw new Error("not implemented");
}
