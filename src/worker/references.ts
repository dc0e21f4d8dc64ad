/**
 * How functions (and exported classes) travel between processes (SPEC §4).
 *
 * A function cannot be serialised by value, so {@link ReferenceRegistry.refOf} turns it into a
 * {@link FunctionRef}:
 *
 * - `{ g: "Math.cos" }`  a function reachable from a standard global (`parseInt`, `Math.cos`,
 *   `JSON.stringify`, `String`, …), resolved on the worker by walking `globalThis`;
 * - `{ m: url, n: name }`  an export of a module of the import graph (the user's script, the local
 *   modules it imports directly or not, packages, `node:` builtins), resolved on the worker by
 *   importing `url` and taking export `name` (`"default.x"` names property `x` of a default export
 *   that is an object, such as a CommonJS `module.exports`);
 * - `{ s: source }`  an inline function (arrow, function expression, method shorthand) with no free
 *   variable other than standard globals, rebuilt on the worker from its source text.
 *
 * Everything else (a closure, a bound function, a method using `this`, a native function that is not
 * a known global, a class that is not exported) is refused synchronously with a
 * {@link SerializationError} that names the function, what it captures and how to fix it.
 *
 * Exports are found by scanning the namespaces of recorded modules. The worker records them through
 * {@link trackImports} (tsx's `onImport`), then `await registry.settle()` once the user script is
 * imported; {@link ReferenceRegistry.addModule} / {@link ReferenceRegistry.loadModule} record modules
 * directly.
 */
import { createRequire } from "node:module";
import { isAbsolute, resolve as resolvePath } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type * as Acorn from "acorn";
import { SerializationError } from "../errors.js";

/** A function as it travels: module export, global, or closure-free source. */
export type FunctionRef = { m: string; n: string } | { g: string } | { s: string };

const requireHere = createRequire(import.meta.url);

/* ------------------------------------------------------------------------------------------------
 * Globals
 * ---------------------------------------------------------------------------------------------- */

/**
 * Names of `globalThis` as the process started (before any user code could add its own): the only
 * free identifiers an inline function may use, since a worker has them too.
 */
const STANDARD_GLOBALS: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(globalThis));

/**
 * esbuild helpers that tsx injects into compiled function bodies (`keepNames` gives
 * `__name(fn, "fn")`; a second tsx registration gives `__name2`; old class-field semantics give
 * `__publicField`). They are allowed as free identifiers and defined when a function is rebuilt.
 */
const HELPER_RE = /^__(?:name|publicField)\d*$/;
const HELPER_SCAN_RE = /\b__(?:name|publicField)\d*\b/g;
const defProp = Object.defineProperty;
const nameHelper = (target: object, value: string): unknown =>
  defProp(target, "name", { value, configurable: true });
const publicFieldHelper = (obj: object, key: PropertyKey, value: unknown): unknown => {
  const k = typeof key !== "symbol" ? String(key) : key;
  if (k in obj) defProp(obj, k, { enumerable: true, configurable: true, writable: true, value });
  else (obj as Record<PropertyKey, unknown>)[k] = value;
  return value;
};

/** Every function reachable as `globalThis.x` or `globalThis.x.y` (value properties only). */
function buildGlobalIndex(): { byFn: Map<Function, FunctionRef>; byPath: Map<string, Function> } {
  const byFn = new Map<Function, FunctionRef>();
  const byPath = new Map<string, Function>();
  const add = (path: string, value: unknown): void => {
    if (typeof value !== "function") return;
    byPath.set(path, value);
    if (!byFn.has(value)) byFn.set(value, Object.freeze({ g: path }));
  };
  const valueOf = (obj: object, key: string): unknown => {
    const d = Object.getOwnPropertyDescriptor(obj, key);
    return d && "value" in d ? d.value : undefined; // never trigger lazy getters
  };
  const names = [...STANDARD_GLOBALS].sort();
  for (const name of names) add(name, valueOf(globalThis, name));
  for (const name of names) {
    const holder = valueOf(globalThis, name);
    if (holder === globalThis || holder === null) continue;
    if (typeof holder !== "object" && typeof holder !== "function") continue;
    for (const key of Object.getOwnPropertyNames(holder).sort()) {
      if (key === "prototype" || key === "constructor" || key === "caller" || key === "arguments") {
        continue;
      }
      add(`${name}.${key}`, valueOf(holder as object, key));
    }
  }
  return { byFn, byPath };
}

/**
 * `node:` builtins scanned when a function is not found anywhere else (a builtin already loaded
 * before the import tracking started, e.g. `node:path`, is not reported by tsx). Modules whose
 * loading has side effects or warnings are left out.
 */
const SCANNED_BUILTINS = [
  "assert", "async_hooks", "buffer", "child_process", "crypto", "diagnostics_channel", "dns",
  "events", "fs", "fs/promises", "http", "https", "net", "os", "path", "path/posix", "path/win32",
  "perf_hooks", "querystring", "readline", "stream", "stream/promises", "string_decoder", "timers",
  "timers/promises", "url", "util", "util/types", "v8", "vm", "worker_threads", "zlib",
];

/* ------------------------------------------------------------------------------------------------
 * Registry
 * ---------------------------------------------------------------------------------------------- */

type ModuleRef = { m: string; n: string };

interface ExportEntry {
  ref: ModuleRef;
  /** Lower wins when one function is exported under several names (see {@link better}). */
  tier: number;
  origin: number;
}

type Analysis =
  | { ok: true; ref: FunctionRef }
  | { ok: false; reason: string; fix: string };

