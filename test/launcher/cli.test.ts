// The launcher's command line: bad input is one line and exit 2 (no stack trace), plus the pure
// pieces under it (argv normalisation, word splitting, local-host recognition, worker placement).
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { test } from "node:test";
import { isLocalHost } from "../../src/launcher/local-host.js";
import { normaliseArgv, parseNice, parseWorkerCount, splitWords } from "../../src/launcher/options.js";
import { describePlan, planLaunch } from "../../src/launcher/plan.js";
import { FIXTURES, scoopRun } from "./scoop-helpers.js";

const SCRIPT = `${FIXTURES}where.ts`;

const BAD: Array<[string, string[], RegExp]> = [
  ["unknown flag", ["--bogus", SCRIPT], /unknown option '--bogus'/],
  ["-n 0", ["-n", "0", SCRIPT], /-n 0: the number of workers must be at least 1/],
  ["-n abc", ["-n", "abc", SCRIPT], /-n "abc": the number of workers must be a positive integer/],
  ["-n 1.5", ["-n", "1.5", SCRIPT], /must be a positive integer/],
  ["-n without value", ["-n"], /argument missing/],
  ["missing script", [], /missing required argument 'script'/],
  ["missing script after options", ["-n", "2"], /missing required argument 'script'/],
  ["script not found", ["-n", "2", "no-such-script.ts"], /script not found: no-such-script\.ts/],
  ["hostfile not found", ["--hostfile", "/nonexistent/hosts", SCRIPT], /--hostfile: cannot read "\/nonexistent\/hosts" \(ENOENT\)/],
  ["bad hostfile line", ["--hostfile", `${FIXTURES}bad-hostfile.txt`, SCRIPT], /line 3: "node2 lots" — expected "host \[count\]"/],
  ["--hosts with no host", ["--hosts", "-n", "2", SCRIPT], /--hosts: no host given/],
  ["--hosts and --hostfile", ["--hosts", "a", "--hostfile", `${FIXTURES}bad-hostfile.txt`, SCRIPT], /cannot be used together/],
  ["bad host name", ["--hosts", "bad/host", "x", SCRIPT], /not a valid host name|script not found/],
  ["--nice out of range", ["--nice", "40", SCRIPT], /--nice 40: expected an integer from -20 to 19/],
  ["-v with -q", ["-v", "-q", SCRIPT], /-v and -q cannot be used together/],
  ["unterminated quote", ["--node-options", "'--foo", SCRIPT], /--node-options .*unterminated single quote/],
  ["bad scheduler variable", ["-n", "1", SCRIPT], /SLURM_NTASKS="many" — expected a positive integer/],
];

test("bad input: one line on stderr, exit 2, no stack trace, nothing started", async () => {
  const results = await Promise.all(
    BAD.map(async ([what, args, re]) => {
      const env = what === "bad scheduler variable" ? { SLURM_JOB_NODELIST: "n1", SLURM_NTASKS: "many" } : {};
      return { what, re, r: await scoopRun(args, { env, timeout: 20_000 }) };
    }),
  );
  for (const { what, re, r } of results) {
    assert.equal(r.code, 2, `${what}: exit code\n${r.stderr}`);
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, `${what}: one line expected, got:\n${r.stderr}`);
    assert.match(lines[0]!, /^scoop: /, what);
    assert.match(lines[0]!, re, what);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
    assert.equal(r.stdout, "", what);
  }
});

test("--help and --version exit 0 and describe the options", async () => {
  const [help, version] = await Promise.all([scoopRun(["--help"]), scoopRun(["--version"])]);
  assert.equal(help.code, 0);
  for (const flag of ["-n <count>", "--hosts", "--hostfile", "--path", "--node ", "--node-options", "--prolog", "--ssh-executable", "--tunnel", "--external-hostname", "--nice", "--verbose", "--quiet", "--log", "--debug", "--profile", "--progress"]) {
    assert.ok(help.stdout.includes(flag), `--help mentions ${flag}`);
  }
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+/);
});

