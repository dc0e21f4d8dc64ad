// Remote launch end to end against a real sshd listening on 127.0.0.2 and 127.0.0.3 (two "hosts"
// of this machine, test/support/sshd.ts): work done on both hosts, with and without --tunnel, a
// --prolog whose variable the tasks read, unreachable hosts and bad paths reported by name,
// Ctrl-C leaving no process on any host.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { sshdSkipReason, startSshd, type SshdHandle } from "../support/sshd.js";
import { listOurProcesses } from "../support/processes.js";
import { FIXTURES, leftovers, scoop, scoopRun, uniqueMarker } from "./scoop-helpers.js";

const skip = sshdSkipReason();
const WHERE = `${FIXTURES}where.ts`;
const LONG = `${FIXTURES}long.ts`;
let sshd: SshdHandle;
const tmp = mkdtempSync(join(tmpdir(), "scoop-remote-test-"));
const prolog = join(tmp, "prolog.sh");
writeFileSync(prolog, 'SCOOP_TEST_MARKER="prolog:$(uname -n)"\nexport SCOOP_TEST_MARKER\n');

before(async () => {
  if (!skip) sshd = await startSshd();
});
after(async () => {
  await sshd?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** ssh clients of this test's sshd still running (their command line names its client config). */
async function sshClients(): Promise<string[]> {
  return (await listOurProcesses(sshd.sshConfig)).map((p) => `${p.pid} ${p.cmd}`);
}

async function assertNothingLeft(marker: string): Promise<void> {
  assert.deepEqual(await leftovers(marker), [], "no local worker left");
  assert.deepEqual(sshd.sessionProcesses(), [], "no process left on the remote hosts");
  assert.deepEqual(await sshClients(), [], "no ssh client left");
}

interface Where {
  ok: boolean;
  n: number;
  byHost: Record<string, string[]>;
  markers: string[];
  originHost: string;
  size: number;
}

test("--hosts 127.0.0.2 127.0.0.3 -n 4 with a --prolog: origin on the first host, work on both, the prolog's variable seen", { skip }, async () => {
  const marker = uniqueMarker();
  const r = await scoopRun(["--ssh-executable", sshd.sshExecutable, "--hosts", "127.0.0.2", "127.0.0.3", "-n", "4", "--prolog", prolog, "-vv", WHERE, "40", "4", marker]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Where;
  assert.equal(out.ok, true);
  assert.equal(out.n, 40);
  assert.equal(out.size, 4);
  assert.equal(out.originHost, "127.0.0.2", "the origin runs on the first host");
  assert.deepEqual(Object.keys(out.byHost).sort(), ["127.0.0.2", "127.0.0.3"], r.stdout);
  assert.deepEqual(out.byHost["127.0.0.2"]!.sort(), ["origin", "w1"]);
  assert.deepEqual(out.byHost["127.0.0.3"]!.sort(), ["w2", "w3"]);
  assert.ok(out.markers.every((m) => /^127\.0\.0\.[23]=prolog:/.test(m)), `prolog variable on every remote worker: ${out.markers}`);
  assert.match(r.stderr, /127\.0\.0\.2 +2 workers \(origin, w1\) over ssh\n +127\.0\.0\.3 +2 workers \(w2, w3\) over ssh/);
  assert.match(r.stderr, /127\.0\.0\.2: workers reach the broker at tcp:\/\/127\.0\.0\.1:\d+/);
  assert.match(r.stderr, /broker scoop-\d+ bound to 0\.0\.0\.0/, "remote hosts need the broker beyond loopback");
  await assertNothingLeft(marker);
});

test("--tunnel with a local origin: remote workers reach the broker through ssh reverse tunnels", { skip }, async () => {
  const marker = uniqueMarker();
  const r = await scoopRun(["--ssh-executable", sshd.sshExecutable, "--hosts", "localhost", "127.0.0.2", "127.0.0.3", "--tunnel", "--prolog", prolog, "-vv", WHERE, "40", "3", marker]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Where;
  assert.equal(out.ok, true);
  assert.equal(out.originHost, "local");
  assert.deepEqual(Object.keys(out.byHost).sort(), ["127.0.0.2", "127.0.0.3", "local"], r.stdout);
  assert.deepEqual(out.markers, ["127.0.0.2=prolog:" + out.markers[0]!.split(":")[1], "127.0.0.3=prolog:" + out.markers[1]!.split(":")[1], "local=null"]);
  // Through the tunnel, a remote worker's broker is on its own loopback, at a forwarded port.
  const ports = [...r.stderr.matchAll(/127\.0\.0\.[23]: workers reach the broker at tcp:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => m[1]);
  assert.equal(ports.length, 2, r.stderr);
  assert.notEqual(ports[0], ports[1], "one tunnel per host");
  assert.match(r.stderr, /broker scoop-\d+ bound to 127\.0\.0\.1/, "with --tunnel the broker stays on loopback");
  await assertNothingLeft(marker);
});

test("an ssh config alias is handed to ssh unchanged (never resolved here); --ssh-executable may carry options", { skip }, async () => {
  // "alpha" exists only in this ssh config: any DNS lookup of it would fail.
  const base = readFileSync(sshd.sshConfig, "utf8");
  const settings = base.split("\n").filter((l) => /^\s+\S/.test(l));
  const config = join(tmp, "alias_config");
  writeFileSync(config, ["Host alpha", "  HostName 127.0.0.2", ...settings, ""].join("\n"));
  const r = await scoopRun(["--ssh-executable", `ssh -F '${config}'`, "--hosts", "alpha", "alpha", "-v", WHERE, "8", "2"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Where;
  assert.deepEqual(Object.keys(out.byHost), ["127.0.0.2"], "the alias led to 127.0.0.2");
  assert.equal(out.originHost, "127.0.0.2");
  assert.match(r.stderr, /alpha +2 workers \(origin, w1\) over ssh/);
});

test("an unreachable host is named with ssh's own message; the run stops cleanly (exit 1)", { skip }, async () => {
  const marker = uniqueMarker();
  const t0 = Date.now();
  const r = await scoopRun(["--ssh-executable", sshd.sshExecutable, "--hosts", "127.0.0.2", "127.0.0.9", "-n", "2", WHERE, "10", "0", marker]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /cannot reach host 127\.0\.0\.9: ssh: connect to host 127\.0\.0\.9 port \d+: Connection refused/);
  assert.ok(Date.now() - t0 < 10_000);
  await assertNothingLeft(marker);
});

test("--external-hostname is what remote workers use; a bad --path, a missing prolog, an unreachable broker are reported with the host's name", { skip }, async () => {
  const [ext, path, pro, noBroker] = await Promise.all([
    scoopRun(["--ssh-executable", sshd.sshExecutable, "--hosts", "127.0.0.3", "127.0.0.3", "--external-hostname", "127.0.0.1", "-v", WHERE, "8", "2"]),
    scoopRun(["--ssh-executable", sshd.sshExecutable, "--hosts", "127.0.0.3", "--path", "/no/such/dir", WHERE, "4"]),
    scoopRun(["--ssh-executable", sshd.sshExecutable, "--hosts", "127.0.0.2", "--prolog", "/no/such/prolog.sh", WHERE, "4"]),
    scoopRun(["--ssh-executable", sshd.sshExecutable, "--hosts", "127.0.0.2", "--external-hostname", "no-such-host.invalid", WHERE, "4"]),
  ]);
  assert.equal(ext.code, 0, ext.stderr);
  assert.match(ext.stderr, /127\.0\.0\.3: workers reach the broker at tcp:\/\/127\.0\.0\.1:\d+/);
  assert.deepEqual(Object.keys((JSON.parse(ext.stdout) as Where).byHost), ["127.0.0.3"]);
  assert.equal(noBroker.code, 1, noBroker.stderr);
  assert.match(noBroker.stderr, /host 127\.0\.0\.2: cannot reach the broker from \S+: tried tcp:\/\/no-such-host\.invalid:\d+ \((ENOTFOUND|EAI_AGAIN)\).*--external-hostname.*--tunnel/);
  assert.equal(path.code, 1, path.stderr);
  assert.match(path.stderr, /host 127\.0\.0\.3: scoop: no directory \/no\/such\/dir on \S+ \(--path\)/);
  assert.equal(pro.code, 1, pro.stderr);
  assert.match(pro.stderr, /host 127\.0\.0\.2: scoop: cannot read the prolog \/no\/such\/prolog\.sh on \S+/);
  assert.deepEqual(sshd.sessionProcesses(), []);
});

test("Ctrl-C during a long run over local and remote hosts: everything stops within 2 s, nothing left anywhere", { skip }, async () => {
  const marker = uniqueMarker();
  // 3 s tasks: the workers are busy and must be killed, not just asked.
  const run = scoop(["--ssh-executable", sshd.sshExecutable, "--hosts", "127.0.0.1", "127.0.0.2", "127.0.0.3", "-n", "5", "-v", LONG, "3000", "100", marker]);
  await run.waitStdout(/started/);
  await run.waitStderr(/(joined[\s\S]*){5}/);
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(sshd.sessionProcesses().length >= 3, "remote workers are running");
  const t0 = Date.now();
  run.child.kill("SIGINT");
  const { code, at } = await run.exited;
  assert.ok(at - t0 < 2000, `stopped in ${at - t0} ms`);
  assert.equal(code, 130, run.stderr);
  await assertNothingLeft(marker);
});