const MAX_SOURCE_CACHE = 10_000;

function isModuleRef(ref: FunctionRef): ref is ModuleRef {
  return typeof (ref as ModuleRef).m === "string";
}

/** 0 for `node:` builtins, 1 for the program's own files, 2 for packages. */
function originRank(url: string): number {
  if (url.startsWith("node:")) return 0;
  return url.includes("/node_modules/") ? 2 : 1;
}

/**
 * Deterministic choice among the names of one function (re-exports, aliases): the export named like
 * the function, then another direct name, then `default`, then a property of a default object; then
 * builtins before the program's files before packages; then by URL and name.
 */
function better(a: ExportEntry, b: ExportEntry): boolean {
  if (a.tier !== b.tier) return a.tier < b.tier;
  if (a.origin !== b.origin) return a.origin < b.origin;
  if (a.ref.m !== b.ref.m) return a.ref.m < b.ref.m;
  return a.ref.n < b.ref.n;
}

/** URLs reported by tsx that belong to the loader itself (imported in its hooks thread only). */
function isLoaderInternal(url: string): boolean {
  return url.includes("/node_modules/tsx/") || url.includes("/node_modules/esbuild/");
}

function toModuleUrl(specifier: string): string {
  if (isAbsolute(specifier)) return pathToFileURL(specifier).href;
  if (/^[a-zA-Z][a-zA-Z\d+.-]*:/.test(specifier)) return specifier; // file:, node:, data:, …
  if (specifier.startsWith("./") || specifier.startsWith("../")) {
    return pathToFileURL(resolvePath(specifier)).href;
  }
  return import.meta.resolve(specifier); // bare package name, resolved from this package
}

/** Short printable label of a function for error messages. */
function labelOf(fn: Function, source?: string): string {
  if (fn.name) return `"${fn.name}"`;
  let src = source ?? safeSource(fn);
  src = src.replace(/\s+/g, " ");
  if (src.length > 60) src = `${src.slice(0, 57)}...`;
  return `\`${src}\``;
}

function safeSource(fn: Function): string {
  try {
    return Function.prototype.toString.call(fn);
  } catch {
    return "<function>";
  }
}

function quoteList(names: readonly string[]): string {
  const q = names.map((n) => `"${n}"`);
  if (q.length <= 1) return q.join("");
  return `${q.slice(0, -1).join(", ")} and ${q[q.length - 1]}`;
}

export class ReferenceRegistry {
  private cache = new WeakMap<Function, FunctionRef>();
  private fnStrings = new WeakMap<Function, string>();
  private readonly namespaces = new Map<string, object>();
  private readonly exportIndex = new Map<Function, ExportEntry>();
  /** `"<url>#<name>"` of every export (not only the preferred one) -> its value. */
  private readonly byClassKey = new Map<string, Function>();
  private readonly classKeyOf = new Map<Function, string>();
  /** Exports of {@link SCANNED_BUILTINS}, built on the first refusal; used by `refOf` only. */
  private builtinIndex: Map<Function, ModuleRef> | undefined;
  private globals: ReturnType<typeof buildGlobalIndex> | undefined;
  private readonly analyses = new Map<string, Analysis>();
  private readonly rebuilt = new Map<string, Function>();
  private readonly pending = new Set<string>();
  private readonly loading = new Map<string, Promise<object>>();
  private settling: Promise<void> | undefined;
  /** Files of require()'s cache already looked at (see {@link collectRequired}). */
  private readonly requiredSeen = new Set<string>();

  /* ------------------------------------------------------------------ modules */

  /** Record a loaded module (URL and its namespace object) so its exports can be found. */
  addModule(url: string, namespace: object): void {
    this.namespaces.set(url, namespace);
    this.pending.delete(url);
    this.indexModule(url, namespace);
  }

  /** Modules recorded so far (URLs). */
  modules(): string[] {
    return [...this.namespaces.keys()];
  }

  /**
   * Note a module URL seen by the loader (tsx `onImport`). Its namespace is collected by the next
   * {@link settle}: importing it right away could evaluate it before its siblings in a graph that is
   * still loading.
   */
  noteImport(url: string): void {
    if (isLoaderInternal(url) || this.namespaces.has(url)) return;
    this.pending.add(url);
  }

  /** URLs noted but whose namespace is not collected yet. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Collect the namespaces of every noted module (they are already loaded, so `import()` is cheap).
   * Call it after importing the user script, and after dynamic imports, before `refOf`.
   */
  settle(): Promise<void> {
    this.settling ??= this.doSettle().finally(() => {
      this.settling = undefined;
    });
    return this.settling;
  }

  private async doSettle(): Promise<void> {
    // tsx's onImport arrives through a MessagePort: let messages in flight land first.
    await new Promise<void>((r) => setImmediate(r));
    while (this.pending.size > 0) {
      const urls = [...this.pending];
      this.pending.clear();
      await Promise.all(urls.map((u) => this.loadModule(u).catch(() => undefined)));
      await new Promise<void>((r) => setImmediate(r));
    }
    this.collectRequired(false);
  }

