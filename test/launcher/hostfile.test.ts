import { test } from "node:test";
import assert from "node:assert/strict";
import { checkHostName, hostsFromList, parseHostfile } from "../../src/launcher/hosts/index.js";
import { hostFixture as fixture, SCOOP_HOSTS, throwsConfig } from "../support/hosts.js";

test("SCOOP's hostfile vector, in the strict grammar, gives host1:8 host2:4 host3:2 host4:2", () => {
  assert.deepEqual(parseHostfile(fixture("hostfile.txt"), "hostfile.txt"), SCOOP_HOSTS);
});

test("SCOOP's own hostfilesim.txt is refused at its first loose line (worker=8)", () => {
  // SCOOP reads the first number anywhere on a line, so it accepts "host1 worker=8", "host3  2 3 4"
  // and "host4 X 2". We refuse such lines on purpose; each one is checked below on its own.
  throwsConfig(
    () => parseHostfile(fixture("scoop-hostfilesim.txt"), "scoop-hostfilesim.txt"),
    /^hostfile scoop-hostfilesim\.txt line 1: "host1 worker=8" — expected "host \[count\]"$/,
  );
  const lines = fixture("scoop-hostfilesim.txt").split("\n");
  assert.deepEqual(parseHostfile(lines[1]!, "f"), [{ host: "host2", slots: 4 }]);
  throwsConfig(() => parseHostfile(lines[2]!, "f"), /^hostfile f line 1: "host3 2 3 4" — expected/);
  throwsConfig(() => parseHostfile(lines[3]!, "f"), /^hostfile f line 1: "host4 X 2" — expected/);
});

test("the brief's error example, verbatim", () => {
  throwsConfig(
    () => parseHostfile("a\nb 2\nnode1 x\n", "hosts.txt"),
    /^hostfile hosts\.txt line 3: "node1 x" — expected "host \[count\]"$/,
  );
});

test("a bare host is one worker; a count and slots=N give that many", () => {
  assert.deepEqual(parseHostfile("alpha\nbeta 3\ngamma slots=5\n", "h"), [
    { host: "alpha", slots: 1 },
    { host: "beta", slots: 3 },
    { host: "gamma", slots: 5 },
  ]);
});

test("repeated hosts add up and keep their first-seen position", () => {
  assert.deepEqual(parseHostfile("b 1\na 2\nb 3\nc\na\n", "h"), [
    { host: "b", slots: 4 },
    { host: "a", slots: 3 },
    { host: "c", slots: 1 },
  ]);
});

test("comments, blank lines, surrounding whitespace, CRLF and a BOM are all tolerated", () => {
  const text = "\uFEFF# cluster A\r\n\r\n   \t  \r\n  n1   4   # four cores\r\nn2 2#no space before hash\r\n\t# indented comment\r\nn3\r\n";
  assert.deepEqual(parseHostfile(text, "h"), [
    { host: "n1", slots: 4 },
    { host: "n2", slots: 2 },
    { host: "n3", slots: 1 },
  ]);
});

test("line numbers in errors count comment and blank lines", () => {
  throwsConfig(() => parseHostfile("# header\n\nok 1\n  bad 0  # zero\n", "cl.txt"), /^hostfile cl\.txt line 4: "bad 0" — the worker count must be at least 1$/);
});

test("malformed lines are refused with file and line", () => {
  const cases: Array<[string, RegExp]> = [
    ["node1 0", /line 1: "node1 0" — the worker count must be at least 1/],
    ["node1 slots=0", /line 1: "node1 slots=0" — the worker count must be at least 1/],
    ["node1 -2", /line 1: "node1 -2" — expected "host \[count\]"/],
    ["node1 2.5", /line 1: "node1 2\.5" — expected/],
    ["node1 +3", /line 1: "node1 \+3" — expected/],
    ["node1 0x10", /line 1: "node1 0x10" — expected/],
    ["node1 slots=x", /line 1: "node1 slots=x" — expected/],
    ["node1 slots = 4", /line 1: "node1 slots = 4" — expected/],
    ["node1 2 3", /line 1: "node1 2 3" — expected/],
    ["node1 99999999999999999999", /line 1: .* — expected/],
  ];
  for (const [line, re] of cases) throwsConfig(() => parseHostfile(`${line}\n`, "f.txt"), new RegExp(`^hostfile f\\.txt ${re.source}`));
});

