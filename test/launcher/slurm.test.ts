import { test } from "node:test";
import assert from "node:assert/strict";
import {
  expandNodelist,
  hostsFromSlurm,
  MAX_EXPANDED_NODES,
  parseTasksPerNode,
} from "../../src/launcher/hosts/index.js";
import { throwsConfig } from "../support/hosts.js";

// SCOOP's parseSLURM vectors (test/tests_parser.py). SCOOP compared them as sets; we check order too.
test("SCOOP vector n[1-4]", () => {
  assert.deepEqual(expandNodelist("n[1-4]"), ["n1", "n2", "n3", "n4"]);
});

test("SCOOP vector n[1,4]", () => {
  assert.deepEqual(expandNodelist("n[1,4]"), ["n1", "n4"]);
});

test("SCOOP vector n[1,5-9]", () => {
  assert.deepEqual(expandNodelist("n[1,5-9]"), ["n1", "n5", "n6", "n7", "n8", "n9"]);
});

test("SCOOP vector n[5-10]: padded to the lower bound's width, as SLURM does (SCOOP's test said n05)", () => {
  // SLURM's hostlist takes the width from the lower bound (strlen of "5"), so scontrol prints n5..n10;
  // SCOOP's expectation of n05..n10 came from an older home-made parser and fails against scontrol.
  assert.deepEqual(expandNodelist("n[5-10]"), ["n5", "n6", "n7", "n8", "n9", "n10"]);
});

test("SCOOP vector x[1-2]y[1-2]: the cartesian product (SCOOP's test expected x1 x2 y1 y2)", () => {
  assert.deepEqual(expandNodelist("x[1-2]y[1-2]"), ["x1y1", "x1y2", "x2y1", "x2y2"]);
});

test("ranges and single numbers mix inside one group, padding per range", () => {
  assert.deepEqual(expandNodelist("n[1-4,07]"), ["n1", "n2", "n3", "n4", "n07"]);
  assert.deepEqual(expandNodelist("n[01-03]"), ["n01", "n02", "n03"]);
  assert.deepEqual(expandNodelist("n[098-101]"), ["n098", "n099", "n100", "n101"]);
  assert.deepEqual(expandNodelist("n[8-9,010]"), ["n8", "n9", "n010"]);
});

test("top-level commas separate plain names and groups; brackets protect their own commas", () => {
  assert.deepEqual(expandNodelist("a,b[1-2],c"), ["a", "b1", "b2", "c"]);
  assert.deepEqual(expandNodelist("gpu-a[1,3].ib,cpu[01-02]-x"), ["gpu-a1.ib", "gpu-a3.ib", "cpu01-x", "cpu02-x"]);
  assert.deepEqual(expandNodelist("r[1-2]n[01,03]"), ["r1n01", "r1n03", "r2n01", "r2n03"]);
});

test("a single node is itself (SCOOP's scontrol path broke on single nodes)", () => {
  assert.deepEqual(expandNodelist("node7"), ["node7"]);
  assert.deepEqual(expandNodelist("  node7\n"), ["node7"]);
  assert.deepEqual(expandNodelist("n[3]"), ["n3"]);
});

test("duplicates are kept by expandNodelist", () => {
  assert.deepEqual(expandNodelist("n1,n[1-2]"), ["n1", "n1", "n2"]);
});

test("malformed node lists are refused, naming the variable", () => {
  const cases: Array<[string, RegExp]> = [
    ["", /it is empty/],
    ["n[1-", /unclosed "\["/],
    ["n]1", /"\]" without "\[" at position 2/],
    ["n[[1]]", /nested "\[" at position 3/],
    ["n[]", /bad range "" in "\[\]" — expected N or N-M/],
    ["n[3-1]", /range "3-1" goes backwards/],
    ["n[a-b]", /bad range "a-b"/],
    ["n[1-2-3]", /bad range "1-2-3"/],
    ["n[-1]", /bad range "-1"/],
    ["n[1,]", /bad range ""/],
    ["a,,b", /empty entry between commas/],
    ["a,", /empty entry between commas/],
    ["n[1 - 2]", /it contains whitespace/],
    ["-n[1-2]", /node name "-n1" starts with "-"/],
    ["n[99999999999999999999]", /number too large/],
  ];
  for (const [list, re] of cases) {
    throwsConfig(() => expandNodelist(list, "SLURM_NODELIST"), new RegExp(`^SLURM_NODELIST: bad node list .*${re.source}`));
  }
});