  /**
   * Records the modules loaded through `require()`, which the loader's onImport never reports: the
   * files of a CommonJS program, including every `.ts` file of a CommonJS package scope (tsx
   * compiles `import { f } from "./lib"` there to a require), as an import of them would show them
   * (see commonJsNamespace). Packages only when asked (about to refuse a function): a program's
   * dependencies can be many modules.
   */
  private collectRequired(packages: boolean): void {
    for (const [filename, mod] of Object.entries(requireHere.cache)) {
      if (mod === undefined || !mod.loaded || this.requiredSeen.has(filename) || !isAbsolute(filename)) continue;
      const url = pathToFileURL(filename).href;
      if (!packages && originRank(url) === 2) continue;
      this.requiredSeen.add(filename);
      if (DATA_MODULE_RE.test(filename) || isLoaderInternal(url) || this.namespaces.has(url)) continue;
      this.addRequired(url, mod.exports);
    }
  }

  /** Records a module loaded by require() under the namespace an import of it would show. */
  private addRequired(url: string, exports: unknown): object {
    const ns = commonJsNamespace(exports, originRank(url) === 1);
    this.addModule(url, ns);
    return ns;
  }

  /**
   * Import a module by URL, absolute path, `./relative` path (from the current directory) or bare
   * specifier (resolved from this package) through the normal loader, and record it.
   */
  loadModule(specifier: string): Promise<object> {
    const url = toModuleUrl(specifier);
    const have = this.namespaces.get(url);
    if (have !== undefined) return Promise.resolve(have);
    // Already loaded by require() (a CommonJS file): its instance, not a second one through import.
    const required = url.startsWith("file:") ? requireHere.cache[fileURLToPath(url)] : undefined;
    if (required?.loaded) return Promise.resolve(this.addRequired(url, required.exports));
    let p = this.loading.get(url);
    if (p === undefined) {
      p = import(url).then(
        (ns: object) => {
          this.loading.delete(url);
          this.addModule(url, ns);
          return ns;
        },
        (err: unknown) => {
          this.loading.delete(url);
          throw err;
        },
      );
      this.loading.set(url, p);
    }
    return p;
  }

  private indexModule(url: string, ns: object): void {
    const origin = originRank(url);
    const rec = ns as Record<string, unknown>;
    for (const name of Object.keys(ns)) {
      let value: unknown;
      try {
        value = rec[name];
      } catch {
        continue; // binding still in its temporal dead zone
      }
      if (typeof value === "function") {
        const tier = name === value.name ? 0 : name === "default" ? 2 : 1;
        this.offer(value, { ref: { m: url, n: name }, tier, origin });
      } else if (name === "default" && value !== null && typeof value === "object") {
        // `export default { f, g }`, or a CommonJS module.exports object.
        for (const key of Object.keys(value)) {
          const fn = defaultMember(value, key, origin === 1);
          if (typeof fn === "function") {
            this.offer(fn, { ref: { m: url, n: `default.${key}` }, tier: 3, origin });
          }
        }
      }
    }
  }

  private offer(fn: Function, entry: ExportEntry): void {
    Object.freeze(entry.ref);
    const key = `${entry.ref.m}#${entry.ref.n}`;
    this.byClassKey.set(key, fn);
    const cur = this.exportIndex.get(fn);
    if (cur === undefined || better(entry, cur)) {
      this.exportIndex.set(fn, entry);
      this.classKeyOf.set(fn, key);
      this.cache.delete(fn); // it may have been cached by source, or under a worse name
      this.fnStrings.delete(fn);
    }
  }

  /** Rebuild the export index from the recorded namespaces (exports are live bindings). */
  private rescan(): void {
    this.exportIndex.clear();
    this.byClassKey.clear();
    this.classKeyOf.clear();
    this.cache = new WeakMap();
    this.fnStrings = new WeakMap();
    for (const [url, ns] of this.namespaces) this.indexModule(url, ns);
  }

  private scanBuiltins(): Map<Function, ModuleRef> {
    if (this.builtinIndex !== undefined) return this.builtinIndex;
    const best = new Map<Function, ExportEntry>();
    for (const name of SCANNED_BUILTINS) {
      let exp: unknown;
      try {
        exp = requireHere(`node:${name}`);
      } catch {
        continue;
      }
      if (exp === null || (typeof exp !== "object" && typeof exp !== "function")) continue;
      for (const key of Object.keys(exp)) {
        const d = Object.getOwnPropertyDescriptor(exp, key);
        if (d && typeof d.value === "function") {
          const entry = { ref: { m: `node:${name}`, n: key }, tier: key === d.value.name ? 0 : 1, origin: 0 };
          const cur = best.get(d.value);
          if (cur === undefined || better(entry, cur)) best.set(d.value, entry);
        }
      }
    }
    this.builtinIndex = new Map([...best].map(([fn, e]) => [fn, Object.freeze(e.ref)]));
    return this.builtinIndex;
  }

  /* ------------------------------------------------------------------ functions -> refs */

  /**
   * The reference for `fn`, or throws {@link SerializationError}. Synchronous and cached per
   * function; a fresh closure-free arrow costs one `toString` and a map look-up by source.
   */
  refOf(fn: Function): FunctionRef {
    const hit = this.cache.get(fn);
    if (hit !== undefined) return hit;
    const ref = this.compute(fn);
    this.cache.set(fn, ref);
    return ref;
  }

