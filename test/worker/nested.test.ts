// Nested submission at depth never deadlocks: fib(15) with 1, 2 and 4 workers.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { brokerEnv, exitOf, FIXTURES, killAll, startBroker, startWorker, type Proc } from "../support/cluster.js";
import { waitFor } from "../support/processes.js";

const procs: Proc[] = [];
after(() => killAll(procs));
const NESTED = `${FIXTURES}scripts/nested.ts`;

for (const workers of [1, 2, 4]) {
  test(`fib(15) submitting both sub-calls, ${workers} worker(s)`, async () => {
    const broker = await startBroker(["-v"]);
    procs.push(broker);
    const env = brokerEnv(broker);
    const others: Proc[] = [];
    for (let i = 1; i < workers; i++) others.push(startWorker(NESTED, [], { ...env, IS_ORIGIN: "0", WORKER_NAME: `n${i}` }));
    procs.push(...others);
    await waitFor(() => (broker.stderr.match(/joined/g) ?? []).length >= workers - 1, { timeout: 20_000, what: "workers to join" });
    const origin = startWorker(NESTED, ["15"], env);
    procs.push(origin);
    assert.equal(await exitOf(origin, 120_000), 0, origin.stderr);
    const out = JSON.parse(origin.stdout);
    assert.equal(out.value, 610);
    assert.equal(out.size, workers);
    assert.equal(out.workers.length, workers, `every worker should take part: ${out.workers}`);
    for (const w of others) assert.equal(await exitOf(w), 0);
    assert.equal(await exitOf(broker), 0);
  });
}
