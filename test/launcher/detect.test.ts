import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { detectHosts, LOCAL_HOST, type Env } from "../../src/launcher/hosts/index.js";
import { hostFixturePath as fixturePath, SCOOP_HOSTS, throwsConfig } from "../support/hosts.js";

// SCOOP's environment subsets (test/tests_parser.py SGE_ENV / PBS_ENV), pointed at our fixtures.
const SCOOP_SGE_ENV: Env = {
  NHOSTS: "2",
  PE_HOSTFILE: fixturePath("scoop-sgehostssim.txt"),
  NSLOTS: "16",
  PE: "default",
  ENVIRONMENT: "BATCH",
};
const SCOOP_PBS_ENV: Env = {
  ENVIRONMENT: "BATCH",
  PBS_ENVIRONMENT: "PBS_BATCH",
  MOAB_PROCCOUNT: "16",
  PBS_NUM_NODES: "2",
  PBS_NP: "16",
  PBS_NODEFILE: fixturePath("scoop-pbshostssim.txt"),
};

/** A readFile over an in-memory file map that records what it was asked for. */
function memoryFs(files: Record<string, string>): { readFile: (p: string) => string; reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    readFile: (p: string) => {
      reads.push(p);
      const text = files[p];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: "ENOENT" });
      return text;
    },
  };
}

/** A readFile that fails the test if called: for paths that must not touch the file system. */
const noFs = (p: string): string => assert.fail(`unexpected read of ${p}`);

const SLURM_ENV: Env = { SLURM_JOB_NODELIST: "n[1-4]", SLURM_TASKS_PER_NODE: "2(x3),1" };

// --- explicit hosts win ---------------------------------------------------------------------------

test("--hosts wins over any scheduler and gives one slot per mention", () => {
  const d = detectHosts({ hosts: ["a", "a", "b"], env: { ...SLURM_ENV, ...SCOOP_PBS_ENV }, readFile: noFs });
  assert.deepEqual(d, {
    source: "hosts",
    description: "--hosts",
    hosts: [
      { host: "a", slots: 2 },
      { host: "b", slots: 1 },
    ],
    workers: 3,
  });
});

test("--hostfile wins over any scheduler; SCOOP's hostfile vector gives 16 workers (getWorkerQteFile)", () => {
  const d = detectHosts({ hostfile: fixturePath("hostfile.txt"), env: { ...SLURM_ENV, ...SCOOP_SGE_ENV } });
  assert.equal(d.source, "hostfile");
  assert.deepEqual(d.hosts, SCOOP_HOSTS);
  assert.equal(d.workers, 16);
});

test("--hostfile goes through the injected readFile", () => {
  const fs = memoryFs({ "cluster.txt": "x 3\ny\n" });
  const d = detectHosts({ hostfile: "cluster.txt", env: {}, readFile: fs.readFile });
  assert.deepEqual(fs.reads, ["cluster.txt"]);
  assert.deepEqual(d.hosts, [
    { host: "x", slots: 3 },
    { host: "y", slots: 1 },
  ]);
  assert.equal(d.description, "hostfile cluster.txt");
});

test("--hosts with --hostfile is refused; an unreadable hostfile names the path and the reason", () => {
  throwsConfig(() => detectHosts({ hosts: ["a"], hostfile: "h", env: {}, readFile: noFs }), /^--hosts and --hostfile cannot be used together$/);
  throwsConfig(
    () => detectHosts({ hostfile: "/nonexistent/scoop/hosts.txt", env: {} }),
    /^--hostfile: cannot read "\/nonexistent\/scoop\/hosts\.txt" \(ENOENT\)$/,
  );
  throwsConfig(() => detectHosts({ hostfile: "h.txt", env: {}, readFile: memoryFs({ "h.txt": "a b c\n" }).readFile }), /^hostfile h\.txt line 1:/);
});

// --- SLURM ----------------------------------------------------------------------------------------

test("SLURM: nodelist and tasks per node", () => {
  const d = detectHosts({ env: SLURM_ENV, readFile: noFs });
  assert.equal(d.source, "slurm");
  assert.deepEqual(d.hosts, [
    { host: "n1", slots: 2 },
    { host: "n2", slots: 2 },
    { host: "n3", slots: 2 },
    { host: "n4", slots: 1 },
  ]);
  assert.equal(d.workers, 7);
  assert.equal(d.description, "SLURM SLURM_JOB_NODELIST=n[1-4]");
});