  private compute(fn: Function): FunctionRef {
    if (typeof fn !== "function") {
      throw new SerializationError(
        `cannot send a value of type ${fn === null ? "null" : typeof fn} as a function: submit and map take a function`,
      );
    }
    const globals = (this.globals ??= buildGlobalIndex());
    const g = globals.byFn.get(fn);
    if (g !== undefined) return g;
    const e = this.exportIndex.get(fn);
    if (e !== undefined) return e.ref;

    const source = safeSource(fn);
    let analysis = this.analyses.get(source);
    if (analysis === undefined && NATIVE_RE.test(source)) {
      analysis = analyseNative(fn); // depends on the function, not its (generic) source text
    } else if (analysis === undefined) {
      analysis = analyse(source);
      if (this.analyses.size >= MAX_SOURCE_CACHE) this.analyses.clear();
      this.analyses.set(source, analysis);
    }
    if (analysis.ok) return analysis.ref;

    // About to refuse: look harder (live bindings changed, a builtin loaded before tracking, a
    // module of a package loaded by require()).
    this.collectRequired(true);
    this.rescan();
    const late = this.exportIndex.get(fn)?.ref ?? this.scanBuiltins().get(fn);
    if (late !== undefined) return late;
    if (this.pending.size > 0) void this.settle().catch(() => undefined);
    const note =
      this.pending.size > 0
        ? ` (${this.pending.size} module(s) imported since the last settle() are not scanned yet: await settle() before sending)`
        : "";
    throw new SerializationError(
      `cannot send function ${labelOf(fn, source)}: ${analysis.reason}. ${analysis.fix}${note}`,
    );
  }

  /** Stable string key of a ref, for caches. */
  static keyOf(ref: FunctionRef): string {
    if (isModuleRef(ref)) return `m\u0000${ref.m}\u0000${ref.n}`;
    if ("g" in ref) return `g\u0000${ref.g}`;
    return `s\u0000${ref.s}`;
  }

  /* ------------------------------------------------------------------ refs -> functions */

  /**
   * The function of `ref` when it can be had synchronously (module already recorded, global, or
   * source — compiled on first use), else `undefined`: then call {@link resolve}.
   */
  resolveCached(ref: FunctionRef): Function | undefined {
    if (isModuleRef(ref)) {
      const ns = this.namespaces.get(ref.m);
      if (ns === undefined) return undefined;
      const v = exportValue(ns, ref.n);
      return typeof v === "function" ? v : undefined;
    }
    if ("g" in ref) {
      const v = (this.globals ??= buildGlobalIndex()).byPath.get(ref.g);
      return v ?? undefined;
    }
    const done = this.rebuilt.get(ref.s);
    if (done !== undefined) return done;
    try {
      return this.rebuild(ref.s);
    } catch {
      return undefined; // resolve() reports the error
    }
  }

  /** Resolve a ref to its function, importing its module if needed. */
  async resolve(ref: FunctionRef): Promise<Function> {
    const cached = this.resolveCached(ref);
    if (cached !== undefined) return cached;
    if (ref === null || typeof ref !== "object") {
      throw new SerializationError(`malformed function reference: ${String(ref)}`);
    }
    if (isModuleRef(ref)) {
      let ns: object;
      try {
        ns = await this.loadModule(ref.m);
      } catch (err) {
        throw new SerializationError(
          `cannot resolve function "${ref.n}": importing module ${ref.m} failed: ${(err as Error)?.message ?? String(err)}`,
          { cause: err },
        );
      }
      const v = exportValue(ns, ref.n);
      if (typeof v === "function") return v;
      throw new SerializationError(
        v === undefined
          ? `module ${ref.m} has no export "${ref.n}" (the function was sent from a module that differs from the worker's copy?)`
          : `export "${ref.n}" of module ${ref.m} is a ${typeof v}, not a function`,
      );
    }
    if (typeof (ref as { g?: unknown }).g === "string") {
      const path = (ref as { g: string }).g;
      let v: unknown = globalThis;
      for (const part of path.split(".")) v = v == null ? undefined : (v as Record<string, unknown>)[part];
      if (typeof v === "function") return v;
      throw new SerializationError(`global "${path}" is not a function in this process`);
    }
    if (typeof (ref as { s?: unknown }).s === "string") {
      return this.rebuild((ref as { s: string }).s);
    }
    throw new SerializationError(`malformed function reference: ${JSON.stringify(ref)}`);
  }

  private rebuild(source: string): Function {
    const helpers = [...new Set(source.match(HELPER_SCAN_RE) ?? [])];
    let fn: unknown;
    try {
      const values = helpers.map((h) => (h.startsWith("__name") ? nameHelper : publicFieldHelper));
      // Parameters shadow nothing but the helpers: the body sees only standard globals.
      fn = new Function(...helpers, `"use strict";\nreturn (\n${source}\n);`)(...values);
    } catch (err) {
      throw new SerializationError(
        `cannot rebuild a function sent by source: ${(err as Error)?.message ?? String(err)}`,
        { cause: err },
      );
    }
    if (typeof fn !== "function") {
      throw new SerializationError("a function sent by source did not evaluate to a function");
    }
    if (this.rebuilt.size >= MAX_SOURCE_CACHE) this.rebuilt.clear();
    this.rebuilt.set(source, fn);
    return fn;
  }

  /* ------------------------------------------------------------------ classes */

  /** `"<url>#<exportName>"` of an exported class (or function), else `undefined`. */
  refOfClass(ctor: Function): string | undefined {
    return this.classKeyOf.get(ctor);
  }

  /** The exported class (or function) named by a `"<url>#<exportName>"` ref of a recorded module. */
  classOf(ref: string): Function | undefined {
    const hit = this.byClassKey.get(ref);
    if (hit !== undefined) return hit;
    const at = ref.lastIndexOf("#");
    if (at < 0) return undefined;
    const ns = this.namespaces.get(ref.slice(0, at));
    if (ns === undefined) return undefined;
    const v = exportValue(ns, ref.slice(at + 1));
    return typeof v === "function" ? v : undefined;
  }

