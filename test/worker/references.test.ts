import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import assert from "node:assert/strict";
import { SerializationError } from "../../src/errors.js";
import { ReferenceRegistry, type FunctionRef } from "../../src/worker/references.js";

const fixtures = new URL("../fixtures/references/", import.meta.url);
const url = (name: string): string => new URL(name, fixtures).href;
const libUrl = url("lib.ts");
const otherUrl = url("other.ts");
const inlineUrl = url("inline.ts");

type Lib = typeof import("../fixtures/references/lib.ts");
type Inline = typeof import("../fixtures/references/inline.ts");

async function registryWith(...names: string[]): Promise<ReferenceRegistry> {
  const r = new ReferenceRegistry();
  for (const n of names) await r.loadModule(url(n));
  return r;
}

function refusal(r: ReferenceRegistry, fn: Function): string {
  try {
    r.refOf(fn);
  } catch (err) {
    assert.ok(err instanceof SerializationError, `expected SerializationError, got ${String(err)}`);
    assert.equal(err.code, "ERR_SCOOP_SERIALIZATION");
    assert.ok(!err.message.includes("\n"), "the message is one line");
    return err.message;
  }
  assert.fail(`refOf accepted ${fn.toString()}`);
}

/** Not closure-free (uses OFFSET): it can only travel as a module reference. */
const OFFSET = 1;
function addOffset(x: number): number {
  return x + OFFSET;
}
class Offsetter {}

/** Send through JSON (as across processes) and resolve in a registry that has recorded nothing. */
async function roundTrip(ref: FunctionRef): Promise<Function> {
  return new ReferenceRegistry().resolve(JSON.parse(JSON.stringify(ref)) as FunctionRef);
}

