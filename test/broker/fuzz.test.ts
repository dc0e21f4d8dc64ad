// Hostile and broken input while a map runs: random bytes on raw TCP, random and mutated frames from
// peers with and without a handshake, an oversized message. The map's results are correct and the
// broker is still up and serving afterwards.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { after, test } from "node:test";
import { Dealer } from "zeromq";
import { encodeHeader, MessageType, type Header } from "../../src/protocol/messages.js";
import { PACKAGE_VERSION, PROTOCOL_VERSION } from "../../src/version.js";
import { brokerEnv, exitOf, FIXTURES, killAll, startBroker, startWorker, type Proc } from "../support/cluster.js";
import { waitFor } from "../support/processes.js";

const procs: Proc[] = [];
after(() => killAll(procs));
const SCRIPT = `${FIXTURES}faults/longmap.ts`;

/** A deterministic PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const hello = (name: string) => ({
  protocol: PROTOCOL_VERSION,
  version: PACKAGE_VERSION,
  name,
  brokerName: "broker",
  origin: false,
  host: "fuzz",
  pid: 1,
  executes: true,
});

function validHeaders(): Header[] {
  return [
    [MessageType.Request, 5],
    [MessageType.Submit, [2 ** 32 * 7 + 1], [1]],
    [MessageType.Result, [2 ** 32 + 5], [1]],
    [MessageType.Cancel, [2 ** 32 + 1, 2 ** 32 + 2]],
    [MessageType.SetConst, 1, ["fuzzed"]],
    [MessageType.GetConst, "nope"],
    [MessageType.Shutdown, 0],
    [MessageType.Heartbeat, 1, "bad-token"],
    [MessageType.Bye],
    [MessageType.Hello, hello("fuzz-mutant")],
    [MessageType.Returned, [2 ** 32 + 1, 2 ** 32 * 9 + 3]],
  ];
}

function mutate(buf: Buffer, r: () => number): Buffer {
  const b = Buffer.from(buf);
  const kind = Math.floor(r() * 4);
  if (kind === 0 && b.length > 1) return b.subarray(0, Math.floor(r() * b.length)); // truncate
  if (kind === 1) {
    for (let i = 0; i < 1 + r() * 3; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256); // flip bytes
    return b;
  }
  if (kind === 2) return Buffer.concat([b, randomBytes(Math.floor(r() * 16))]); // trailing junk
  return randomBytes(Math.floor(r() * 64)); // pure noise
}

test("the broker survives thousands of random and mutated frames while a map runs", async () => {
  const broker = await startBroker(["--heartbeat-interval", "200", "--heartbeat-timeout", "3000", "--max-message-size", "1048576", "--log-level", "debug"]);
  procs.push(broker);
  const env = brokerEnv(broker);
  const workers = [1, 2].map((i) => startWorker(SCRIPT, [], { ...env, IS_ORIGIN: "0", WORKER_NAME: `f${i}` }));
  procs.push(...workers);
  await waitFor(() => (broker.stderr.match(/joined/g) ?? []).length >= 2, { timeout: 15_000, what: "workers to join" });
  const origin = startWorker(SCRIPT, ["10000"], env);
  procs.push(origin);
  await waitFor(() => origin.stdout.includes("PROGRESS"), { timeout: 30_000, what: "the map to be under way" });

  const r = rng(42);
  const [taskPort, metaPort] = [broker.taskAddress, broker.metaAddress].map((a) => Number(a.split(":").pop()));
  // 1. Raw TCP noise on both ports: not even ZMTP.
  await Promise.all(
    [taskPort, metaPort].flatMap((port) =>
      Array.from({ length: 10 }, () => new Promise<void>((resolve) => {
        // libzmq may wait for the rest of a greeting that never comes: hang up ourselves.
        const s = connect(port!, "127.0.0.1", () => {
          s.write(randomBytes(Math.floor(r() * 2048)));
          setTimeout(() => s.destroy(), 50);
        });
        s.on("error", () => resolve());
        s.on("close", () => resolve());
      })),
    ),
  );
  // 2. Peers without a handshake, and one that did handshake, sending random and mutated frames.
  const strangers = Array.from({ length: 3 }, () => new Dealer({ linger: 0, sendTimeout: 1000 }));
  const member = new Dealer({ linger: 0, sendTimeout: 1000 });
  for (const d of [...strangers, member]) d.connect(broker.taskAddress);
  await member.send([encodeHeader([MessageType.Hello, hello("fuzz-member")])]);
  const valid = validHeaders().map(encodeHeader);
  let sent = 0;
  for (let i = 0; i < 4000; i++) {
    const d = i % 4 === 3 ? member : strangers[i % 3]!;
    const parts = 1 + Math.floor(r() * 3);
    const frames: Buffer[] = [];
    for (let p = 0; p < parts; p++) frames.push(r() < 0.6 ? mutate(valid[Math.floor(r() * valid.length)]!, r) : randomBytes(Math.floor(r() * 100)));
    if (r() < 0.2) frames.splice(0, frames.length, valid[Math.floor(r() * valid.length)]!, ...frames); // well-formed header, odd payload
    try {
      await d.send(frames);
      sent++;
    } catch {
      // a peer whose connection libzmq dropped: carry on with the others
    }
    if (i % 500 === 0) await new Promise((res) => setImmediate(res));
  }
  // 3. An oversized message: libzmq drops that peer's connection, nothing else.
  const big = new Dealer({ linger: 0, sendTimeout: 1000 });
  big.connect(broker.taskAddress);
  await big.send([encodeHeader([MessageType.Hello, hello("fuzz-big")]), Buffer.alloc(2 * 1024 * 1024)]).catch(() => {});
  for (const d of [...strangers, member, big]) d.close();
  assert.ok(sent > 3000, `the fuzzer sent ${sent} messages`);

  // Still serving: a newcomer's handshake is answered.
  assert.equal(broker.child.exitCode, null, "the broker is still up");
  const probe = new Dealer({ linger: 0, receiveTimeout: 5000 });
  probe.connect(broker.taskAddress);
  await probe.send([encodeHeader([MessageType.Hello, hello("after-fuzz")])]);
  const [reply] = await probe.receive();
  assert.equal(reply![1], MessageType.Welcome, "the broker answers a handshake after the fuzzing");
  await probe.send([encodeHeader([MessageType.Bye])]);
  probe.close();

  assert.equal(await exitOf(origin, 90_000), 0, origin.stderr);
  const report = JSON.parse(origin.stdout.trim().split("\n").pop()!);
  assert.equal(report.got, 10_000);
  assert.equal(report.bad, 0);
  // Each bad message is counted and logged at debug level, nothing more.
  assert.match(broker.stderr, /dropped a malformed message/);
  assert.match(broker.stderr, /from a peer that did not handshake/);
  for (const w of workers) assert.equal(await exitOf(w), 0);
  assert.equal(await exitOf(broker), 0, broker.stderr.slice(-2000));
});