  /* ------------------------------------------------------------------ functions inside values */

  /**
   * For the value codec (optional `ClassRegistry.refOfFunction`): a function nested in a value as one
   * string — `"<url>#<name>"` for a module export (same form as class refs), `"#g:<path>"` for a
   * global, `"#s:<source>"` for a closure-free function — or `undefined` when it cannot travel.
   */
  refOfFunction(fn: Function): string | undefined {
    const hit = this.fnStrings.get(fn);
    if (hit !== undefined) return hit;
    let ref: FunctionRef;
    try {
      ref = this.refOf(fn);
    } catch {
      return undefined;
    }
    const str = isModuleRef(ref) ? `${ref.m}#${ref.n}` : "g" in ref ? `#g:${ref.g}` : `#s:${ref.s}`;
    this.fnStrings.set(fn, str);
    return str;
  }

  /** Inverse of {@link refOfFunction}, synchronous: `undefined` when the module is not recorded here. */
  functionOf(ref: string): Function | undefined {
    if (ref.startsWith("#g:")) return this.resolveCached({ g: ref.slice(3) });
    if (ref.startsWith("#s:")) return this.resolveCached({ s: ref.slice(3) });
    return this.classOf(ref);
  }

  /** Like {@link classOf}, importing the module when it is not recorded yet. */
  async loadClass(ref: string): Promise<Function> {
    const hit = this.classOf(ref);
    if (hit !== undefined) return hit;
    const at = ref.lastIndexOf("#");
    if (at < 0) throw new SerializationError(`malformed class reference "${ref}"`);
    const fn = await this.resolve({ m: ref.slice(0, at), n: ref.slice(at + 1) });
    return fn;
  }
}

function exportValue(ns: object, name: string): unknown {
  const rec = ns as Record<string, unknown>;
  if (Object.prototype.hasOwnProperty.call(ns, name)) return rec[name];
  // A CommonJS module whose named exports the sender saw (recorded from require's cache) while this
  // side's import shows only `default` (module.exports), or the other way round below.
  const d0 = rec.default;
  if (!name.startsWith("default.") && d0 !== null && typeof d0 === "object") {
    const member = defaultMember(d0, name, true);
    if (member !== undefined) return member;
  }
  if (name.startsWith("default.")) {
    const d = rec.default;
    // The ref names this member, so reading it through a getter is what the sender did too.
    if (d !== null && typeof d === "object") return defaultMember(d, name.slice(8), true);
  }
  return undefined;
}

/** Files require() loads that hold data, not code (their exports have no function to find). */
const DATA_MODULE_RE = /\.(?:json|node)$/;

/**
 * The namespace an import of a CommonJS module shows: `default` is module.exports, and its own
 * members are named exports too (Node finds them by static analysis, which a compiled module's
 * getters defeat; here they are read, for the program's own files only, see defaultMember).
 */
function commonJsNamespace(exports: unknown, ownFile: boolean): object {
  const ns: Record<string, unknown> = { default: exports };
  if (exports === null || (typeof exports !== "object" && typeof exports !== "function")) return ns;
  for (const key of Object.keys(exports)) {
    if (key === "default") continue;
    const v = defaultMember(exports, key, ownFile);
    if (v !== undefined) ns[key] = v;
  }
  return ns;
}

/**
 * Own property `key` of a default-export object. A `.ts` file in a CommonJS package scope is compiled
 * by tsx (esbuild) to `module.exports` whose members are getters (`__export`), and Node gives its
 * namespace only `default`: so getters are read, but only when `getters` is true (the program's own
 * files): a package's module.exports may have lazy getters that load code, which indexing must not.
 */
function defaultMember(obj: object, key: string, getters: boolean): unknown {
  const d = Object.getOwnPropertyDescriptor(obj, key);
  if (d === undefined) return undefined;
  if ("value" in d) return d.value;
  if (!getters || d.get === undefined) return undefined;
  try {
    return d.get.call(obj);
  } catch {
    return undefined; // binding still in its temporal dead zone, or a getter that throws
  }
}

/* ------------------------------------------------------------------------------------------------
 * Import tracking through tsx
 * ---------------------------------------------------------------------------------------------- */

/** Set once tsx's CommonJS hooks are installed: they patch `require` process-wide. */
let cjsHooks: Promise<void> | undefined;

/**
 * Register tsx (TypeScript loader) with an `onImport` hook feeding `registry`: every module the
 * loader loads from now on (local `.ts`/`.js`/`.mjs`/`.cjs` files, `node_modules` packages, `node:`
 * builtins not loaded before) is noted; `await registry.settle()` collects their namespaces.
 * CommonJS files reached through `require()` are not reported (only their ESM-imported entry).
 * Call it once per process, instead of `--import tsx` (two tsx registrations compile twice).
 * Returns tsx's unregister function (of the ESM hooks; the CommonJS hooks stay for the process and
 * read their tsconfig from `TSX_TSCONFIG_PATH`, not from `options`).
 */
export async function trackImports(
  registry: ReferenceRegistry,
  options: { tsconfig?: string | false } = {},
): Promise<() => Promise<void>> {
  // Like `--import tsx`, both hook sets: tsx's ESM loader hands a `.ts` file of a CommonJS package
  // scope (no "type": "module") over to `require`, which cannot load it without tsx's CJS hooks
  // (ERR_REQUIRE_CYCLE_MODULE). Once per process: a second registration would compile twice.
  cjsHooks ??= import("tsx/cjs/api").then(({ register }) => {
    register();
  });
  await cjsHooks;
  const { register } = (await import("tsx/esm/api")) as typeof import("tsx/esm/api");
  return register({ onImport: (url: string) => registry.noteImport(url), tsconfig: options.tsconfig });
}

