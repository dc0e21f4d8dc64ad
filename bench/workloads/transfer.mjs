// W5p, our side: the W5 arrays submitted from Pool.start()'s submit-only client, which runs no task
// itself, so every array crosses the sockets (client -> broker -> worker). W5 lets the scheduler
// keep arrays where they are; this row shows the transfer rate when nothing can stay.
// Usage: node bench/workloads/transfer.mjs '{"workers":2,"tasks":64,"mib":1}' -> one JSON line.
import { Pool } from "scoop";
import { checksum, w5Bursts, w5Payload } from "../lib/workloads.mjs";

export function sumTask(a) {
  return checksum(a);
}

if (!Pool.isWorker) {
  const p = JSON.parse(process.argv[2] ?? "{}");
  const pool = await Pool.start({ workers: p.workers ?? 2 });
  try {
    await Promise.all(Array.from({ length: 4 * (p.workers ?? 2) }, () => pool.futures.submit(sumTask, w5Payload(0))));
    const { figure, rates } = await w5Bursts(p.tasks * p.mib, async () => {
      const arrays = Array.from({ length: p.tasks }, (_, k) => w5Payload(k));
      const t0 = performance.now();
      const sums = await Promise.all(arrays.map((a) => pool.futures.submit(sumTask, a)));
      const s = (performance.now() - t0) / 1000;
      if (sums[1] !== checksum(arrays[1])) throw new Error("W5p: wrong checksum");
      return s;
    });
    console.log(JSON.stringify({ figure, unit: "MiB/s", detail: { mode: "Pool client: every array crosses the sockets", rates } }));
  } finally {
    await pool.close();
  }
}