test("argv: --hosts takes the following names up to the script; the script's own flags stay its own", () => {
  assert.deepEqual(normaliseArgv(["--hosts", "a", "b", "a", "script.ts", "--hosts", "x"]), ["--hosts=a", "--hosts=b", "--hosts=a", "script.ts", "--hosts", "x"]);
  assert.deepEqual(normaliseArgv(["-n", "4", "--hosts", "a", "-v", "s.js"]), ["-n", "4", "--hosts=a", "-v", "s.js"]);
  assert.deepEqual(normaliseArgv(["--hosts", "a", "b", "--", "prog", "-n", "1"]), ["--hosts=a", "--hosts=b", "--", "prog", "-n", "1"]);
  assert.deepEqual(normaliseArgv(["--host", "a", "dir/prog"]), ["--hosts=a", "dir/prog"]);
  assert.deepEqual(normaliseArgv(["--progress", "s.ts"]), ["--progress=auto", "s.ts"]);
  assert.deepEqual(normaliseArgv(["--log", "-weird-name", "s.ts", "-v"]), ["--log", "-weird-name", "s.ts", "-v"]);
});

test("value parsers", () => {
  assert.equal(parseWorkerCount("8"), 8);
  assert.throws(() => parseWorkerCount("-1"), /positive integer/);
  assert.throws(() => parseWorkerCount("0x10"), /positive integer/);
  assert.equal(parseNice("-5"), -5);
  assert.equal(parseNice("19"), 19);
  assert.deepEqual(splitWords(`ssh -F '/my dir/cfg' -o "User=a b" x\\ y`, "--ssh-executable"), ["ssh", "-F", "/my dir/cfg", "-o", "User=a b", "x y"]);
  assert.deepEqual(splitWords("  ", "x"), []);
});

test("local hosts are recognised without DNS; other loopback addresses are remote", () => {
  for (const h of ["localhost", "127.0.0.1", "::1", "[::1]", hostname(), hostname().toUpperCase()]) assert.equal(isLocalHost(h), true, h);
  for (const h of ["127.0.0.2", "127.0.0.3", "user@localhost", "node01.example.invalid", "thx"]) assert.equal(isLocalHost(h), false, h);
});

test("placement: SCOOP's spread, origin first on the first host, names origin, w1, w2…", () => {
  const isLocal = (h: string) => h === "here";
  const p = planLaunch({ hosts: ["here", "a", "a", "b"], workers: 6, isLocal, env: {} });
  assert.deepEqual(
    p.hosts.map((h) => [h.host, h.local, h.workers.map((w) => w.name)]),
    [
      ["here", true, ["origin", "w1"]],
      ["a", false, ["w2", "w3", "w4"]],
      ["b", false, ["w5"]],
    ],
  );
  assert.equal(p.hosts[0]!.workers[0]!.origin, true);
  assert.equal(p.hosts.flatMap((h) => h.workers).filter((w) => w.origin).length, 1);
  const cut = planLaunch({ hosts: ["a", "a", "b"], workers: 1, isLocal, env: {} });
  assert.deepEqual(cut.hosts.map((h) => [h.host, h.workers.length]), [["a", 1]]);
  const local = planLaunch({ env: {}, cpuCount: 3 });
  assert.equal(local.total, 3);
  assert.equal(local.hosts[0]!.local, true);
  const slurm = planLaunch({ env: { SLURM_JOB_NODELIST: "n[1-2]", SLURM_TASKS_PER_NODE: "2(x2)" }, isLocal });
  assert.deepEqual(slurm.hosts.map((h) => [h.host, h.workers.length]), [["n1", 2], ["n2", 2]]);
  assert.match(describePlan(p), /6 workers on 3 hosts; hosts from --hosts:\n  here +2 workers \(origin, w1\)\n  a +3 workers \(w2, w3, w4\) over ssh/);
});
