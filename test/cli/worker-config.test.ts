// Each of the seed's variables: its default, a flag overriding it, and a bad value (one line, exit 2).
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { brokerEnv, exitOf, FIXTURES, killAll, startBroker, startWorker, type Proc } from "../support/cluster.js";
import { waitFor } from "../support/processes.js";

const procs: Proc[] = [];
after(() => killAll(procs));
const WHOAMI = `${FIXTURES}scripts/whoami.ts`;

async function runOrigin(env: Record<string, string>, flags: string[] = [], args: string[] = []): Promise<Proc & { code: number | null }> {
  const p = startWorker(WHOAMI, args, env, flags);
  procs.push(p);
  const code = await exitOf(p, 30_000);
  return Object.assign(p, { code });
}

test("defaults: IS_ORIGIN=1, WORKER_NAME=origin, BROKER_NAME=broker", async () => {
  const broker = await startBroker();
  procs.push(broker);
  const p = await runOrigin(brokerEnv(broker), [], ["a", "b"]);
  assert.equal(p.code, 0, p.stderr);
  assert.deepEqual(JSON.parse(p.stdout), { workerName: "origin", brokerName: "broker", isOrigin: true, argv: ["a", "b"] });
  assert.equal(await exitOf(broker), 0);
});

test("flags override the environment variables", async () => {
  const broker = await startBroker(["--name", "b2"]);
  procs.push(broker);
  const p = await runOrigin({ ...brokerEnv(broker), WORKER_NAME: "from-env", BROKER_NAME: "wrong", IS_ORIGIN: "0" }, [
    "--worker-name",
    "from-flag",
    "--broker-name",
    "b2",
    "--is-origin",
    "1",
  ]);
  assert.equal(p.code, 0, p.stderr);
  assert.deepEqual(JSON.parse(p.stdout), { workerName: "from-flag", brokerName: "b2", isOrigin: true, argv: [] });
  assert.equal(await exitOf(broker), 0);
});

test("the environment's BROKER_ADDRESS / META_ADDRESS are overridden by flags", async () => {
  const broker = await startBroker();
  procs.push(broker);
  const p = await runOrigin({ BROKER_ADDRESS: "tcp://127.0.0.1:1", META_ADDRESS: "tcp://127.0.0.1:2" }, [
    "--broker-address",
    broker.taskAddress,
    "--meta-address",
    broker.metaAddress,
  ]);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(JSON.parse(p.stdout).workerName, "origin");
  assert.equal(await exitOf(broker), 0);
});

test("IS_ORIGIN=0: the worker does not run main and leaves when the pool ends", async () => {
  const broker = await startBroker(["-v"]);
  procs.push(broker);
  const w = startWorker(WHOAMI, [], { ...brokerEnv(broker), IS_ORIGIN: "0", WORKER_NAME: "quiet" });
  procs.push(w);
  await waitFor(() => broker.stderr.includes("quiet joined"), { timeout: 15_000, what: "the worker to join" });
  const o = await runOrigin(brokerEnv(broker));
  assert.equal(o.code, 0, o.stderr);
  assert.equal(await exitOf(w), 0, w.stderr);
  assert.equal(w.stdout, "", "a non-origin worker must not run main");
});

const bad: Array<[string, Record<string, string>, string[], RegExp]> = [
  ["IS_ORIGIN=yes", { IS_ORIGIN: "yes", BROKER_ADDRESS: "tcp://127.0.0.1:5555", META_ADDRESS: "tcp://127.0.0.1:5556" }, [], /IS_ORIGIN="yes" must be 1 or 0/],
  ["--is-origin 2", {}, ["--is-origin", "2"], /--is-origin="2" must be 1 or 0/],
  ["WORKER_NAME with a space", { WORKER_NAME: "my worker" }, [], /WORKER_NAME="my worker" is not a valid name/],
  ["empty BROKER_NAME", { BROKER_NAME: "" }, [], /BROKER_NAME="" is not a valid name/],
  ["unparsable BROKER_ADDRESS", { BROKER_ADDRESS: "localhost:5555", META_ADDRESS: "tcp://127.0.0.1:5556" }, [], /BROKER_ADDRESS="localhost:5555" is not a valid address/],
  ["META_ADDRESS port out of range", { BROKER_ADDRESS: "tcp://127.0.0.1:5555", META_ADDRESS: "tcp://127.0.0.1:70000" }, [], /META_ADDRESS=.*out of range/],
  ["BROKER_ADDRESS without META_ADDRESS", { BROKER_ADDRESS: "tcp://127.0.0.1:5555" }, [], /META_ADDRESS is required/],
  ["unknown flag", {}, ["--frobnicate"], /unknown option '--frobnicate'/],
];

for (const [what, env, flags, message] of bad) {
  test(`bad value, ${what}: one line, exit 2`, async () => {
    const p = await runOrigin(env, flags);
    assert.equal(p.code, 2, p.stderr);
    assert.match(p.stderr, message);
    assert.equal(p.stderr.trim().split("\n").length, 1, `expected one line, got:\n${p.stderr}`);
    assert.doesNotMatch(p.stderr, /\n\s+at /);
  });
}

test("a missing script is one line, exit 1", async () => {
  const p = startWorker(`${FIXTURES}scripts/does-not-exist.ts`, [], {});
  procs.push(p);
  assert.equal(await exitOf(p), 1);
  assert.match(p.stderr, /script not found/);
  assert.equal(p.stderr.trim().split("\n").length, 1);
});

test("main() that throws: its stack is printed, the origin exits 1 and the pool ends", async () => {
  const broker = await startBroker();
  procs.push(broker);
  const p = startWorker(`${FIXTURES}scripts/fails.ts`, [], brokerEnv(broker));
  procs.push(p);
  assert.equal(await exitOf(p), 1);
  assert.match(p.stderr, /RangeError: main failed on purpose\n\s+at (Module\.)?main \(.*fails\.ts/);
  assert.equal(await exitOf(broker), 0);
});

test("a script without main() says so", async () => {
  const broker = await startBroker();
  procs.push(broker);
  const p = startWorker(`${FIXTURES}scripts/nomain.ts`, [], brokerEnv(broker));
  procs.push(p);
  assert.equal(await exitOf(p), 2);
  assert.match(p.stderr, /has no exported main\(\) function/);
  assert.equal(await exitOf(broker), 0);
});

test("without BROKER_ADDRESS the script runs serially in-process, with one warning", async () => {
  const p = startWorker(`${FIXTURES}scripts/fib.ts`, ["10"], {});
  procs.push(p);
  assert.equal(await exitOf(p), 0, p.stderr);
  assert.equal(p.stdout.trim(), "fib(10) = 55");
  assert.equal(p.stderr.trim().split("\n").length, 1);
  assert.match(p.stderr, /BROKER_ADDRESS is not set: running the script serially/);
});
