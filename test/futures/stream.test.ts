// map over unbounded inputs, on real processes: `break` after 1000 results of an infinite generator
// stops the map and leaves no task running; 1,000,000 inputs keep the origin's memory flat.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { brokerEnv, exitOf, FIXTURES, killAll, start, startBroker, startWorker, WORKER_CLI, type Proc } from "../support/cluster.js";
import { waitFor } from "../support/processes.js";

const procs: Proc[] = [];
const dir = mkdtempSync(join(tmpdir(), "scoop-stream-"));
after(() => {
  killAll(procs);
  rmSync(dir, { recursive: true, force: true });
});

const SCRIPT = `${FIXTURES}futures/stream.ts`;
const MB = 1024 * 1024;

for (const workers of [1, 3]) {
  test(`infinite input with break, and 1,000,000 inputs in bounded memory, ${workers} worker(s)`, async () => {
    const broker = await startBroker(["-v"]);
    procs.push(broker);
    const env = brokerEnv(broker);
    const others: Proc[] = [];
    for (let i = 1; i < workers; i++) others.push(startWorker(SCRIPT, [], { ...env, IS_ORIGIN: "0", WORKER_NAME: `s${i}` }));
    procs.push(...others);
    await waitFor(() => (broker.stderr.match(/joined/g) ?? []).length >= workers - 1, { timeout: 20_000, what: "the workers to join" });
    const file = join(dir, `ticks-${workers}.txt`);
    const origin = start(process.execPath, ["--expose-gc", WORKER_CLI, SCRIPT, file], env);
    procs.push(origin);
    assert.equal(await exitOf(origin, 120_000), 0, origin.stderr);
    for (const w of others) assert.equal(await exitOf(w, 20_000), 0, w.stderr);
    assert.equal(await exitOf(broker, 20_000), 0);
    const r = JSON.parse(origin.stdout.trim().split("\n").pop()!);

    // (1) break after 1000: in order, the generator closed, pulled a bounded amount ahead, and the
    // tasks stopped: the file no longer grows once the in-flight chunks finished.
    assert.equal(r.got, 1000);
    assert.equal(r.inOrder, true);
    assert.equal(r.closed, true, "the input generator was closed by the break");
    assert.equal(r.pulledLater, r.pulledAtBreak, "nothing was pulled from the input after the break");
    assert.ok(r.pulledAtBreak < 50_000, `pulled ${r.pulledAtBreak} items ahead of 1000 results`);
    assert.equal(r.ranLater, r.ranSoon, `tasks kept running after the break: ${r.ranSoon} then ${r.ranLater}`);
    assert.ok(r.ranLater >= 1000 && r.ranLater <= r.pulledAtBreak, `ran ${r.ranLater} of ${r.pulledAtBreak} pulled`);

    // (2) a million inputs: every result, and a heap that does not grow with the count.
    assert.equal(r.gc, true);
    assert.equal(r.count, 1_000_000);
    assert.equal(r.total, 1000 * Array.from({ length: 1000 }, (_, i) => i * i).reduce((a, b) => a + b, 0));
    const at200k = r.samples["200000"];
    const at1m = r.samples["1000000"];
    assert.ok(at1m.heap - at200k.heap < 16 * MB, `heap grew from ${(at200k.heap / MB).toFixed(1)} MB at 200k to ${(at1m.heap / MB).toFixed(1)} MB at 1M`);
    assert.ok(at1m.heap < r.base + 64 * MB, `heap ${(at1m.heap / MB).toFixed(1)} MB at 1M, ${(r.base / MB).toFixed(1)} MB before`);
    assert.ok(at1m.rss < 512 * MB, `rss ${(at1m.rss / MB).toFixed(0)} MB`);
    console.log(`map of 1M items: ${r.millionMs} ms; heap ${(at200k.heap / MB).toFixed(1)} -> ${(at1m.heap / MB).toFixed(1)} MB; break after 1000: ${r.breakMs} ms, ${r.pulledAtBreak} pulled, ${r.ranLater} ran`);
  });
}