/* ------------------------------------------------------------------------------------------------
 * Source analysis: may this function be rebuilt from its source alone?
 * ---------------------------------------------------------------------------------------------- */

// ESTree nodes are walked generically; acorn's own types are too narrow for a generic walker.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type N = any;

type ParseFn = typeof Acorn.parse;
let acornParse: ParseFn | undefined;
/**
 * Parse `expression` as strict (module) code and return its AST. It is parsed inside a function so
 * that `new.target` parses (an arrow may use it); `super` is allowed by an option: both are then
 * judged by the scope analysis.
 */
function parseExpression(expression: string): N {
  acornParse ??= (requireHere("acorn") as typeof Acorn).parse;
  const program = acornParse(`(function () { return ${expression}; })`, {
    ecmaVersion: "latest",
    sourceType: "module",
    allowSuperOutsideMethod: true,
  });
  return (program.body[0] as N).expression.body.body[0].argument;
}

const FIX_EXPORT = "Export it from its module";

const NATIVE_RE = /\{\s*\[native code\]\s*\}\s*$/;

/** Native functions (bound functions, proxies, host functions) have no source to send. */
function analyseNative(fn: Function): Analysis {
  if (fn.name.startsWith("bound ")) {
    return {
      ok: false,
      reason: "it is a bound function (made by .bind())",
      fix: "Send the original function, exported from its module, and pass the bound values as arguments.",
    };
  }
  return {
    ok: false,
    reason: "it is a native function that is not a known global or module export",
    fix: "Call it from a function exported from your module.",
  };
}

function analyse(source: string): Analysis {
  let root: N;
  let method = false;
  let expr = source;
  try {
    root = parseExpression(`(${source}\n)`);
  } catch {
    // Method shorthand (`f(x) {}`, `async f() {}`, `*g() {}`, `[k]() {}`, `get x() {}`).
    if (source.startsWith("#")) {
      return { ok: false, reason: "it is a private method", fix: "Export a plain function from its module." };
    }
    let obj: N;
    try {
      obj = parseExpression(`({${source}\n})`);
    } catch (err) {
      return {
        ok: false,
        reason: `its source cannot be parsed (${(err as Error).message})`,
        fix: `${FIX_EXPORT}.`,
      };
    }
    const prop = obj?.properties?.length === 1 ? obj.properties[0] : undefined;
    if (prop === undefined || prop.type !== "Property") {
      return { ok: false, reason: "its source is not a function", fix: `${FIX_EXPORT}.` };
    }
    if (prop.kind !== "init") {
      return { ok: false, reason: `it is a ${prop.kind}ter`, fix: `Export a plain function from its module.` };
    }
    method = true;
    root = obj;
    expr = `(o => o[Reflect.ownKeys(o)[0]])({${source}\n})`;
  }
  if (root?.type === "ClassExpression") {
    return {
      ok: false,
      reason: "it is a class that is not exported from any loaded module",
      fix: `${FIX_EXPORT}.`,
    };
  }
  if (!method && root?.type !== "ArrowFunctionExpression" && root?.type !== "FunctionExpression") {
    return { ok: false, reason: "its source is not a function", fix: `${FIX_EXPORT}.` };
  }
  const found = freeVariables(root, method);
  if (found.importMeta) {
    return {
      ok: false,
      reason: `it uses "import.meta", which belongs to its module`,
      fix: `${FIX_EXPORT}.`,
    };
  }
  if (found.methodThis.length > 0) {
    return {
      ok: false,
      reason: `it uses ${quoteList(found.methodThis)} (a method needs its object)`,
      fix: "Export a function from its module that takes the object's data as an argument.",
    };
  }
  const captures = found.free.filter((n) => !STANDARD_GLOBALS.has(n) && !HELPER_RE.test(n));
  const lexical = found.lexical;
  if (captures.length > 0 || lexical.length > 0) {
    const all = [...captures, ...lexical];
    const reason =
      captures.length > 0
        ? `it captures ${quoteList(all)} (a closure)`
        : `it uses ${quoteList(lexical)} of its enclosing function (an arrow function)`;
    const fix =
      captures.length > 0
        ? `${FIX_EXPORT}, or pass ${quoteList(captures)} as ${captures.length === 1 ? "an argument" : "arguments"}.`
        : `${FIX_EXPORT} as a function, or pass the values it needs as arguments.`;
    return { ok: false, reason, fix };
  }
  return { ok: true, ref: Object.freeze({ s: expr }) };
}

type ScopeKind = "root" | "function" | "arrow" | "method" | "field" | "block";

class Scope {
  readonly names = new Set<string>();
  constructor(
    readonly parent: Scope | null,
    readonly kind: ScopeKind,
    /** The function being sent (its `this` is the caller's, i.e. `undefined`). */
    readonly isSent = false,
  ) {}
}

interface FreeResult {
  /** Free identifiers in order of first use. */
  free: string[];
  /** `this` / `arguments` / `super` / `new.target` that reach outside the sent arrow. */
  lexical: string[];
  /** `this` / `super` used by a sent method. */
  methodThis: string[];
  importMeta: boolean;
}