describe("module exports", () => {
  it("refers to an export by module URL and name and resolves to the same function", async () => {
    const r = await registryWith("lib.ts");
    const lib = (await import(libUrl)) as Lib;
    assert.deepEqual(r.refOf(lib.square), { m: libUrl, n: "square" });
    assert.equal(await roundTrip(r.refOf(lib.square)), lib.square);
    assert.equal(r.refOf(lib.square), r.refOf(lib.square), "cached");
  });

  it("refers to a default export as 'default'", async () => {
    const r = await registryWith("lib.ts");
    const lib = (await import(libUrl)) as Lib;
    assert.deepEqual(r.refOf(lib.default), { m: libUrl, n: "default" });
    assert.equal(await roundTrip(r.refOf(lib.default)), lib.default);
  });

  it("picks one name deterministically for re-exports and aliases, whatever the order of discovery", async () => {
    const lib = (await import(libUrl)) as Lib;
    const a = await registryWith("lib.ts", "other.ts");
    const b = await registryWith("other.ts", "lib.ts");
    const c = new ReferenceRegistry();
    c.addModule(otherUrl, await import(otherUrl));
    const first = c.refOf(lib.square); // only other.ts known yet
    assert.deepEqual(first, { m: otherUrl, n: "square" });
    c.addModule(libUrl, await import(libUrl)); // a better name appears: the cached ref is replaced
    for (const r of [a, b, c]) assert.deepEqual(r.refOf(lib.square), { m: libUrl, n: "square" });
    for (const ref of [first, { m: libUrl, n: "sq" }, { m: otherUrl, n: "squareAgain" }]) {
      assert.equal(await roundTrip(ref), lib.square);
    }
  });

  it("finds CommonJS exports, .mjs modules and packages", async () => {
    const r = await registryWith("legacy.cjs", "helper.mjs");
    const legacy = (await import(url("legacy.cjs"))) as { default: { triple: Function }; triple: Function };
    const helper = (await import(url("helper.mjs"))) as { twice: Function };
    assert.deepEqual(r.refOf(legacy.default.triple), { m: url("legacy.cjs"), n: "triple" });
    assert.deepEqual(r.refOf(helper.twice), { m: url("helper.mjs"), n: "twice" });
    const msgpackr = await r.loadModule("msgpackr");
    const unpack = (msgpackr as { unpack: Function }).unpack;
    const ref = r.refOf(unpack);
    assert.ok("m" in ref && ref.m.includes("/node_modules/msgpackr/"), JSON.stringify(ref));
    assert.equal(await roundTrip(ref), unpack);
    // A property of a default export object resolves too.
    assert.equal(await roundTrip({ m: url("legacy.cjs"), n: "default.triple" }), legacy.default.triple);
  });

  it("finds functions behind the getters of a CommonJS module.exports (a .ts file of a CommonJS package scope)", async () => {
    // What a worker's loader gives for such a file: tsx compiles it with esbuild to CommonJS, whose
    // module.exports members are getters (`__export`), and Node's namespace has only `default`.
    const jobUrl = "file:///nowhere/job.ts";
    const exports = {};
    for (const [name, fn] of Object.entries({ addOffset, Offsetter })) {
      Object.defineProperty(exports, name, { get: () => fn, enumerable: true });
    }
    const ns = Object.freeze({ __proto__: null, default: exports });
    const r = new ReferenceRegistry();
    r.addModule(jobUrl, ns);
    // addOffset uses OFFSET, so it cannot travel by source: only the module reference works.
    assert.deepEqual(r.refOf(addOffset), { m: jobUrl, n: "default.addOffset" });
    assert.equal(r.refOfClass(Offsetter), `${jobUrl}#default.Offsetter`);
    // The receiving side, with its own copy of the module recorded.
    const receiver = new ReferenceRegistry();
    receiver.addModule(jobUrl, ns);
    assert.equal(receiver.resolveCached({ m: jobUrl, n: "default.addOffset" }), addOffset);
    assert.equal(await receiver.resolve({ m: jobUrl, n: "default.addOffset" }), addOffset);
    assert.equal(receiver.classOf(`${jobUrl}#default.Offsetter`), Offsetter);
  });

  it("never runs the getters of a package's module.exports while indexing it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "scoop-refs-lazy-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const pkg = join(dir, "node_modules", "lazy");
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, "index.js"),
      "let reads = 0;\nmodule.exports = { reads: () => reads };\n" +
        "Object.defineProperty(module.exports, 'heavy', { enumerable: true, get() { reads++; return function heavy() {}; } });\n",
    );
    const r = new ReferenceRegistry();
    const lazy = (await r.loadModule(pathToFileURL(join(pkg, "index.js")).href)) as { default: { reads: () => number } };
    assert.equal(lazy.default.reads(), 0);
  });

  it("finds node: builtins even when their module was never recorded", async () => {
    const r = new ReferenceRegistry();
    assert.deepEqual(r.refOf(basename), { m: "node:path", n: "basename" });
    assert.equal(await roundTrip(r.refOf(basename)), basename);
  });

  it("names module and export when an export is missing", async () => {
    const r = new ReferenceRegistry();
    await assert.rejects(r.resolve({ m: libUrl, n: "nope" }), (err: Error) => {
      assert.ok(err instanceof SerializationError);
      assert.match(err.message, /module file:\/\/.*lib\.ts has no export "nope"/);
      return true;
    });
    assert.equal(r.resolveCached({ m: libUrl, n: "nope" }), undefined);
    await assert.rejects(r.resolve({ m: url("missing.ts"), n: "f" }), /importing module .*missing\.ts failed/);
    await assert.rejects(r.resolve({ m: libUrl, n: "internals" }), /export "internals" of module .* is a object/);
  });

  it("resolveCached answers synchronously once a module is recorded", async () => {
    const r = new ReferenceRegistry();
    const ref = { m: libUrl, n: "square" };
    assert.equal(r.resolveCached(ref), undefined);
    const fn = await r.resolve(ref);
    assert.equal(r.resolveCached({ ...ref }), fn);
  });
});

describe("globals", () => {
  const cases: Array<[string, Function]> = [
    ["Math.cos", Math.cos],
    ["JSON.stringify", JSON.stringify],
    ["parseInt", parseInt],
    ["String", String],
    ["Array.isArray", Array.isArray],
    ["Object.keys", Object.keys],
  ];
  for (const [path, fn] of cases) {
    it(`sends ${path} as a global`, async () => {
      const r = new ReferenceRegistry();
      assert.deepEqual(r.refOf(fn), { g: path });
      assert.equal(r.resolveCached({ g: path }), fn);
      assert.equal(await roundTrip({ g: path }), fn);
    });
  }

  it("sends Number.parseFloat (the same function as parseFloat)", async () => {
    const r = new ReferenceRegistry();
    const ref = r.refOf(Number.parseFloat);
    assert.ok("g" in ref);
    assert.equal(await roundTrip(ref), Number.parseFloat);
    assert.equal(await roundTrip({ g: "Number.parseFloat" }), Number.parseFloat);
  });

  it("rejects an unknown global", async () => {
    await assert.rejects(new ReferenceRegistry().resolve({ g: "Math.nope" }), /global "Math\.nope" is not a function/);
  });
});

