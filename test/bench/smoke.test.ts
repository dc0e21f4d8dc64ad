// The benchmark never rots: `bench/harness.mjs --quick` runs every workload on every peer, end to end.
// No figure is asserted (performance is measured by `npm run bench`, not by tests).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const root = new URL("../..", import.meta.url).pathname;

test("bench harness --quick runs every workload on every peer", { timeout: 180_000 }, () => {
  const out = join(mkdtempSync(join(tmpdir(), "scoop-bench-")), "quick.json");
  const r = spawnSync(process.execPath, ["bench/harness.mjs", "--quick", "--strict", "--out", out], { cwd: root, encoding: "utf8" });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const record = JSON.parse(readFileSync(out, "utf8"));
  assert.equal(record.rows.length, 11);
  for (const row of record.rows as { id: string; cells: Record<string, { status: string; error?: string }> }[]) {
    assert.equal(row.cells.ours?.status, "ok", `${row.id}: our pool must run it (${row.cells.ours?.error ?? ""})`);
    for (const [peer, cell] of Object.entries(row.cells)) {
      assert.ok(["ok", "n/a", "—"].includes(cell.status), `${row.id} ${peer}: ${cell.status} ${cell.error ?? ""}`);
    }
  }
});
