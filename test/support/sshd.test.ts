// Checks the test sshd itself (test/support/sshd.ts): logins on each loopback
// alias, the alias really is the server address, reverse tunnels work, and
// stop() leaves no process behind. Remote-launch tests build on all of this.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { after, before, describe, test } from "node:test";
import { freePort, listOurProcesses, spawnCollect, waitFor } from "./processes.js";
import { sshdSkipReason, startSshd, type SshdHandle } from "./sshd.js";

// Throws (fails the file) in CI when sshd is missing; skips on a dev machine.
const skip = sshdSkipReason();

describe("test sshd on loopback aliases", { skip }, () => {
  let sshd: SshdHandle;
  let startMs = 0;

  before(async () => {
    const t0 = performance.now();
    sshd = await startSshd();
    startMs = performance.now() - t0;
  });

  after(async () => {
    await sshd?.stop();
  });

  test("127.0.0.2 and 127.0.0.3 are routed to lo without any ip addr add", async () => {
    for (const a of ["127.0.0.2", "127.0.0.3"]) {
      const r = await spawnCollect("ip", ["-o", "route", "get", a], { timeout: 5000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /\bdev lo\b/, `route to ${a}: ${r.stdout}`);
    }
  });

  test("starts quickly on the default aliases with one port", (t) => {
    assert.deepEqual(sshd.addresses, ["127.0.0.2", "127.0.0.3"]);
    assert.ok(sshd.port > 0 && sshd.port < 65536);
    assert.ok(startMs < 3000, `startSshd took ${startMs.toFixed(0)} ms`);
    // Visible in the test output, useful when tuning.
    t.diagnostic(`startSshd took ${startMs.toFixed(0)} ms (port ${sshd.port}, dir ${sshd.dir})`);
  });

  test("runs a command on 127.0.0.2 through the ssh wrapper", async () => {
    const r = await spawnCollect(sshd.sshExecutable, ["127.0.0.2", "echo", "hello"], { timeout: 10_000 });
    assert.equal(r.code, 0, `${r.stderr}\n${sshd.log()}`);
    assert.equal(r.stdout, "hello\n");
    assert.equal(r.stderr, "");
  });

  test("127.0.0.3 is the server address seen by the session", async () => {
    const r = await spawnCollect(sshd.sshExecutable, ["127.0.0.3", "echo $SSH_CONNECTION"], { timeout: 10_000 });
    assert.equal(r.code, 0, `${r.stderr}\n${sshd.log()}`);
    // "client_ip client_port server_ip server_port"
    const [clientIp, , serverIp, serverPort] = r.stdout.trim().split(" ");
    assert.equal(serverIp, "127.0.0.3");
    assert.equal(Number(serverPort), sshd.port);
    assert.match(clientIp!, /^127\./);
  });

  test("sessions carry the marker and SCOOP_* variables are accepted", async () => {
    const r = await spawnCollect(
      sshd.sshExecutable,
      ["-o", "SendEnv=SCOOP_PROBE", "127.0.0.2", 'echo "$SCOOP_TEST_SSHD/$SCOOP_PROBE"'],
      { timeout: 10_000, env: { ...process.env, SCOOP_PROBE: "sent" } },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `${sshd.sessionMarker.split("=")[1]}/sent`);
  });

  test("a reverse tunnel (-R) reaches a local server from the remote side", async () => {
    let connections = 0;
    const echo: Server = createServer((sock) => {
      connections++;
      sock.on("data", (d) => sock.write(`echo:${d}`));
      sock.on("error", () => {});
    });
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
    try {
      const localPort = (echo.address() as { port: number }).port;
      const remotePort = await freePort("127.0.0.1");
      // The remote side is this machine: the tunnel's listening end is
      // 127.0.0.1:remotePort in sshd. Retry the connect briefly in case the
      // forward is registered a moment after the session starts.
      const remote =
        `for i in 1 2 3 4 5 6 7 8 9 10; do exec 3<>/dev/tcp/127.0.0.1/${remotePort} && break; sleep 0.1; done; ` +
        `printf 'ping\\n' >&3; IFS= read -r line <&3; echo "$line"`;
      const r = await spawnCollect(
        sshd.sshExecutable,
        ["-R", `${remotePort}:127.0.0.1:${localPort}`, "127.0.0.2", `bash -c ${shQuote(remote)}`],
        { timeout: 15_000 },
      );
      assert.equal(r.code, 0, `${r.stderr}\n${sshd.log()}`);
      assert.equal(r.stdout.trim(), "echo:ping");
      assert.equal(connections, 1);
      // The forward is gone with the session.
      await waitFor(() => refused("127.0.0.1", remotePort), { timeout: 3000, what: `remote port ${remotePort} to close` });
    } finally {
      await new Promise((r) => echo.close(r));
    }
  });

  test("stop() kills sshd, connections and detached session processes, and removes the dir", async () => {
    const own = await startSshd({ addresses: ["127.0.0.4"] });
    const tag = `scoop-sshd-test-${process.pid}-${Date.now()}`;
    // A session process that detaches from its ssh connection (like a remote
    // worker started with nohup/&) plus a session still held open by a client.
    const detached = await spawnCollect(
      own.sshExecutable,
      ["127.0.0.4", `setsid sh -c 'sleep 300; : ${tag}' </dev/null >/dev/null 2>&1 & echo started`],
      { timeout: 10_000 },
    );
    assert.equal(detached.code, 0, detached.stderr);
    const held = spawnCollect(own.sshExecutable, ["127.0.0.4", `sh -c 'sleep 301; : ${tag}'`], { timeout: 20_000 });
    await waitFor(async () => (await listOurProcesses(tag)).length >= 2, { timeout: 5000, what: "both remote sleeps" });
    assert.ok(own.sessionProcesses().length >= 2, JSON.stringify(own.sessionProcesses()));
    assert.ok((await listOurProcesses(`${own.dir}/sshd_config`)).length >= 1, "sshd visible in ps");

    await own.stop();

    assert.deepEqual(await listOurProcesses(tag), []);
    assert.deepEqual(await listOurProcesses(`${own.dir}/sshd_config`), []);
    assert.deepEqual(own.sessionProcesses(), []);
    assert.equal(existsSync(own.dir), false);
    // The client whose session was killed ends on its own, with an error.
    const h = await held;
    assert.notEqual(h.code, 0);
    assert.ok(await refused("127.0.0.4", own.port), "port closed");
    await own.stop(); // idempotent
  });

  test("rejects non-loopback addresses", async () => {
    await assert.rejects(startSshd({ addresses: ["10.1.2.3"] }), /not a loopback address/);
  });

  test("the main sshd is still serving after the other tests", async () => {
    const r = await spawnCollect(sshd.sshExecutable, ["127.0.0.3", "true"], { timeout: 10_000 });
    assert.equal(r.code, 0, r.stderr);
  });
});

// Runs last in this file: stop() of the shared sshd, then nothing of it is left.
describe("test sshd cleanup", { skip }, () => {
  test("start, use, stop: no sshd of ours remains", async (t) => {
    const s = await startSshd();
    const r = await spawnCollect(s.sshExecutable, ["127.0.0.2", "echo", "ok"], { timeout: 10_000 });
    assert.equal(r.stdout, "ok\n");
    const t0 = performance.now();
    await s.stop();
    const stopMs = performance.now() - t0;
    t.diagnostic(`stop() took ${stopMs.toFixed(0)} ms`);
    assert.deepEqual(await listOurProcesses(s.dir), []);
    assert.equal(existsSync(s.dir), false);
    for (const a of s.addresses) assert.ok(await refused(a, s.port), `${a}:${s.port} closed`);
  });
});

/** True when nothing accepts TCP connections on host:port. */
function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    sock.once("connect", () => {
      sock.destroy();
      resolve(false);
    });
    sock.once("error", () => resolve(true));
  });
}

function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