describe("by source", () => {
  it("sends closure-free functions compiled by tsx and rebuilds them", async () => {
    const inline = (await import(inlineUrl)) as Inline;
    const r = await registryWith("inline.ts");
    let sawHelper = false;
    for (const [label, { fn, args, expected }] of Object.entries(inline.bySource)) {
      const ref = r.refOf(fn);
      assert.ok("s" in ref, `${label}: ${JSON.stringify(ref)}`);
      if (ref.s.includes("__name(")) sawHelper = true;
      const rebuilt = await roundTrip(ref);
      assert.notEqual(rebuilt, fn);
      let got = (rebuilt as (...a: unknown[]) => unknown)(...args);
      if (expected === "generator") got = [...(got as Iterable<unknown>)].length === 3 ? "generator" : got;
      else got = await got;
      assert.deepEqual(got, expected, label);
    }
    assert.ok(sawHelper, "tsx injected __name helpers into at least one source");
  });

  it("caches by source: a fresh arrow per call reuses the analysis and the rebuilt function", async () => {
    const r = new ReferenceRegistry();
    const make = () => (x: number) => x * 3;
    const a = r.refOf(make());
    const b = r.refOf(make());
    assert.equal(a, b);
    const w = new ReferenceRegistry();
    assert.equal(w.resolveCached(a), w.resolveCached({ s: (a as { s: string }).s }));
  });

  it("accepts what scope analysis proves self-contained", async () => {
    const r = new ReferenceRegistry();
    const ok = [
      "(x) => { let y = x; { const z = y; y = z; } return y; }",
      "function f(n) { return n <= 1 ? 1 : n * f(n - 1); }",
      "(a, { b = a, c: [d] } = {}) => a + b + d",
      "(x) => { try { throw x; } catch (e) { return e; } }",
      "(x) => { for (const [k, v] of Object.entries(x)) { void k; void v; } for (var i in x) void i; return i; }",
      "(x) => { switch (x) { case 1: let q = 2; return q; default: return 0; } }",
      "(x) => { const o = { x, [x]: 1, m() { return this; } }; return o.x; }",
      "(x) => { class A extends Array { static s = A.name; f = this; m() { return super.length + arguments.length; } } return new A(); }",
      "(x) => { function g() { return this ?? arguments.length ?? new.target; } return g(); }",
      "(x) => { l: while (x) { break l; } return x; }",
      "async function* g(x) { yield* [x]; for await (const y of [x]) yield y; }",
      "(x) => { label: { break label; } return typeof undeclaredGlobal === 'undefined' ? globalThis.console : x; }".replace(
        "typeof undeclaredGlobal === 'undefined'",
        "typeof Symbol === 'function'",
      ),
      "({ m(x) { return x; } }).m",
      "({ *[Symbol.iterator]() { yield 1; } })[Symbol.iterator]",
      "({ async 'quoted name'(x) { return x; } })['quoted name']",
    ];
    for (const src of ok) {
      const fn = (0, eval)(`(${src})`) as Function;
      const ref = r.refOf(fn);
      assert.ok("s" in ref, src);
      assert.equal(typeof (await roundTrip(ref)), "function", src);
    }
  });

  it("finds the free variables that scope analysis must catch", () => {
    const r = new ReferenceRegistry();
    const cases: Array<[string, string[]]> = [
      ["(x) => x + y", ["y"]],
      ["(x) => { { let z = 1; } return z; }", ["z"]],
      ["(x) => ({ x, shortHand })", ["shortHand"]],
      ["(x) => cfg.scale * x", ["cfg"]],
      ["(x) => { out = x; }", ["out"]],
      ["(x) => { [a.b, ...c] = x; }", ["a", "c"]],
      ["(x) => { count++; }", ["count"]],
      ["(x = dflt) => x", ["dflt"]],
      ["({ [key]: v }) => v", ["key"]],
      ["(x) => { try {} catch (e) {} return e; }", ["e"]],
      ["(x) => { for (let i = 0; i < 1; i++); return i; }", ["i"]],
      ["(x) => { class A extends Base {} return A; }", ["Base"]],
      ["(x) => { class A { f = init; } return A; }", ["init"]],
      ["(x) => tag`a${val}`", ["tag", "val"]],
      ["(x) => x?.[k]?.(arg)", ["k", "arg"]],
      ["function named() { return other(); }", ["other"]],
      ["({ m(x) { return helper(x); } }).m", ["helper"]],
      ["({ [computed]() { return 1; } })[computed]", ["computed"]],
    ];
    for (const [src, names] of cases) {
      const fn = new Function(...names, `return (${src});`)(...names.map(() => ({}))) as Function;
      const msg = refusal(r, fn);
      assert.match(msg, /it captures /, src);
      for (const n of names) assert.ok(msg.includes(`"${n}"`), `${src}: ${msg}`);
    }
  });

  it("refuses this / arguments / new.target / super of an enclosing scope in an arrow", () => {
    const r = new ReferenceRegistry();
    const inArrow = ["() => this", "() => arguments[0]", "() => () => this.x", "() => { { return new.target; } }"];
    for (const src of inArrow) {
      const fn = new Function(`return (${src});`).call({}) as Function;
      assert.match(refusal(r, fn), /it uses "(this|arguments|new\.target)" of its enclosing function \(an arrow function\)/, src);
    }
  });
});

