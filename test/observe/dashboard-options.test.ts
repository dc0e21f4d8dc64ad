// The command line of observation: `--dashboard [PORT]` (an optional value that never swallows the
// script), `--dashboard-host`, `--metrics PORT`; mistakes are one line and exit 2; a taken port is
// refused before any worker starts, or replaced by a free one when no port was asked for.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { after, test } from "node:test";
import { DEFAULT_DASHBOARD_PORT, normaliseArgv, parseDashboard, parsePort } from "../../src/launcher/options.js";
import { ROOT, scoopRun } from "../launcher/scoop-helpers.js";

const WHOAMI = `${ROOT}test/fixtures/scripts/whoami.ts`;
const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

function occupy(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    servers.push(s);
    s.once("error", reject);
    s.listen({ host: "127.0.0.1", port, exclusive: true }, () => resolve((s.address() as { port: number }).port));
  });
}

test("argv: --dashboard takes a port only when one follows; the script and its flags stay untouched", () => {
  assert.deepEqual(normaliseArgv(["--dashboard", "job.ts", "1"]), ["--dashboard=auto", "job.ts", "1"]);
  assert.deepEqual(normaliseArgv(["--dashboard", "9000", "job.ts"]), ["--dashboard=9000", "job.ts"]);
  assert.deepEqual(normaliseArgv(["--dashboard", "-n", "2", "job.ts"]), ["--dashboard=auto", "-n", "2", "job.ts"]);
  assert.deepEqual(normaliseArgv(["--metrics", "9100", "--dashboard-host", "0.0.0.0", "job.ts", "--dashboard", "1"]), [
    "--metrics",
    "9100",
    "--dashboard-host",
    "0.0.0.0",
    "job.ts",
    "--dashboard",
    "1",
  ]);
  assert.deepEqual(parseDashboard("auto"), { port: DEFAULT_DASHBOARD_PORT, fallback: true });
  assert.deepEqual(parseDashboard("0"), { port: 0, fallback: false });
  assert.equal(parsePort("9100", "--metrics"), 9100);
  assert.throws(() => parsePort("70000", "--metrics"), /--metrics "70000": expected a port number from 0/);
  assert.throws(() => parsePort("http", "--metrics"), /--metrics "http": expected a port number/);
});

test("bad observation flags: one line on stderr, exit 2, nothing started", async () => {
  const taken = await occupy();
  const cases: Array<[string[], RegExp]> = [
    [["--metrics", "x", WHOAMI], /^scoop: --metrics "x": expected a port number from 0 \(any free port\) to 65535\n$/],
    [["--dashboard=99999", WHOAMI], /^scoop: --dashboard "99999": expected a port number/],
    [["--dashboard-host", "0.0.0.0", WHOAMI], /^scoop: --dashboard-host needs --dashboard or --metrics\n$/],
    [["-n", "1", "--dashboard", String(taken), WHOAMI], new RegExp(`^scoop: cannot serve the dashboard on 127\\.0\\.0\\.1:${taken}: EADDRINUSE\\n$`)],
  ];
  const runs = await Promise.all(cases.map(([args]) => scoopRun(args)));
  runs.forEach((r, i) => {
    assert.equal(r.code, 2, `${cases[i]![0].join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, cases[i]![1]);
    assert.equal(r.stdout, "");
  });
});

test("--dashboard with no port: the default one, or a free one when it is taken; the URL is one line on stderr", async () => {
  // Take the default port (unless something else already has it): the run must still get a dashboard.
  await occupy(DEFAULT_DASHBOARD_PORT).catch(() => undefined);
  const r = await scoopRun(["-n", "1", "--dashboard", WHOAMI, "x"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.split("\n").filter((l) => l.includes("dashboard"));
  assert.equal(lines.length, 1, r.stderr);
  const m = /^scoop: dashboard at http:\/\/127\.0\.0\.1:(\d+)\/$/.exec(lines[0]!);
  assert.ok(m, lines[0]);
  assert.notEqual(Number(m[1]), DEFAULT_DASHBOARD_PORT);
  assert.deepEqual(JSON.parse(r.stdout).argv, ["x"], "the script and its arguments are untouched");
});