test("SLURM: SLURM_JOB_NODELIST is preferred; SLURM_NODELIST is the fallback; blank counts as unset", () => {
  const both = detectHosts({ env: { SLURM_JOB_NODELIST: "job1", SLURM_NODELIST: "step1", SLURM_TASKS_PER_NODE: "3" }, readFile: noFs });
  assert.deepEqual(both.hosts, [{ host: "job1", slots: 3 }]);
  const fallback = detectHosts({ env: { SLURM_JOB_NODELIST: "  ", SLURM_NODELIST: "step[1-2]" }, readFile: noFs });
  assert.deepEqual(fallback.hosts, [
    { host: "step1", slots: 1 },
    { host: "step2", slots: 1 },
  ]);
  assert.equal(fallback.description, "SLURM SLURM_NODELIST=step[1-2]");
});

test("SLURM: without SLURM_TASKS_PER_NODE, SLURM_CPUS_ON_NODE slots per node, else 1", () => {
  const cpus = detectHosts({ env: { SLURM_JOB_NODELIST: "a,b", SLURM_CPUS_ON_NODE: "12" }, readFile: noFs });
  assert.deepEqual(cpus.hosts, [
    { host: "a", slots: 12 },
    { host: "b", slots: 12 },
  ]);
  assert.equal(cpus.workers, 24);
  const none = detectHosts({ env: { SLURM_JOB_NODELIST: "node7" }, readFile: noFs });
  assert.deepEqual(none.hosts, [{ host: "node7", slots: 1 }]);
});

test("SLURM: SLURM_NTASKS sets the default worker count", () => {
  assert.equal(detectHosts({ env: { ...SLURM_ENV, SLURM_NTASKS: "5" }, readFile: noFs }).workers, 5);
});

test("SLURM: bad values are refused with one line naming the variable", () => {
  throwsConfig(() => detectHosts({ env: { SLURM_JOB_NODELIST: "n[1-" }, readFile: noFs }), /^SLURM_JOB_NODELIST: bad node list "n\[1-"/);
  throwsConfig(() => detectHosts({ env: { SLURM_NODELIST: "n[2-1]" }, readFile: noFs }), /^SLURM_NODELIST: bad node list/);
  throwsConfig(() => detectHosts({ env: { ...SLURM_ENV, SLURM_TASKS_PER_NODE: "2(x2)" }, readFile: noFs }), /^SLURM_TASKS_PER_NODE="2\(x2\)" gives counts for 2 node\(s\) but SLURM_JOB_NODELIST="n\[1-4\]" lists 4$/);
  throwsConfig(() => detectHosts({ env: { ...SLURM_ENV, SLURM_TASKS_PER_NODE: "two" }, readFile: noFs }), /^SLURM_TASKS_PER_NODE: bad value "two"/);
  throwsConfig(() => detectHosts({ env: { SLURM_JOB_NODELIST: "a", SLURM_CPUS_ON_NODE: "abc" }, readFile: noFs }), /^SLURM_CPUS_ON_NODE="abc" — expected a positive integer$/);
  throwsConfig(() => detectHosts({ env: { SLURM_JOB_NODELIST: "a", SLURM_CPUS_ON_NODE: "0" }, readFile: noFs }), /^SLURM_CPUS_ON_NODE="0"/);
  throwsConfig(() => detectHosts({ env: { ...SLURM_ENV, SLURM_NTASKS: "-3" }, readFile: noFs }), /^SLURM_NTASKS="-3" — expected a positive integer$/);
});

// --- PBS ------------------------------------------------------------------------------------------

test("PBS: SCOOP's PBS environment gives its hosts and PBS_NP=16 workers (getHostsPBS, getWorkerQtePBS)", () => {
  const d = detectHosts({ env: SCOOP_PBS_ENV });
  assert.equal(d.source, "pbs");
  assert.deepEqual(d.hosts, SCOOP_HOSTS);
  assert.equal(d.workers, 16);
});

test("PBS: without PBS_NP the workers are the nodefile's entries; the file is read via readFile", () => {
  const fs = memoryFs({ "/pbs/aux/77": "c1\nc1\nc2\n" });
  const d = detectHosts({ env: { PBS_NODEFILE: "/pbs/aux/77" }, readFile: fs.readFile });
  assert.deepEqual(fs.reads, ["/pbs/aux/77"]);
  assert.deepEqual(d.hosts, [
    { host: "c1", slots: 2 },
    { host: "c2", slots: 1 },
  ]);
  assert.equal(d.workers, 3);
});