describe("refusals", () => {
  it("names the function and the captured variable of a closure, with the fix", async () => {
    const inline = (await import(inlineUrl)) as Inline;
    const r = await registryWith("inline.ts");
    assert.equal(
      refusal(r, inline.refused.closure),
      'cannot send function "addOffset": it captures "off" (a closure). Export it from its module, or pass "off" as an argument.',
    );
    assert.match(refusal(r, inline.refused.moduleBinding), /^cannot send function "moduleBinding": it captures "offset" \(a closure\)/);
    assert.match(refusal(r, inline.refused.shorthand), /it captures "offset"/);
    assert.match(refusal(r, inline.refused.memberBase), /it captures "settings" \(a closure\)/);
    assert.match(refusal(r, inline.refused.assignsOuter), /it captures "counter"/);
  });

  it("names anonymous functions by their source", () => {
    const r = new ReferenceRegistry();
    const k = 2;
    const msg = refusal(r, [(x: number) => x * k][0]!);
    assert.match(msg, /^cannot send function `.*x\s*\*\s*k`: it captures "k" \(a closure\)\. Export it from its module, or pass "k" as an argument\.$/);
  });

  it("refuses bound functions, methods using this, arrows capturing this, hidden classes, proxies", async () => {
    const inline = (await import(inlineUrl)) as Inline;
    const r = await registryWith("inline.ts");
    assert.match(refusal(r, inline.refused.bound), /^cannot send function "bound bump": it is a bound function/);
    assert.match(refusal(r, inline.refused.methodWithThis), /^cannot send function "inc": it uses "this" \(a method needs its object\)/);
    assert.match(refusal(r, new inline.Widget().arrowWithThis), /"arrowWithThis": it uses "this" of its enclosing function/);
    assert.match(refusal(r, inline.refused.notExportedClass), /"Hidden": it is a class that is not exported/);
    assert.match(refusal(r, inline.refused.proxy), /native function that is not a known global/);
    assert.match(refusal(r, Math.cos.bind(null)), /bound function/);
  });

  it("refuses a non-exported module-level function that uses other module-level bindings", async () => {
    const lib = (await import(libUrl)) as Lib;
    const r = await registryWith("lib.ts");
    assert.equal(
      refusal(r, lib.internals.scaled),
      'cannot send function "scaled": it captures "offsetOf" and "factor" (a closure). Export it from its module, or pass "offsetOf" and "factor" as arguments.',
    );
    // A self-contained one travels by source.
    const ref = r.refOf(lib.internals.pureHelper);
    assert.ok("s" in ref);
    assert.equal((await roundTrip(ref))(-2), 3);
  });

  it("refuses import.meta and values that are not functions", () => {
    const r = new ReferenceRegistry();
    const fn = { f: () => import.meta.url }.f;
    assert.match(refusal(r, fn), /it uses "import\.meta"/);
    assert.throws(() => r.refOf(42 as unknown as Function), /cannot send a value of type number as a function/);
  });

  it("accepts a function once its module is recorded (refusals are not cached)", async () => {
    const lib = (await import(libUrl)) as Lib;
    const r = new ReferenceRegistry();
    assert.match(refusal(r, lib.Point), /class that is not exported/);
    r.addModule(libUrl, lib);
    assert.deepEqual(r.refOf(lib.Point), { m: libUrl, n: "Point" });
  });
});