test("bad host names are refused, including ssh option injection and host:N", () => {
  throwsConfig(() => parseHostfile("ok\n-oProxyCommand=evil 2\n", "f"), /^hostfile f line 2: "-oProxyCommand=evil" — not a valid host name$/);
  throwsConfig(() => parseHostfile("-node 2\n", "f"), /^hostfile f line 1: "-node" — a host name cannot start with "-"$/);
  throwsConfig(() => parseHostfile("no/de 2\n", "f"), /^hostfile f line 1: "no\/de" — not a valid host name$/);
  throwsConfig(() => parseHostfile("node1:4\n", "f"), /^hostfile f line 1: "node1:4" — write "node1 4" to give a worker count$/);
});

test("a file without any host is refused", () => {
  throwsConfig(() => parseHostfile("", "empty.txt"), /^hostfile empty\.txt: no host listed$/);
  throwsConfig(() => parseHostfile("# only\n\n  # comments\n", "c.txt"), /^hostfile c\.txt: no host listed$/);
});

test("SLURM-style groups expand, every node getting the line's count", () => {
  assert.deepEqual(parseHostfile("node[01-03] 2\nnode02\nx,y\n", "h"), [
    { host: "node01", slots: 2 },
    { host: "node02", slots: 3 },
    { host: "node03", slots: 2 },
    { host: "x", slots: 1 },
    { host: "y", slots: 1 },
  ]);
  throwsConfig(() => parseHostfile("a\nnode[1-\n", "h"), /^hostfile h line 2: bad node list "node\[1-": unclosed "\["$/);
});

test("IPv6 addresses and user@host are host names", () => {
  assert.deepEqual(parseHostfile("::1 2\n[fe80::1%eth0] 3\nalice@node9\n", "h"), [
    { host: "::1", slots: 2 },
    { host: "fe80::1%eth0", slots: 3 },
    { host: "alice@node9", slots: 1 },
  ]);
});

test("--hosts a a b gives a:2 b:1", () => {
  assert.deepEqual(hostsFromList(["a", "a", "b"]), [
    { host: "a", slots: 2 },
    { host: "b", slots: 1 },
  ]);
});

test("--hosts keeps first-seen order and merges non-adjacent repeats", () => {
  assert.deepEqual(hostsFromList(["b", "a", "b", "c", "b"]), [
    { host: "b", slots: 3 },
    { host: "a", slots: 1 },
    { host: "c", slots: 1 },
  ]);
  assert.deepEqual(hostsFromList(["n[1-2]", "n2"]), [
    { host: "n1", slots: 1 },
    { host: "n2", slots: 2 },
  ]);
});

test("--hosts refuses an empty list and values that are not one host", () => {
  throwsConfig(() => hostsFromList([]), /^--hosts: no host given$/);
  throwsConfig(() => hostsFromList(["a b"]), /^--hosts: "a b" — expected one host name per value$/);
  throwsConfig(() => hostsFromList([""]), /^--hosts: "" — expected one host name per value$/);
  throwsConfig(() => hostsFromList(["h:4"]), /^--hosts: "h:4" — write "h 4"/);
  throwsConfig(() => hostsFromList(["--tunnel"]), /^--hosts: "--tunnel" — a host name cannot start with "-"$/);
});

test("checkHostName returns valid names and names the context on failure", () => {
  assert.equal(checkHostName("node-1.example.org", "ctx"), "node-1.example.org");
  assert.equal(checkHostName("10.0.0.7", "ctx"), "10.0.0.7");
  throwsConfig(() => checkHostName("a;rm -rf", "somewhere"), /^somewhere: "a;rm -rf" — not a valid host name$/);
  throwsConfig(() => checkHostName("", "ctx"), /^ctx: "" — empty host name$/);
});