/** Names bound by a declaration pattern. */
function boundNames(p: N, out: string[] = []): string[] {
  if (p == null) return out;
  switch (p.type) {
    case "Identifier":
      out.push(p.name);
      break;
    case "ObjectPattern":
      for (const prop of p.properties) boundNames(prop.type === "RestElement" ? prop.argument : prop.value, out);
      break;
    case "ArrayPattern":
      for (const el of p.elements) boundNames(el, out);
      break;
    case "RestElement":
      boundNames(p.argument, out);
      break;
    case "AssignmentPattern":
      boundNames(p.left, out);
      break;
  }
  return out;
}

function isFunctionNode(n: N): boolean {
  return (
    n.type === "FunctionDeclaration" ||
    n.type === "FunctionExpression" ||
    n.type === "ArrowFunctionExpression"
  );
}

/** `var` names of a function body (all nesting levels, not entering nested functions). */
function hoistVar(node: N, scope: Scope): void {
  if (node == null || typeof node !== "object") return;
  if (Array.isArray(node)) {
    for (const n of node) hoistVar(n, scope);
    return;
  }
  if (typeof node.type !== "string") return;
  if (isFunctionNode(node) || node.type === "ClassDeclaration" || node.type === "ClassExpression") return;
  if (node.type === "VariableDeclaration" && node.kind === "var") {
    for (const d of node.declarations) for (const n of boundNames(d.id)) scope.names.add(n);
  }
  // Statements only: expressions cannot declare vars.
  switch (node.type) {
    case "BlockStatement":
    case "StaticBlock":
      hoistVar(node.body, scope);
      break;
    case "IfStatement":
      hoistVar(node.consequent, scope);
      hoistVar(node.alternate, scope);
      break;
    case "ForStatement":
      hoistVar(node.init, scope);
      hoistVar(node.body, scope);
      break;
    case "ForInStatement":
    case "ForOfStatement":
      hoistVar(node.left, scope);
      hoistVar(node.body, scope);
      break;
    case "WhileStatement":
    case "DoWhileStatement":
    case "LabeledStatement":
      hoistVar(node.body, scope);
      break;
    case "TryStatement":
      hoistVar(node.block, scope);
      hoistVar(node.handler?.body, scope);
      hoistVar(node.finalizer, scope);
      break;
    case "SwitchStatement":
      for (const c of node.cases) hoistVar(c.consequent, scope);
      break;
  }
}

/** Lexical declarations (let/const/class/function) directly in a statement list. */
function hoistLexical(statements: N[], scope: Scope): void {
  for (const s of statements) {
    if (s.type === "VariableDeclaration" && s.kind !== "var") {
      for (const d of s.declarations) for (const n of boundNames(d.id)) scope.names.add(n);
    } else if ((s.type === "FunctionDeclaration" || s.type === "ClassDeclaration") && s.id) {
      scope.names.add(s.id.name);
    }
  }
}