describe("import tracking", () => {
  it("collects noted modules on settle(), skipping the loader's own, and says so when a refusal may be early", async () => {
    const lib = (await import(libUrl)) as Lib;
    const r = new ReferenceRegistry();
    r.noteImport("file:///x/node_modules/tsx/dist/lexer.mjs");
    assert.equal(r.pendingCount, 0);
    r.noteImport(libUrl);
    assert.equal(r.pendingCount, 1);
    assert.match(refusal(r, lib.internals.scaled), /1 module\(s\) imported since the last settle\(\) are not scanned yet/);
    await r.settle();
    assert.equal(r.pendingCount, 0);
    // Also what require() loaded meanwhile (other tests' CommonJS fixtures), never the loader's own.
    assert.ok(r.modules().includes(libUrl));
    assert.ok(!r.modules().some((u) => u.includes("/node_modules/tsx/")), r.modules().join(" "));
    assert.deepEqual(r.refOf(lib.square), { m: libUrl, n: "square" });
    assert.doesNotMatch(refusal(r, lib.internals.scaled), /settle/);
  });

  it("prefers a module export over a by-source ref once the module is recorded", async () => {
    const lib = (await import(libUrl)) as Lib;
    const r = new ReferenceRegistry();
    assert.ok("s" in r.refOf(lib.internals.pureHelper));
    r.addModule("file:///virtual/re-export.ts", { pureHelper: lib.internals.pureHelper });
    assert.deepEqual(r.refOf(lib.internals.pureHelper), { m: "file:///virtual/re-export.ts", n: "pureHelper" });
  });

  it("refuses private methods and accessors, accepts self-contained static methods", () => {
    class A {
      static s(x: number): number {
        return x + 1;
      }
      #p(): number {
        return 1;
      }
      get g(): number {
        return 1;
      }
      p(): Function {
        return this.#p;
      }
    }
    const r = new ReferenceRegistry();
    assert.ok("s" in r.refOf(A.s));
    assert.match(refusal(r, new A().p()), /"#p": it is a private method/);
    assert.match(refusal(r, Object.getOwnPropertyDescriptor(A.prototype, "g")!.get!), /"get g": it is a getter/);
  });
});

describe("classes", () => {
  it("maps exported classes to '<url>#<name>' and back", async () => {
    const lib = (await import(libUrl)) as Lib;
    const inline = (await import(inlineUrl)) as Inline;
    const r = await registryWith("lib.ts", "inline.ts", "mid.ts");
    const ref = r.refOfClass(lib.Point);
    assert.equal(ref, `${libUrl}#Point`);
    assert.equal(r.classOf(ref!), lib.Point);
    assert.equal(r.classOf(`${url("mid.ts")}#Point`), lib.Point, "any exporting module resolves");
    assert.equal(r.refOfClass(inline.Widget), `${inlineUrl}#Widget`);
    assert.equal(r.refOfClass(class Local {}), undefined);
    assert.equal(r.refOfClass(Map), undefined);
    assert.equal(r.classOf(`${libUrl}#Nope`), undefined);
    assert.equal(r.classOf("no hash"), undefined);
    assert.equal(r.classOf(`${url("helper.mjs")}#twice`), undefined, "module not recorded");
    const w = new ReferenceRegistry();
    assert.equal(await w.loadClass(ref!), lib.Point);
    assert.equal(w.classOf(ref!), lib.Point);
  });
});

