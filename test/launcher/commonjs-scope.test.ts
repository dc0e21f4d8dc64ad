// Scripts in a CommonJS package scope (no package.json with "type": "module" above them, as in a
// fresh temp directory): a .ts file written with ESM syntax (tsx compiles it to CommonJS), and plain
// CommonJS .js scripts. Each maps an exported function over some ints on 2 workers; the function uses
// a module-level binding, so it can only travel as a reference to the script, resolved by each worker.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { ROOT, scoopRun } from "./scoop-helpers.js";

const DIST = JSON.stringify(join(ROOT, "dist", "index.js"));
const tmp = mkdtempSync(join(tmpdir(), "scoop-cjs-scope-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The origin takes tasks too: map until another worker has run some, so it resolved `square` too. */
const mainBody = (square: string): string => `
  let out = [];
  for (const end = Date.now() + 20000; Date.now() < end; ) {
    out = await futures.map(${square}, [1, 2, 3, 4, 5, 6, 7, 8]);
    if (out.some((r) => r[1] !== scoop.workerName)) break;
  }
  console.log("squares: " + out.map((r) => r[0]).join(" "));
  console.log("ran on another worker: " + out.some((r) => r[1] !== scoop.workerName));
`;

const SCRIPTS: Record<string, string> = {
  "esm-syntax.ts": `import { futures, scoop } from ${DIST};

const OFFSET: number = 1;

export function square(x: number): [number, string] {
  return [x * x + OFFSET, scoop.workerName];
}

export async function main(): Promise<void> {${mainBody("square")}}
`,
  // A CommonJS script that requires a TypeScript file of its own, as a CommonJS project may.
  "exports-object.js": `const { futures, scoop } = require(${DIST});
const { OFFSET } = require("./offset.ts");

function square(x) {
  return [x * x + OFFSET, scoop.workerName];
}

async function main() {${mainBody("square")}}

module.exports = { main, square };
`,
  "offset.ts": "export const OFFSET: number = 1;\n",
  // A module of its own that the script imports: in a CommonJS scope that import is a require(),
  // which the loader never reports; square keeps a module binding, so it must go by reference.
  "imports-lib.ts": `import { futures, scoop } from ${DIST};
import { square } from "./square-lib";

export async function main(): Promise<void> {${mainBody("square")}}
`,
  "square-lib.ts": `import { scoop } from ${DIST};

const OFFSET = 1;

export function square(x: number): [number, string] {
  return [x * x + OFFSET, scoop.workerName];
}
`,
  // Node's detection of CommonJS named exports stops at the method: the namespace has only \`default\`.
  // main is called as a method of module.exports, as \`require(script).main()\` would.
  "exports-methods.js": `const { futures, scoop } = require(${DIST});

const OFFSET = 1;

module.exports = {
  async main() {${mainBody("this.square")}},
  square(x) {
    return [x * x + OFFSET, scoop.workerName];
  },
};
`,
};
for (const [name, text] of Object.entries(SCRIPTS)) writeFileSync(join(tmp, name), text);

function packageJsonAbove(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, "package.json"))) return join(d, "package.json");
    if (dirname(d) === d) return undefined;
  }
}

async function runsOnTwoWorkers(script: string): Promise<void> {
  const found = packageJsonAbove(tmp);
  assert.equal(found, undefined, `${found} makes the package scope of ${tmp} not CommonJS`);
  const r = await scoopRun(["-n", "2", join(tmp, script)], { cwd: tmp });
  const out = `--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
  assert.equal(r.code, 0, out);
  assert.match(r.stdout, /^squares: 2 5 10 17 26 37 50 65$/m, out);
  assert.match(r.stdout, /^ran on another worker: true$/m, out);
}

test("a .ts script with ESM syntax in a CommonJS package scope runs, and its exports travel", async () => {
  await runsOnTwoWorkers("esm-syntax.ts");
});

test("a CommonJS .js script (module.exports = { main, square }) that requires a .ts file runs", async () => {
  await runsOnTwoWorkers("exports-object.js");
});

test("a CommonJS .js script whose exports Node cannot detect (only `default`) runs", async () => {
  await runsOnTwoWorkers("exports-methods.js");
});

test("a .ts script of a CommonJS scope sends a function of a local module it imports (a require underneath)", async () => {
  await runsOnTwoWorkers("imports-lib.ts");
});
