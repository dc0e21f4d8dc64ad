// W5p, our side: the W5 arrays submitted from Pool.start()'s submit-only client, which runs no task
// itself, so every array crosses the sockets (client -> broker -> worker). W5 lets the scheduler
// keep arrays where they are; this row shows the transfer rate when nothing can stay.
// Usage: node bench/workloads/transfer.mjs '{"workers":2,"tasks":64,"mib":1}' -> one JSON line.
import { Pool } from "scoop";
import { checksum, w5Payload } from "../lib/workloads.mjs";

export function sumTask(a) {
  return checksum(a);
}

if (!Pool.isWorker) {
  const p = JSON.parse(process.argv[2] ?? "{}");
  const pool = await Pool.start({ workers: p.workers ?? 2 });
  try {
    const arrays = Array.from({ length: p.tasks }, (_, k) => w5Payload(k));
    await Promise.all(Array.from({ length: 4 * (p.workers ?? 2) }, () => pool.futures.submit(sumTask, w5Payload(0))));
    const t0 = performance.now();
    const sums = await Promise.all(arrays.map((a) => pool.futures.submit(sumTask, a)));
    const ms = performance.now() - t0;
    if (sums[1] !== checksum(arrays[1])) throw new Error("W5p: wrong checksum");
    console.log(JSON.stringify({ figure: (p.tasks * p.mib) / (ms / 1000), unit: "MiB/s", detail: { mode: "Pool client: every array crosses the sockets" } }));
  } finally {
    await pool.close();
  }
}