describe("functions inside values (codec's optional refOfFunction / functionOf)", () => {
  it("encodes module exports, globals and closure-free functions as strings and back", async () => {
    const lib = (await import(libUrl)) as Lib;
    const r = await registryWith("lib.ts");
    assert.equal(r.refOfFunction(lib.square), `${libUrl}#square`);
    assert.equal(r.refOfFunction(Math.max), "#g:Math.max");
    const arrow = (a: number, b: number) => a - b;
    const s = r.refOfFunction(arrow)!;
    assert.match(s, /^#s:/);
    const k = 1;
    assert.equal(r.refOfFunction((x: number) => x + k), undefined);
    const w = await registryWith("lib.ts");
    assert.equal(w.functionOf(`${libUrl}#square`), lib.square);
    assert.equal(w.functionOf("#g:Math.max"), Math.max);
    assert.equal((w.functionOf(s) as typeof arrow)(5, 3), 2);
    assert.equal(new ReferenceRegistry().functionOf(`${libUrl}#square`), undefined, "module not recorded");
  });
});

describe("keyOf", () => {
  it("gives distinct stable keys", () => {
    const refs: FunctionRef[] = [{ m: "a", n: "b" }, { m: "a\u0000b", n: "" }, { g: "a" }, { s: "a" }, { m: "ab", n: "" }];
    const keys = refs.map((x) => ReferenceRegistry.keyOf(x));
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(ReferenceRegistry.keyOf({ m: "a", n: "b" }), keys[0]);
  });
});

describe("import graph through tsx onImport (child processes)", () => {
  const driver = new URL("driver.mjs", fixtures).pathname;
  const run = (mode: string, input?: string): unknown => {
    const res = spawnSync(process.execPath, [driver, mode], { input, encoding: "utf8", timeout: 60_000 });
    assert.equal(res.status, 0, res.stderr);
    return JSON.parse(res.stdout);
  };

  it("records the script, local modules (directly and transitively imported), .mjs, .cjs and packages", () => {
    const sent = run("send") as {
      refs: Record<string, FunctionRef>;
      classRef: string;
      modules: string[];
      refusal: string;
      localClassOf: boolean;
    };
    const m = (name: string) => url(name);
    for (const f of ["main.ts", "mid.ts", "lib.ts", "other.ts", "helper.mjs", "legacy.cjs"]) {
      assert.ok(sent.modules.includes(m(f)), `${f} recorded: ${sent.modules.join(" ")}`);
    }
    assert.ok(sent.modules.some((u) => u.includes("/node_modules/msgpackr/")));
    assert.ok(!sent.modules.some((u) => u.includes("/node_modules/tsx/")), "the loader's own modules are skipped");
    assert.deepEqual(sent.refs.localExport, { m: m("main.ts"), n: "localExport" });
    assert.deepEqual(sent.refs.sumOfSquares, { m: m("mid.ts"), n: "sumOfSquares" });
    assert.deepEqual(sent.refs.squareAgain, { m: m("lib.ts"), n: "square" }, "transitive import, canonical name");
    assert.deepEqual(sent.refs.twice, { m: m("helper.mjs"), n: "twice" });
    assert.deepEqual(sent.refs.triple, { m: m("legacy.cjs"), n: "triple" });
    assert.deepEqual(sent.refs.basename, { m: "node:path", n: "basename" });
    assert.ok("m" in sent.refs.pack! && sent.refs.pack.m.includes("/node_modules/msgpackr/"));
    assert.deepEqual(sent.refs.cos, { g: "Math.cos" });
    for (const k of ["arrow", "asyncArrow", "innerFn"]) assert.ok("s" in sent.refs[k]!, k);
    assert.equal(sent.classRef, `${m("lib.ts")}#Point`);
    assert.ok(sent.localClassOf);
    assert.match(sent.refusal, /bound function/);

    // Another process resolves them to its own copies of the same functions.
    const got = run("receive", JSON.stringify(sent)) as Record<string, { same: boolean; cached: boolean }> & {
      results: Record<string, unknown>;
    };
    for (const k of ["localExport", "sumOfSquares", "squareAgain", "twice", "triple", "basename", "pack", "Point", "cos"]) {
      assert.ok(got[k]!.same, `${k} resolves to the receiver's own function`);
    }
    assert.deepEqual(got.results, {
      sumOfSquares: 25,
      triple: 15,
      basename: "c.txt",
      cos: 1,
      arrow: 42,
      asyncArrow: 42,
      innerFn: 101,
      point: 25,
    });
  });
});

describe("speed", () => {
  it("refOf of a cached function is fast", async (t) => {
    const lib = (await import(libUrl)) as Lib;
    const r = await registryWith("lib.ts");
    const N = 1_000_000;
    const measure = (fn: Function): number => {
      r.refOf(fn);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) r.refOf(fn);
      return Number(process.hrtime.bigint() - t0) / N;
    };
    const nsModule = measure(lib.square);
    const nsSource = measure((x: number) => x + 1);
    const nsGlobal = measure(Math.cos);
    // A fresh closure-free arrow per call (the `map(x => …)` in a loop case): toString + source map look-up.
    const M = 100_000;
    const make = (): Function => (x: number) => x * 2;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < M; i++) r.refOf(make());
    const nsFresh = Number(process.hrtime.bigint() - t0) / M;
    t.diagnostic(
      `refOf ns/call: cached module export ${nsModule.toFixed(1)}, cached source ${nsSource.toFixed(1)}, cached global ${nsGlobal.toFixed(1)}, fresh arrow ${nsFresh.toFixed(0)}`,
    );
    assert.ok(nsModule < 500, `cached refOf took ${nsModule} ns`);
    assert.ok(nsFresh < 20_000, `fresh arrow refOf took ${nsFresh} ns`);
  });
});
