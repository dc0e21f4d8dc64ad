// CurveZMQ: with keys a pool works across two loopback "hosts"; a client with no key or a wrong key
// gets no answer; a capture of the traffic shows no plaintext payload (and does without keys).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Dealer } from "zeromq";
import { encodeHeader, MessageType } from "../../src/protocol/messages.js";
import { clientSocketOptions, generateKeys, readKeyFile, writeKeyFile } from "../../src/transport/curve.js";
import { PACKAGE_VERSION, PROTOCOL_VERSION } from "../../src/version.js";
import { BROKER_CLI, exitOf, FIXTURES, killAll, start, startBroker, startWorker, type Proc } from "../support/cluster.js";
import { freePort, waitFor } from "../support/processes.js";

const procs: Proc[] = [];
const dir = mkdtempSync(join(tmpdir(), "scoop-curve-"));
after(() => {
  killAll(procs);
  rmSync(dir, { recursive: true, force: true });
});
const keyFile = writeKeyFile(join(dir, "run"));
const SECRET = `${FIXTURES}scripts/secret.ts`;

/** A TCP relay that records every byte crossing it: the "capture on the port". */
async function capture(targetPort: number): Promise<{ port: number; bytes: () => Buffer; server: Server }> {
  const chunks: Buffer[] = [];
  const port = await freePort();
  const server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    client.on("data", (d) => chunks.push(Buffer.from(d)));
    upstream.on("data", (d) => chunks.push(Buffer.from(d)));
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return { port, bytes: () => Buffer.concat(chunks), server };
}

async function runThroughCapture(withKeys: boolean): Promise<{ captured: Buffer; marker: string; out: { ok: boolean; workers: string[] } }> {
  const marker = `PLAINTEXT-MARKER-${randomBytes(6).toString("hex")}`;
  const keyArgs = withKeys ? ["--key-file", keyFile] : [];
  const keyEnv = withKeys ? { SCOOP_KEY_FILE: keyFile } : {};
  const broker = await startBroker([...keyArgs, "-v"]);
  procs.push(broker);
  const taskPort = Number(broker.taskAddress.split(":").pop());
  const cap = await capture(taskPort);
  const w = startWorker(SECRET, [], { ...keyEnv, IS_ORIGIN: "0", WORKER_NAME: "w1", BROKER_ADDRESS: `tcp://127.0.0.1:${cap.port}`, META_ADDRESS: broker.metaAddress });
  procs.push(w);
  await waitFor(() => broker.stderr.includes("w1 joined"), { timeout: 15_000, what: "w1 to join" });
  const origin = startWorker(SECRET, [marker], { ...keyEnv, SCOOP_EXECUTE: "0", BROKER_ADDRESS: `tcp://127.0.0.1:${cap.port}`, META_ADDRESS: broker.metaAddress });
  procs.push(origin);
  assert.equal(await exitOf(origin), 0, origin.stderr);
  await exitOf(w);
  await exitOf(broker);
  cap.server.close();
  return { captured: cap.bytes(), marker, out: JSON.parse(origin.stdout) };
}

test("with keys the payload never crosses the wire in clear; without keys it does (the capture works)", async () => {
  const clear = await runThroughCapture(false);
  assert.ok(clear.out.ok);
  assert.ok(clear.captured.includes(clear.marker), "control: without keys the marker is visible in the capture");
  const sealed = await runThroughCapture(true);
  assert.ok(sealed.out.ok);
  assert.deepEqual(sealed.out.workers, ["w1"]);
  assert.ok(sealed.captured.length > 1000, "traffic was captured");
  assert.ok(!sealed.captured.includes(sealed.marker), "with keys the marker must not appear in the capture");
  // The handshake's field names are long enough that random ciphertext cannot contain them by chance.
  assert.ok(clear.captured.includes(Buffer.from("brokerName")), "control: the handshake is readable without keys");
  assert.ok(!sealed.captured.includes(Buffer.from("brokerName")), "with keys the handshake is not readable either");
});

test("with keys, a pool works across two loopback hosts (127.0.0.2 and 127.0.0.3)", async () => {
  const broker = await startBroker(["--host", "0.0.0.0", "--key-file", keyFile, "-v"]);
  procs.push(broker);
  const [tPort, mPort] = [broker.taskAddress, broker.metaAddress].map((a) => a.split(":").pop());
  const at = (host: string) => ({ SCOOP_KEY_FILE: keyFile, BROKER_ADDRESS: `tcp://${host}:${tPort}`, META_ADDRESS: `tcp://${host}:${mPort}` });
  const w = startWorker(SECRET, [], { ...at("127.0.0.2"), IS_ORIGIN: "0", WORKER_NAME: "on-2", SCOOP_TEST_HOST: "127.0.0.2" });
  procs.push(w);
  await waitFor(() => broker.stderr.includes("on-2 joined"), { timeout: 15_000, what: "the worker on 127.0.0.2" });
  const origin = startWorker(SECRET, ["hello"], { ...at("127.0.0.3"), SCOOP_EXECUTE: "0" });
  procs.push(origin);
  assert.equal(await exitOf(origin), 0, origin.stderr);
  assert.deepEqual(JSON.parse(origin.stdout), { ok: true, workers: ["on-2"] });
  assert.equal(await exitOf(w), 0);
  assert.equal(await exitOf(broker), 0);
});

test("a client with no key, or with a wrong key, gets no answer at all", async () => {
  const broker = await startBroker(["--key-file", keyFile]);
  procs.push(broker);
  const hello = encodeHeader([
    MessageType.Hello,
    { protocol: PROTOCOL_VERSION, version: PACKAGE_VERSION, name: "intruder", brokerName: "broker", origin: false, host: "x", pid: 1, executes: true },
  ]);
  const wrong = generateKeys();
  const attempts = [
    new Dealer({ linger: 0, receiveTimeout: 2000 }),
    new Dealer({ linger: 0, receiveTimeout: 2000, ...clientSocketOptions({ ...wrong, serverPublic: readKeyFile(keyFile).serverPublic }) }),
    new Dealer({ linger: 0, receiveTimeout: 2000, ...clientSocketOptions(wrong) }),
  ];
  for (const d of attempts) {
    d.connect(broker.taskAddress);
    await d.send([hello]).catch(() => {});
    await assert.rejects(() => d.receive(), (e: NodeJS.ErrnoException) => e.code === "EAGAIN", "no reply may come back");
    d.close();
  }
  const noKey = startWorker(SECRET, ["x"], { BROKER_ADDRESS: broker.taskAddress, META_ADDRESS: broker.metaAddress, SCOOP_CONNECT_TIMEOUT: "2000" });
  procs.push(noKey);
  assert.equal(await exitOf(noKey), 1);
  assert.match(noKey.stderr, /no answer from broker .* same key file/);
  broker.kill("SIGTERM");
  await exitOf(broker);
});

test("binding beyond loopback without keys is refused (one line, exit 2)", async () => {
  const b = start(process.execPath, [BROKER_CLI, "--host", "0.0.0.0"]);
  procs.push(b);
  assert.equal(await exitOf(b), 2);
  assert.match(b.stderr.trim(), /^scoop-broker: binding beyond loopback \(0\.0\.0\.0\) needs keys/);
});