function freeVariables(root: N, method: boolean): FreeResult {
  const free: string[] = [];
  const freeSet = new Set<string>();
  const lexical: string[] = [];
  const methodThis: string[] = [];
  let importMeta = false;
  const top = new Scope(null, "root");

  const addOnce = (list: string[], name: string): void => {
    if (!list.includes(name)) list.push(name);
  };

  const lookup = (name: string, scope: Scope): boolean => {
    for (let s: Scope | null = scope; s !== null; s = s.parent) if (s.names.has(name)) return true;
    return false;
  };

  /** The scope that binds `this` (function, method, class field/static block), or null past the root. */
  const thisScope = (scope: Scope, forArguments: boolean): Scope | null => {
    for (let s: Scope | null = scope; s !== null; s = s.parent) {
      if (s.kind === "function" || s.kind === "method") return s;
      if (s.kind === "field") return forArguments ? null : s;
      if (s.kind === "root") return null;
    }
    return null;
  };

  const useThisLike = (word: string, scope: Scope, forArguments = false): void => {
    const s = thisScope(scope, forArguments);
    if (s === null) addOnce(lexical, word);
    else if (s.isSent && s.kind === "method" && word !== "arguments") addOnce(methodThis, word);
  };

  const reference = (name: string, scope: Scope): void => {
    if (lookup(name, scope)) return;
    if (name === "arguments") {
      useThisLike("arguments", scope, true);
      return;
    }
    if (!freeSet.has(name)) {
      freeSet.add(name);
      free.push(name);
    }
  };

  const visitPattern = (p: N, scope: Scope, assign: boolean): void => {
    if (p == null) return;
    switch (p.type) {
      case "Identifier":
        if (assign) reference(p.name, scope);
        break;
      case "ObjectPattern":
        for (const prop of p.properties) {
          if (prop.type === "RestElement") visitPattern(prop.argument, scope, assign);
          else {
            if (prop.computed) visit(prop.key, scope);
            visitPattern(prop.value, scope, assign);
          }
        }
        break;
      case "ArrayPattern":
        for (const el of p.elements) visitPattern(el, scope, assign);
        break;
      case "RestElement":
        visitPattern(p.argument, scope, assign);
        break;
      case "AssignmentPattern":
        visitPattern(p.left, scope, assign);
        visit(p.right, scope);
        break;
      default:
        visit(p, scope); // MemberExpression target of an assignment
    }
  };

  const visitFunction = (fnNode: N, outer: Scope, kind: ScopeKind, isSent: boolean): void => {
    let parent = outer;
    if (fnNode.type === "FunctionExpression" && fnNode.id) {
      parent = new Scope(outer, "block");
      parent.names.add(fnNode.id.name);
    }
    const fkind: ScopeKind = fnNode.type === "ArrowFunctionExpression" ? "arrow" : kind;
    const scope = new Scope(parent, fkind, isSent);
    for (const p of fnNode.params) for (const n of boundNames(p)) scope.names.add(n);
    if (fnNode.body.type === "BlockStatement") {
      hoistVar(fnNode.body.body, scope);
      hoistLexical(fnNode.body.body, scope);
    }
    for (const p of fnNode.params) visitPattern(p, scope, false);
    if (fnNode.body.type === "BlockStatement") for (const s of fnNode.body.body) visit(s, scope);
    else visit(fnNode.body, scope);
  };

  const visitClass = (cls: N, outer: Scope): void => {
    const scope = new Scope(outer, "block");
    if (cls.id) scope.names.add(cls.id.name);
    if (cls.superClass) visit(cls.superClass, scope);
    for (const el of cls.body.body) {
      if (el.type === "StaticBlock") {
        const s = new Scope(scope, "field");
        hoistVar(el.body, s);
        hoistLexical(el.body, s);
        for (const st of el.body) visit(st, s);
        continue;
      }
      if (el.computed) visit(el.key, scope);
      if (el.type === "MethodDefinition") visitFunction(el.value, scope, "method", false);
      else if (el.type === "PropertyDefinition" && el.value) visit(el.value, new Scope(scope, "field"));
    }
  };

  const visitBlock = (statements: N[], outer: Scope): void => {
    const scope = new Scope(outer, "block");
    hoistLexical(statements, scope);
    for (const s of statements) visit(s, scope);
  };

  const visit = (node: N, scope: Scope): void => {
    if (node == null) return;
    switch (node.type) {
      case "Identifier":
        reference(node.name, scope);
        return;
      case "Literal":
      case "TemplateElement":
      case "PrivateIdentifier":
      case "EmptyStatement":
      case "DebuggerStatement":
      case "BreakStatement":
      case "ContinueStatement":
        return;
      case "ThisExpression":
        useThisLike("this", scope);
        return;
      case "Super":
        useThisLike("super", scope);
        return;
      case "MetaProperty":
        if (node.meta.name === "import") importMeta = true;
        else useThisLike("new.target", scope, true);
        return;
      case "FunctionExpression":
      case "ArrowFunctionExpression":
        visitFunction(node, scope, "function", false);
        return;
      case "FunctionDeclaration":
        visitFunction(node, scope, "function", false); // name hoisted by the enclosing scope
        return;
      case "ClassExpression":
      case "ClassDeclaration":
        visitClass(node, scope);
        return;
      case "BlockStatement":
        visitBlock(node.body, scope);
        return;
      case "VariableDeclaration":
        for (const d of node.declarations) {
          visitPattern(d.id, scope, false);
          visit(d.init, scope);
        }
        return;
      case "ForStatement": {
        const s = new Scope(scope, "block");
        if (node.init?.type === "VariableDeclaration") hoistLexical([node.init], s);
        visit(node.init, s);
        visit(node.test, s);
        visit(node.update, s);
        visit(node.body, s);
        return;
      }
      case "ForInStatement":
      case "ForOfStatement": {
        const s = new Scope(scope, "block");
        if (node.left.type === "VariableDeclaration") {
          hoistLexical([node.left], s);
          visit(node.left, s);
        } else visitPattern(node.left, s, true);
        visit(node.right, s);
        visit(node.body, s);
        return;
      }
      case "SwitchStatement": {
        visit(node.discriminant, scope);
        const s = new Scope(scope, "block");
        hoistLexical(node.cases.flatMap((c: N) => c.consequent), s);
        for (const c of node.cases) {
          visit(c.test, s);
          for (const st of c.consequent) visit(st, s);
        }
        return;
      }
      case "TryStatement":
        visit(node.block, scope);
        if (node.handler) {
          const s = new Scope(scope, "block");
          for (const n of boundNames(node.handler.param)) s.names.add(n);
          visitPattern(node.handler.param, s, false);
          visit(node.handler.body, s);
        }
        visit(node.finalizer, scope);
        return;
      case "LabeledStatement":
        visit(node.body, scope);
        return;
      case "MemberExpression":
        visit(node.object, scope);
        if (node.computed) visit(node.property, scope);
        return;
      case "Property":
        if (node.computed) visit(node.key, scope);
        visit(node.value, scope); // shorthand `{x}`: value is the identifier x
        return;
      case "AssignmentExpression":
        visitPattern(node.left, scope, true);
        visit(node.right, scope);
        return;
      case "UpdateExpression":
        visitPattern(node.argument, scope, true);
        return;
      default:
        // Every other node: visit its child nodes (expressions, statements) generically.
        for (const key of Object.keys(node)) {
          if (key === "type" || key === "start" || key === "end" || key === "loc" || key === "range") continue;
          const v = node[key];
          if (Array.isArray(v)) {
            for (const c of v) if (c && typeof c.type === "string") visit(c, scope);
          } else if (v && typeof v === "object" && typeof v.type === "string") visit(v, scope);
        }
    }
  };

  if (method) {
    // `({ m(x) {...} })`: the single property; its computed key is evaluated where the object is.
    const prop = root.properties[0];
    if (prop.computed) visit(prop.key, top);
    visitFunction(prop.value, top, "method", true);
  } else {
    visitFunction(root, top, "function", true);
  }
  return { free, lexical, methodThis, importMeta };
}