test("PBS: unreadable or malformed nodefile and bad PBS_NP name the variable", () => {
  throwsConfig(() => detectHosts({ env: { PBS_NODEFILE: "/gone" }, readFile: memoryFs({}).readFile }), /^PBS_NODEFILE: cannot read "\/gone" \(ENOENT\)$/);
  throwsConfig(() => detectHosts({ env: { PBS_NODEFILE: "/f" }, readFile: memoryFs({ "/f": "ok\nb@d/host\n" }).readFile }), /^PBS_NODEFILE \/f line 2: "b@d\/host"/);
  throwsConfig(() => detectHosts({ env: { ...SCOOP_PBS_ENV, PBS_NP: "sixteen" } }), /^PBS_NP="sixteen" — expected a positive integer$/);
});

// --- SGE ------------------------------------------------------------------------------------------

test("SGE: SCOOP's SGE environment gives its hosts and NSLOTS=16 workers (getHostsSGE, getWorkerQteSGE)", () => {
  const d = detectHosts({ env: SCOOP_SGE_ENV });
  assert.equal(d.source, "sge");
  assert.deepEqual(d.hosts, SCOOP_HOSTS);
  assert.equal(d.workers, 16);
});

test("SGE: real temp file, no NSLOTS; malformed file and bad NSLOTS name the variable", () => {
  const dir = mkdtempSync(join(tmpdir(), "scoop-sge-"));
  try {
    const file = join(dir, "pe_hostfile");
    writeFileSync(file, "node01 4 all.q@node01 UNDEFINED\nnode02 2 all.q@node02 UNDEFINED\n");
    const d = detectHosts({ env: { PE_HOSTFILE: file } });
    assert.deepEqual(d.hosts, [
      { host: "node01", slots: 4 },
      { host: "node02", slots: 2 },
    ]);
    assert.equal(d.workers, 6);
    writeFileSync(file, "node01 four all.q UNDEFINED\n");
    throwsConfig(() => detectHosts({ env: { PE_HOSTFILE: file } }), new RegExp(`^PE_HOSTFILE ${file} line 1: "node01 four all.q UNDEFINED"`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  throwsConfig(() => detectHosts({ env: { ...SCOOP_SGE_ENV, NSLOTS: "1.5" } }), /^NSLOTS="1\.5" — expected a positive integer$/);
});

// --- LSF ------------------------------------------------------------------------------------------

test("LSF: LSB_MCPU_HOSTS", () => {
  const d = detectHosts({ env: { LSB_MCPU_HOSTS: "host1 8 host2 4" }, readFile: noFs });
  assert.equal(d.source, "lsf");
  assert.deepEqual(d.hosts, [
    { host: "host1", slots: 8 },
    { host: "host2", slots: 4 },
  ]);
  assert.equal(d.workers, 12);
  throwsConfig(() => detectHosts({ env: { LSB_MCPU_HOSTS: "host1" }, readFile: noFs }), /^LSB_MCPU_HOSTS="host1" — expected pairs/);
});

// --- precedence and fallback ----------------------------------------------------------------------

test("scheduler precedence is SLURM, PBS, SGE, LSF", () => {
  const lsf = { LSB_MCPU_HOSTS: "l 1" };
  const env = { ...SLURM_ENV, ...SCOOP_PBS_ENV, ...SCOOP_SGE_ENV, ...lsf };
  assert.equal(detectHosts({ env }).source, "slurm");
  assert.equal(detectHosts({ env: { ...SCOOP_PBS_ENV, ...SCOOP_SGE_ENV, ...lsf } }).source, "pbs");
  assert.equal(detectHosts({ env: { ...SCOOP_SGE_ENV, ...lsf } }).source, "sge");
  assert.equal(detectHosts({ env: lsf }).source, "lsf");
});

test("no scheduler: this machine with one slot per core (SCOOP's getEnvOther)", () => {
  const d = detectHosts({ env: { HOME: "/home/u", PBS_ENVIRONMENT: "PBS_BATCH", PE_HOSTFILE: "" }, cpuCount: 6, readFile: noFs });
  assert.deepEqual(d, {
    source: "local",
    description: "this machine (6 cores)",
    hosts: [{ host: LOCAL_HOST, slots: 6 }],
    workers: 6,
  });
  assert.equal(LOCAL_HOST, "127.0.0.1");
  assert.deepEqual(detectHosts({ env: {}, readFile: noFs }).hosts, [{ host: LOCAL_HOST, slots: availableParallelism() }]);
  throwsConfig(() => detectHosts({ env: {}, cpuCount: 0, readFile: noFs }), /local core count must be a positive integer, got 0/);
});
