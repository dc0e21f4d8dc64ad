import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "../../src/errors.js";
import {
  distributeWorkers,
  mergeHostCounts,
  totalSlots,
  type HostSlots,
} from "../../src/launcher/hosts/index.js";

const hs = (spec: Record<string, number>): HostSlots[] =>
  Object.entries(spec).map(([host, slots]) => ({ host, slots }));

/** SCOOP's test hosts (test/tests_parser.py): 16 slots. */
const SCOOP_HOSTS = hs({ host1: 8, host2: 4, host3: 2, host4: 2 });

/**
 * Independent model of SCOOP's documented behaviour, written one worker at a time: extra workers
 * are dealt round-robin from the first host; missing ones are taken away from the last host first.
 */
function model(hosts: HostSlots[], n: number): HostSlots[] {
  const counts = hosts.map((h) => h.slots);
  let total = counts.reduce((a, b) => a + b, 0);
  for (let i = 0; total < n; i = (i + 1) % counts.length, total++) counts[i]!++;
  for (let i = counts.length - 1; total > n; ) {
    if (counts[i] === 0) i--;
    else {
      counts[i]!--;
      total--;
    }
  }
  return hosts.map((h, i) => ({ host: h.host, slots: counts[i]! })).filter((h) => h.slots > 0);
}

test("n equal to the slots gives every host its slots", () => {
  assert.deepEqual(distributeWorkers(SCOOP_HOSTS, 16), SCOOP_HOSTS);
});

test("n above the slots spreads the extra round-robin from the first host", () => {
  assert.deepEqual(distributeWorkers(hs({ a: 2, b: 1 }), 4), hs({ a: 3, b: 1 }));
  assert.deepEqual(distributeWorkers(hs({ a: 2, b: 1 }), 5), hs({ a: 3, b: 2 }));
  assert.deepEqual(distributeWorkers(hs({ a: 2, b: 1 }), 6), hs({ a: 4, b: 2 }));
  assert.deepEqual(distributeWorkers(SCOOP_HOSTS, 18), hs({ host1: 9, host2: 5, host3: 2, host4: 2 }));
  assert.deepEqual(distributeWorkers(SCOOP_HOSTS, 21), hs({ host1: 10, host2: 5, host3: 3, host4: 3 }));
  assert.deepEqual(distributeWorkers(hs({ solo: 1 }), 7), hs({ solo: 7 }));
});

test("n below the slots fills hosts in order and cuts from the end", () => {
  assert.deepEqual(distributeWorkers(SCOOP_HOSTS, 15), hs({ host1: 8, host2: 4, host3: 2, host4: 1 }));
  assert.deepEqual(distributeWorkers(SCOOP_HOSTS, 10), hs({ host1: 8, host2: 2 }));
  assert.deepEqual(distributeWorkers(SCOOP_HOSTS, 8), hs({ host1: 8 }));
  assert.deepEqual(distributeWorkers(SCOOP_HOSTS, 1), hs({ host1: 1 }));
});

test("SCOOP's -n help example: -n 3 over two 2-slot hosts gives 2 then 1", () => {
  assert.deepEqual(distributeWorkers(hs({ a: 2, b: 2 }), 3), hs({ a: 2, b: 1 }));
});

test("hosts with no slot still receive round-robin extras, and are dropped when they get none", () => {
  assert.deepEqual(distributeWorkers(hs({ a: 0, b: 2 }), 1), hs({ b: 1 }));
  assert.deepEqual(distributeWorkers(hs({ a: 0, b: 2 }), 2), hs({ b: 2 }));
  assert.deepEqual(distributeWorkers(hs({ a: 0, b: 2 }), 3), hs({ a: 1, b: 2 }));
  assert.deepEqual(distributeWorkers(hs({ a: 0, b: 0 }), 3), hs({ a: 2, b: 1 }));
});

test("matches a worker-at-a-time model of SCOOP's rule on many random cases", () => {
  let seed = 12345;
  const rand = (k: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % k;
  };
  for (let round = 0; round < 500; round++) {
    const hosts = Array.from({ length: 1 + rand(6) }, (_, i) => ({ host: `h${i}`, slots: rand(5) }));
    const n = 1 + rand(30);
    const got = distributeWorkers(hosts, n);
    assert.deepEqual(got, model(hosts, n), `hosts=${JSON.stringify(hosts)} n=${n}`);
    assert.equal(totalSlots(got), n);
  }
});

test("the input is left untouched", () => {
  const hosts = hs({ a: 2, b: 3 });
  const copy = structuredClone(hosts);
  distributeWorkers(hosts, 9);
  distributeWorkers(hosts, 1);
  assert.deepEqual(hosts, copy);
});

test("bad requests are ConfigErrors", () => {
  for (const n of [0, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => distributeWorkers(hs({ a: 1 }), n), (e: unknown) => e instanceof ConfigError && /-n\) must be a positive integer/.test(e.message));
  }
  assert.throws(() => distributeWorkers([], 2), (e: unknown) => e instanceof ConfigError && /no host/.test(e.message));
  assert.throws(() => distributeWorkers(hs({ a: -1 }), 2), (e: unknown) => e instanceof ConfigError && /host "a" has an invalid slot count -1/.test(e.message));
  assert.throws(() => distributeWorkers(hs({ a: 1.5 }), 2), ConfigError);
});

test("mergeHostCounts keeps first-seen order and adds repeats; totalSlots sums", () => {
  assert.deepEqual(mergeHostCounts([["x", 1], ["y", 2], ["x", 3]]), hs({ x: 4, y: 2 }));
  assert.deepEqual(mergeHostCounts([]), []);
  assert.equal(totalSlots(SCOOP_HOSTS), 16);
  assert.equal(totalSlots([]), 0);
});
