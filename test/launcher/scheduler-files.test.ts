import { test } from "node:test";
import assert from "node:assert/strict";
import { parseLsbMcpuHosts, parsePbsNodefile, parseSgeHostfile } from "../../src/launcher/hosts/index.js";
import { hostFixture as fixture, SCOOP_HOSTS, throwsConfig } from "../support/hosts.js";

// --- PBS / Torque ---------------------------------------------------------------------------------

test("PBS: SCOOP's pbshostssim.txt (every entry on one line) gives host1:8 host2:4 host3:2 host4:2", () => {
  assert.deepEqual(parsePbsNodefile(fixture("scoop-pbshostssim.txt")), SCOOP_HOSTS);
});

test("PBS: a real one-host-per-line nodefile counts appearances, first-seen order, CRLF tolerated", () => {
  assert.deepEqual(parsePbsNodefile(fixture("pbs-nodefile.txt")), [
    { host: "node01.cluster", slots: 4 },
    { host: "node02.cluster", slots: 2 },
  ]);
  assert.deepEqual(parsePbsNodefile("b\r\na\r\nb\r\n\r\n"), [
    { host: "b", slots: 2 },
    { host: "a", slots: 1 },
  ]);
});

test("PBS: an entry that is not a host name is refused with source and line", () => {
  throwsConfig(
    () => parsePbsNodefile("n1\nn2:ppn=4\n", "PBS_NODEFILE /var/spool/aux/42"),
    /^PBS_NODEFILE \/var\/spool\/aux\/42 line 2: "n2:ppn=4" — not a valid host name$/,
  );
});

test("PBS: an empty nodefile is refused", () => {
  throwsConfig(() => parsePbsNodefile("\n \n"), /^PBS_NODEFILE: no host listed$/);
});

// --- SGE ------------------------------------------------------------------------------------------

test("SGE: SCOOP's sgehostssim.txt gives host1:8 host2:4 host3:2 host4:2", () => {
  assert.deepEqual(parseSgeHostfile(fixture("scoop-sgehostssim.txt")), SCOOP_HOSTS);
});

test("SGE: queue and processor range are ignored; a host in two queues adds up", () => {
  assert.deepEqual(parseSgeHostfile(fixture("sge-pe-hostfile.txt")), [
    { host: "node02.cluster", slots: 5 },
    { host: "node01.cluster", slots: 2 },
  ]);
  assert.deepEqual(parseSgeHostfile("solo 3\n"), [{ host: "solo", slots: 3 }]);
});

test("SGE: malformed lines are refused with source and line", () => {
  const expected = /— expected "host slots queue processor-range" with slots >= 1$/;
  const cases: Array<[string, number]> = [
    ["a 1 q r\nnode1\n", 2],
    ["node1 x all.q UNDEFINED\n", 1],
    ["node1 0 all.q UNDEFINED\n", 1],
    ["node1 -3 all.q UNDEFINED\n", 1],
    ["\n\nnode1 2 q r extra\n", 3],
  ];
  for (const [text, line] of cases) {
    throwsConfig(() => parseSgeHostfile(text, "PE_HOSTFILE /tmp/pe"), new RegExp(`^PE_HOSTFILE /tmp/pe line ${line}: "[^"]*" ${expected.source}`));
  }
  throwsConfig(() => parseSgeHostfile("-x 2 q r\n"), /^PE_HOSTFILE line 1: "-x" — a host name cannot start/);
  throwsConfig(() => parseSgeHostfile(""), /^PE_HOSTFILE: no host listed$/);
});

// --- LSF ------------------------------------------------------------------------------------------

test("LSF: LSB_MCPU_HOSTS pairs host and count", () => {
  assert.deepEqual(parseLsbMcpuHosts("host1 8 host2 4"), [
    { host: "host1", slots: 8 },
    { host: "host2", slots: 4 },
  ]);
  assert.deepEqual(parseLsbMcpuHosts("host1 8 host2 4 host3 2 host4 2"), SCOOP_HOSTS);
  assert.deepEqual(parseLsbMcpuHosts("  a 1\n b  2 a 3 "), [
    { host: "a", slots: 4 },
    { host: "b", slots: 2 },
  ]);
});

test("LSF: malformed values are refused, naming the variable", () => {
  throwsConfig(() => parseLsbMcpuHosts("host1 8 host2"), /^LSB_MCPU_HOSTS="host1 8 host2" — expected pairs "host count"$/);
  throwsConfig(() => parseLsbMcpuHosts("host1 x"), /^LSB_MCPU_HOSTS: count "x" for host "host1" is not a positive integer$/);
  throwsConfig(() => parseLsbMcpuHosts("host1 0"), /^LSB_MCPU_HOSTS: count "0" for host "host1"/);
  throwsConfig(() => parseLsbMcpuHosts("8 host1"), /^LSB_MCPU_HOSTS: count "host1" for host "8"/);
  throwsConfig(() => parseLsbMcpuHosts("   "), /^LSB_MCPU_HOSTS: no host listed$/);
  throwsConfig(() => parseLsbMcpuHosts("a/b 2"), /^LSB_MCPU_HOSTS: "a\/b" — not a valid host name$/);
});
