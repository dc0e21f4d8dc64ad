// Documentation of the public API: every public call has TSDoc (read with the TypeScript compiler
// API from src/index.ts), and docs/api.md has a section with an example for each of them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import ts from "typescript";
import { ROOT } from "../support/cluster.js";

const program = ts.createProgram([`${ROOT}src/index.ts`], {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  skipLibCheck: true,
});
const checker = program.getTypeChecker();
const index = program.getSourceFile(`${ROOT}src/index.ts`)!;
const exports = new Map(checker.getExportsOfModule(checker.getSymbolAtLocation(index)!).map((s) => [s.getName(), s]));

function resolved(name: string): ts.Symbol {
  const s = exports.get(name);
  assert.ok(s, `src/index.ts does not export ${name}`);
  return s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
}

function doc(s: ts.Symbol): string {
  return ts.displayPartsToString(s.getDocumentationComment(checker)).trim();
}

function isInternal(s: ts.Symbol): boolean {
  return s.getJsDocTags(checker).some((t) => t.name === "internal");
}

/** Public members of an exported interface or class (its instance side, or its static side). */
function members(name: string, side: "instance" | "static" = "instance"): ts.Symbol[] {
  const s = resolved(name);
  const type = side === "static" ? checker.getTypeOfSymbol(s) : checker.getDeclaredTypeOfSymbol(s);
  return checker.getPropertiesOfType(type).filter((m) => {
    const decl = m.valueDeclaration ?? m.declarations?.[0];
    if (!decl || decl.getSourceFile().fileName.includes("node_modules")) return false;
    const flags = ts.getCombinedModifierFlags(decl as ts.Declaration);
    if (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) return false;
    if (m.getName().startsWith("__") || side === "static" && m.getName() === "prototype") return false;
    return !isInternal(m);
  });
}

const API: Array<[string, "instance" | "static"]> = [
  ["FuturesApi", "instance"],
  ["Future", "instance"],
  ["MapResult", "instance"],
  ["SharedApi", "instance"],
  ["ScoopInfo", "instance"],
  ["Pool", "instance"],
  ["Pool", "static"],
];

test("every public call and property of futures, Future, MapResult, shared, scoop and Pool has TSDoc", () => {
  const missing: string[] = [];
  for (const [name, side] of API) {
    // The Pool class itself (src/launcher/pool.ts) is documented by its file comment; its members are checked.
    if (name !== "Pool" && !doc(resolved(name))) missing.push(name);
    for (const m of members(name, side)) {
      if (typeof m.escapedName === "string" && m.escapedName.startsWith("__@")) continue; // Symbol.asyncIterator
      if (name === "Future" && ["id", "label"].includes(m.getName())) continue; // documented as constructor params
      if (name === "MapResult" && m.getName() === "then") continue; // PromiseLike's
      if (!doc(m)) missing.push(`${name}${side === "static" ? "." : "#"}${m.getName()}`);
    }
  }
  for (const fn of ["futures", "shared", "scoop", "FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED", "TimeoutError", "WaitTimeoutError", "CancelledError", "ArgumentError"]) {
    if (!doc(resolved(fn))) missing.push(fn);
  }
  assert.deepEqual(missing, [], `public API without TSDoc: ${missing.join(", ")}`);
});

test("docs/api.md has a section with an example for every call of futures, Future, shared, scoop and Pool", () => {
  const md = readFileSync(`${ROOT}docs/api.md`, "utf8");
  const sections = new Map<string, string>();
  const parts = md.split(/^### /m).slice(1);
  for (const p of parts) sections.set(p.slice(0, p.indexOf("\n")), p);
  const find = (prefix: string) => [...sections.entries()].find(([h]) => h.replaceAll("`", "").startsWith(prefix));
  const want: string[] = [];
  for (const m of members("FuturesApi")) if (!/^[A-Z_]+$/.test(m.getName())) want.push(`futures.${m.getName()}(`);
  for (const m of members("Future")) if (!["id", "label", "hasError"].includes(m.getName())) want.push(m.getName() === "then" ? "then" : `${m.getName()}(`);
  for (const m of members("SharedApi")) want.push(`shared.${m.getName()}(`);
  for (const m of members("ScoopInfo")) want.push(`scoop.${m.getName()}`);
  want.push("Pool.start(", "pool.close(", "Pool.isWorker");
  const problems: string[] = [];
  for (const w of want) {
    const s = find(w);
    if (!s) problems.push(`no section for ${w}`);
    else if (!/```ts\n[\s\S]+?```/.test(s[1])) problems.push(`no example in the section of ${w}`);
  }
  assert.deepEqual(problems, []);
  for (const e of ["TimeoutError", "WaitTimeoutError", "CancelledError", "ArgumentError", "SerializationError", "ConstantError", "PoolClosedError"]) {
    assert.match(md, new RegExp(`\\| \`${e}\` \\| \`ERR_SCOOP_`), `${e} missing from the error table`);
  }
});