test("expansion is capped so a typo cannot allocate millions of names", () => {
  assert.equal(expandNodelist(`n[1-${MAX_EXPANDED_NODES}]`).length, MAX_EXPANDED_NODES);
  throwsConfig(() => expandNodelist(`n[1-${MAX_EXPANDED_NODES + 1}]`), /expands to more than 100000 nodes/);
  throwsConfig(() => expandNodelist("x[1-1000]y[1-1000]"), /expands to more than 100000 nodes/);
  throwsConfig(() => expandNodelist(`a[1-${MAX_EXPANDED_NODES}],b`), /expands to more than 100000 nodes/);
});

test("SLURM_TASKS_PER_NODE 2(x3),1 expands to 2,2,2,1", () => {
  assert.deepEqual(parseTasksPerNode("2(x3),1"), [2, 2, 2, 1]);
  assert.deepEqual(parseTasksPerNode("4"), [4]);
  assert.deepEqual(parseTasksPerNode("1(x2),3,2(x2)"), [1, 1, 3, 2, 2]);
  assert.deepEqual(parseTasksPerNode(" 16(x1) "), [16]);
});

test("malformed SLURM_TASKS_PER_NODE is refused, naming the variable", () => {
  const cases: Array<[string, RegExp]> = [
    ["", /it is empty/],
    ["0", /entry "0" has no task/],
    ["2(x0)", /entry "2\(x0\)" repeats zero times/],
    ["2(3)", /entry "2\(3\)" is not "N" or "N\(xM\)"/],
    ["x", /entry "x" is not/],
    ["2,,1", /entry "" is not/],
    ["2(x3", /entry "2\(x3" is not/],
    ["-1", /entry "-1" is not/],
  ];
  for (const [spec, re] of cases) {
    throwsConfig(() => parseTasksPerNode(spec), new RegExp(`^SLURM_TASKS_PER_NODE: bad value .*${re.source}`));
  }
});

test("hostsFromSlurm pairs nodes with their task counts", () => {
  assert.deepEqual(hostsFromSlurm({ nodelist: "n[1-4]", tasksPerNode: "2(x3),1" }), [
    { host: "n1", slots: 2 },
    { host: "n2", slots: 2 },
    { host: "n3", slots: 2 },
    { host: "n4", slots: 1 },
  ]);
  assert.deepEqual(hostsFromSlurm({ nodelist: "node7", tasksPerNode: "4" }), [{ host: "node7", slots: 4 }]);
});

test("hostsFromSlurm refuses task counts that do not match the node count, naming both variables", () => {
  throwsConfig(
    () => hostsFromSlurm({ nodelist: "n[1-4]", tasksPerNode: "2(x3)" }),
    /^SLURM_TASKS_PER_NODE="2\(x3\)" gives counts for 3 node\(s\) but SLURM_JOB_NODELIST="n\[1-4\]" lists 4$/,
  );
  throwsConfig(
    () => hostsFromSlurm({ nodelist: "n1", tasksPerNode: "1,1", nodelistSource: "SLURM_NODELIST" }),
    /but SLURM_NODELIST="n1" lists 1$/,
  );
});

test("hostsFromSlurm without task counts gives every node defaultSlots (1 when unset)", () => {
  assert.deepEqual(hostsFromSlurm({ nodelist: "a,b" }), [
    { host: "a", slots: 1 },
    { host: "b", slots: 1 },
  ]);
  assert.deepEqual(hostsFromSlurm({ nodelist: "n[1-2]", defaultSlots: 8 }), [
    { host: "n1", slots: 8 },
    { host: "n2", slots: 8 },
  ]);
  throwsConfig(() => hostsFromSlurm({ nodelist: "n1", defaultSlots: 0 }), /slots per node must be a positive integer, got 0/);
});

test("hostsFromSlurm merges a node listed twice", () => {
  assert.deepEqual(hostsFromSlurm({ nodelist: "n1,n2,n1", tasksPerNode: "1,2,3" }), [
    { host: "n1", slots: 4 },
    { host: "n2", slots: 2 },
  ]);
});
