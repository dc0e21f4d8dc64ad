import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  decodeValue,
  encodeValue,
  MAX_DEPTH,
  OUT_OF_BAND_MIN_BYTES,
  type ClassRegistry,
  type EncodeOptions,
} from "../../src/protocol/codec.js";
import { ProtocolError, SerializationError } from "../../src/errors.js";

/** Tags of the wire format, repeated here so the malformed-frame tests can forge them. */
const Tag = { Ref: 2, Frame: 9 } as const;

/** Encode then decode, the way a value crosses the wire (frames copied, as a socket would). */
function roundTrip<T>(value: T, classes?: ClassRegistry, options?: EncodeOptions): T {
  const frames = encodeValue(value, classes, options);
  return decodeValue(frames.map((f) => Buffer.from(f)), classes) as T;
}

function assertSame(value: unknown, classes?: ClassRegistry): unknown {
  const back = roundTrip(value, classes);
  assert.deepStrictEqual(back, value);
  return back;
}

/** A registry over fixed sets of classes and functions. */
function registry(classes: Record<string, Function>, functions: Record<string, Function> = {}): ClassRegistry {
  const refs = new Map(Object.entries(classes).map(([ref, c]) => [c, ref]));
  const fnRefs = new Map(Object.entries(functions).map(([ref, f]) => [f, ref]));
  return {
    refOfClass: (ctor) => refs.get(ctor),
    classOf: (ref) => classes[ref],
    refOfFunction: (fn) => fnRefs.get(fn),
    functionOf: (ref) => functions[ref],
  };
}

function refusal(fn: () => unknown): SerializationError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SerializationError, `expected a SerializationError, got ${String(e)}`);
    assert.equal(e.code, "ERR_SCOOP_SERIALIZATION");
    return e;
  }
  assert.fail("expected the value to be refused");
}

describe("primitives", () => {
  it("round-trips numbers exactly, at every encoding boundary", () => {
    const numbers = [
      0, -0, 1, -1, 31, 32, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32,
      -31, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, 1.5, -1.5, 0.1,
      NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON,
      Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 53 + 2, 1e300, -5e-324,
    ];
    for (const n of numbers) {
      const back = roundTrip(n);
      assert.ok(Object.is(back, n), `${Object.is(n, -0) ? "-0" : n} came back as ${back}`);
    }
    const all = roundTrip(numbers);
    numbers.forEach((n, i) => assert.ok(Object.is(all[i], n)));
  });

  it("keeps -0 apart from 0 inside arrays and objects", () => {
    const back = roundTrip({ a: [-0, 0], b: -0 });
    assert.ok(Object.is(back.a[0], -0));
    assert.ok(Object.is(back.a[1], 0));
    assert.ok(Object.is(back.b, -0));
  });

  it("round-trips undefined, null and booleans", () => {
    for (const v of [undefined, null, true, false]) assert.ok(Object.is(roundTrip(v), v));
    assert.deepStrictEqual(roundTrip([undefined, null, true, false]), [undefined, null, true, false]);
  });

  it("round-trips BigInts of any size and sign, as BigInts", () => {
    const bigints = [
      0n, 1n, -1n, 127n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n, -(2n ** 63n) - 1n,
      -(2n ** 64n) - 1n, 2n ** 200n + 12345n, -(3n ** 150n), 10n ** 1000n,
    ];
    for (const n of bigints) {
      const back = roundTrip(n);
      assert.equal(typeof back, "bigint");
      assert.equal(back, n);
    }
    assert.deepStrictEqual(roundTrip(bigints), bigints);
  });

  it("round-trips strings: empty, unicode, every length class", () => {
    const strings = [
      "", "a", "héllo", "☃", "😀", "a😀b", "日本語のテキスト", "x".repeat(15), "x".repeat(16), "x".repeat(31),
      "x".repeat(32), "é".repeat(20), "😀".repeat(10), "x".repeat(255), "x".repeat(256), "é".repeat(100),
      "x".repeat(65535), "x".repeat(70000), "z\u0000z", "\u2028\u2029",
    ];
    for (const s of strings) assert.equal(roundTrip(s), s);
    assert.deepStrictEqual(roundTrip(strings), strings);
  });

  it("round-trips strings with lone surrogates, which UTF-8 cannot carry", () => {
    const strings = ["\ud800", "a\udc00b", "\udbff", "x".repeat(40) + "\ud83d", "\ud83d" + "x".repeat(40)];
    for (const s of strings) {
      const back = roundTrip(s);
      assert.equal(back, s);
      assert.equal(back.length, s.length);
    }
    assert.deepStrictEqual(roundTrip({ ["k\ud800"]: 1 }), { ["k\ud800"]: 1 });
  });
});

describe("arrays and plain objects", () => {
  it("round-trips nested arrays of every header size", () => {
    for (const n of [0, 1, 15, 16, 65535, 65536]) {
      const a = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? i : i % 3 === 1 ? `s${i}` : [i]));
      assertSame(a);
    }
  });

  it("keeps the holes of sparse arrays apart from undefined elements", () => {
    const sparse = [1, , 3, undefined, , 6];
    const back = roundTrip(sparse);
    assert.equal(back.length, 6);
    assert.equal(1 in back, false);
    assert.equal(4 in back, false);
    assert.equal(3 in back, true);
    assert.equal(back[3], undefined);
    assert.deepStrictEqual(back, sparse);
    const trailing = new Array(5);
    trailing[0] = "x";
    assert.deepStrictEqual(roundTrip(trailing), trailing);
  });

  it("round-trips nested plain objects, keeping keys whose value is undefined", () => {
    const o = { a: 1, b: { c: [1, { d: "e" }], f: undefined }, g: null, "": "empty key", "with space": 2, é: "ü" };
    const back = assertSame(o) as typeof o;
    assert.ok("f" in back.b);
    assert.deepStrictEqual(Object.keys(back), Object.keys(o));
  });

  it("round-trips objects with many keys and integer-like keys, in order", () => {
    const wide: Record<string, number> = {};
    for (let i = 0; i < 70000; i++) wide[`k${i}`] = i;
    assertSame(wide);
    const mixed = { b: 1, 2: "two", a: 3, 1: "one" };
    assert.deepStrictEqual(Object.keys(roundTrip(mixed)), ["1", "2", "b", "a"]);
  });

  it("keeps an own __proto__ key as data and never as the prototype", () => {
    const o = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as Record<string, unknown>;
    const back = roundTrip(o);
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
    assert.ok(Object.hasOwn(back, "__proto__"));
    assert.deepStrictEqual(Object.getOwnPropertyDescriptor(back, "__proto__")?.value, { polluted: true });
    assert.equal((back as { polluted?: unknown }).polluted, undefined);
  });

  it("decodes many distinct keys and key lists correctly (key cache collisions, shape table overflow)", () => {
    const rows = Array.from({ length: 10000 }, (_, i) => ({ [`key${i}`]: i, [`k${i % 7}`]: `v${i}` }));
    assertSame(rows);
    assertSame(rows);
  });

  it("round-trips arrays of similar objects (records), including cycles through them", () => {
    type Row = { id: number; name: string; self?: Row; prev?: Row };
    const rows: Row[] = [];
    for (let i = 0; i < 500; i++) {
      const row: Row = { id: i, name: `n${i}`, self: undefined, prev: rows[i - 1] };
      row.self = row;
      rows.push(row);
    }
    for (let round = 0; round < 3; round++) {
      const back = roundTrip(rows);
      assert.equal(back.length, 500);
      for (let i = 0; i < 500; i++) {
        assert.equal(back[i]!.self, back[i]);
        assert.equal(back[i]!.prev, back[i - 1]);
        assert.equal(back[i]!.name, `n${i}`);
        assert.deepStrictEqual(Object.keys(back[i]!), ["id", "name", "self", "prev"]);
      }
    }
  });

  it("round-trips more distinct shapes in one frame than records can number", () => {
    const rows = Array.from({ length: 600 }, (_, i) => ({ [`only${i}`]: i, common: true }));
    assertSame([...rows, ...rows.map((r) => ({ ...r }))]);
  });

  it("never assigns an own __proto__ key, even in repeated shapes", () => {
    const rows = Array.from({ length: 150 }, (_, i) => JSON.parse(`{"a": ${i}, "__proto__": {"x": ${i}}}`) as object);
    const back = roundTrip(rows);
    for (const [i, o] of back.entries()) {
      assert.equal(Object.getPrototypeOf(o), Object.prototype);
      assert.deepStrictEqual(Object.getOwnPropertyDescriptor(o, "__proto__")?.value, { x: i });
    }
  });

  it("round-trips objects with a null prototype", () => {
    const o = Object.create(null) as Record<string, unknown>;
    o.a = 1;
    o.nested = { b: 2 };
    const back = roundTrip(o);
    assert.equal(Object.getPrototypeOf(back), null);
    assert.deepStrictEqual(back, o);
  });

  it("sends a plain object that shadows `constructor` as a plain object", () => {
    assertSame({ constructor: "not a function", x: 1 });
  });
});

describe("Map, Set, Date, RegExp, boxed primitives", () => {
  it("round-trips a Map with object keys", () => {
    const key = { k: 1 };
    const m = new Map<unknown, unknown>([[key, "object key"], ["s", 1], [2, [3]], [null, undefined], [NaN, "nan"]]);
    const back = assertSame(m) as Map<unknown, unknown>;
    const [backKey] = back.keys();
    assert.deepStrictEqual(backKey, key);
    assert.equal(back.get(NaN), "nan");
  });

  it("round-trips a Set, including object items", () => {
    assertSame(new Set([1, "a", { b: 2 }, [3], undefined]));
    assertSame(new Set());
  });

  it("round-trips Dates, including invalid ones", () => {
    for (const d of [new Date(0), new Date(1700000000123), new Date(-1e12), new Date(8.64e15), new Date(NaN)]) {
      const back = roundTrip(d);
      assert.ok(back instanceof Date);
      assert.ok(Object.is(back.getTime(), d.getTime()));
    }
  });

  it("round-trips RegExps with their flags", () => {
    for (const r of [/a+b/, /x/gimsuy, /[\u{1F600}]/u, new RegExp("a/b", "d")]) {
      const back = roundTrip(r);
      assert.ok(back instanceof RegExp);
      assert.equal(back.source, r.source);
      assert.equal(back.flags, r.flags);
    }
  });

  it("round-trips boxed primitives", () => {
    for (const v of [Object(1.5), Object("s"), Object(true), Object(5n)] as object[]) {
      const back = roundTrip(v);
      assert.equal(typeof back, "object");
      assert.deepStrictEqual(back, v);
    }
  });
});

describe("binary values", () => {
  const kinds = [
    new Int8Array([-128, 0, 127]),
    new Uint8Array([0, 255]),
    new Uint8ClampedArray([0, 128, 255]),
    new Int16Array([-32768, 32767]),
    new Uint16Array([0, 65535]),
    new Int32Array([-(2 ** 31), 2 ** 31 - 1]),
    new Uint32Array([0, 2 ** 32 - 1]),
    new Float32Array([1.5, NaN, -0, Infinity]),
    new Float64Array([Math.PI, NaN, -0, -Infinity]),
    new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]),
    new BigUint64Array([0n, 2n ** 64n - 1n]),
  ];

  it("round-trips every typed array kind, as that kind", () => {
    for (const a of kinds) {
      const back = roundTrip(a);
      assert.equal(Object.getPrototypeOf(back), Object.getPrototypeOf(a), a.constructor.name);
      assert.deepStrictEqual(back, a);
    }
  });

  it("round-trips typed arrays that view part of a larger buffer", () => {
    const base = new Float64Array([1, 2, 3, 4, 5]);
    const view = base.subarray(1, 3);
    const back = roundTrip(view);
    assert.deepStrictEqual(back, new Float64Array([2, 3]));
    assert.equal(back.buffer.byteLength, 16);
  });

  it("returns a Buffer as a Buffer and a Uint8Array as a plain Uint8Array", () => {
    const buffer = roundTrip(Buffer.from("héllo"));
    assert.ok(Buffer.isBuffer(buffer));
    assert.equal(buffer.toString(), "héllo");
    const bytes = roundTrip(new Uint8Array([1, 2, 3]));
    assert.equal(Buffer.isBuffer(bytes), false);
    assert.deepStrictEqual(bytes, new Uint8Array([1, 2, 3]));
  });

  it("round-trips ArrayBuffer and DataView", () => {
    const ab = new Uint8Array([1, 2, 3, 4, 5]).buffer;
    const back = roundTrip(ab);
    assert.ok(back instanceof ArrayBuffer);
    assert.deepStrictEqual(back, ab);
    const dv = new DataView(ab, 1, 3);
    const dvBack = roundTrip(dv);
    assert.ok(dvBack instanceof DataView);
    assert.equal(dvBack.byteLength, 3);
    assert.equal(dvBack.getUint8(0), 2);
  });

  it("sends a 64 MiB Float64Array as its own frame, without copying it", () => {
    const big = new Float64Array(8 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4099) big[i] = i * 0.5;
    big[big.length - 1] = -0;
    const frames = encodeValue(big);
    assert.equal(frames.length, 2);
    assert.ok(frames[0]!.length < 16, "frame 0 only refers to the binary frame");
    // assert.ok rather than equal: a failure message would print 64 MiB buffers
    assert.ok(frames[1]!.buffer === big.buffer, "the frame is a view over the array's own memory");
    assert.equal(frames[1]!.byteLength, big.byteLength);

    // as received: a fresh buffer per frame; the decoded array is a view on it, not a copy
    const received = frames.map((f) => Buffer.from(f));
    const back = decodeValue(received) as Float64Array;
    assert.ok(back instanceof Float64Array);
    assert.ok(back.buffer === received[1]!.buffer, "the decoded array is a view on the received frame");
    assert.equal(back.length, big.length);
    assert.ok(Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(frames[1]!));
    assert.ok(Object.is(back[back.length - 1], -0));
  });

  it("puts binaries in their own frame from the threshold on, and inline below it", () => {
    const below = new Uint8Array(OUT_OF_BAND_MIN_BYTES - 1).fill(7);
    const at = new Uint8Array(OUT_OF_BAND_MIN_BYTES).fill(9);
    assert.equal(encodeValue(below).length, 1);
    const frames = encodeValue({ below, at, again: at });
    assert.equal(frames.length, 2, "a binary referenced twice travels once");
    const back = decodeValue(frames.map((f) => Buffer.from(f))) as { below: Uint8Array; at: Uint8Array; again: Uint8Array };
    assert.deepStrictEqual(back.below, below);
    assert.deepStrictEqual(back.at, at);
    assert.equal(back.again, back.at);
  });

  it("puts everything in one frame when asked to encode inline", () => {
    const big = new Float64Array(OUT_OF_BAND_MIN_BYTES).fill(2.5);
    const frames = encodeValue({ big, buf: Buffer.alloc(OUT_OF_BAND_MIN_BYTES, 1) }, undefined, { inline: true });
    assert.equal(frames.length, 1);
    const back = decodeValue(frames) as { big: Float64Array; buf: Buffer };
    assert.deepStrictEqual(back.big, big);
    assert.ok(Buffer.isBuffer(back.buf));
    assert.equal(back.buf.length, OUT_OF_BAND_MIN_BYTES);
  });

  it("copies a received frame whose alignment does not suit its typed array", () => {
    const a = new Float64Array(OUT_OF_BAND_MIN_BYTES / 8).map((_, i) => i + 0.25);
    const frames = encodeValue(a);
    const misaligned = Buffer.alloc(frames[1]!.length + 1);
    frames[1]!.copy(misaligned, 1);
    const back = decodeValue([frames[0]!, misaligned.subarray(1)]) as Float64Array;
    assert.deepStrictEqual(back, a);
    assert.equal(back.byteOffset % 8, 0);
  });

  it("returns large Buffers and ArrayBuffers from their frames", () => {
    const buf = Buffer.alloc(OUT_OF_BAND_MIN_BYTES * 2, 3);
    const ab = new Uint8Array(OUT_OF_BAND_MIN_BYTES).fill(4).buffer;
    const frames = encodeValue([buf, ab]);
    assert.equal(frames.length, 3);
    const received = frames.map((f) => Buffer.from(f));
    const [b, a] = decodeValue(received) as [Buffer, ArrayBuffer];
    assert.equal(b, received[1], "the received Buffer itself");
    assert.ok(a instanceof ArrayBuffer);
    assert.deepStrictEqual(a, ab);
  });
});

describe("errors", () => {
  const builtins = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError];

  it("round-trips builtin errors with name, message, stack, cause and extra properties", () => {
    for (const Ctor of builtins) {
      const err = new Ctor("it broke", { cause: new Error("underneath") }) as Error & { code?: string; detail?: unknown };
      err.code = "E_BROKE";
      err.detail = { n: 1 };
      const back = roundTrip(err);
      assert.ok(back instanceof Ctor);
      assert.equal(Object.getPrototypeOf(back), Ctor.prototype);
      assert.equal(back.name, err.name);
      assert.equal(back.message, "it broke");
      assert.equal(back.stack, err.stack);
      assert.equal((back.cause as Error).message, "underneath");
      assert.equal((back.cause as Error).stack, (err.cause as Error).stack);
      assert.equal(back.code, "E_BROKE");
      assert.deepStrictEqual(back.detail, { n: 1 });
      assert.deepStrictEqual(back, err);
      assert.deepStrictEqual(Object.getOwnPropertyNames(back).sort(), Object.getOwnPropertyNames(err).sort());
      assert.equal(Object.prototype.propertyIsEnumerable.call(back, "message"), false);
    }
  });

  it("round-trips an error without a message or cause without adding them", () => {
    const err = new RangeError();
    const back = roundTrip(err);
    assert.equal(Object.hasOwn(back, "message"), false);
    assert.equal(Object.hasOwn(back, "cause"), false);
    assert.deepStrictEqual(back, err);
    const noStack = new Error("x");
    delete (noStack as { stack?: string }).stack;
    assert.equal(Object.hasOwn(roundTrip(noStack), "stack"), false);
  });

  it("round-trips AggregateError with its errors", () => {
    const err = new AggregateError([new TypeError("a"), "b", { c: 1 }], "several", { cause: 42 });
    const back = roundTrip(err);
    assert.ok(back instanceof AggregateError);
    assert.equal(back.message, "several");
    assert.equal(back.cause, 42);
    assert.equal(back.errors.length, 3);
    assert.ok(back.errors[0] instanceof TypeError);
    assert.deepStrictEqual(back, err);
  });

  it("keeps the class of an exported error class, without calling its constructor", () => {
    let constructed = 0;
    class HttpError extends Error {
      status: number;
      constructor(message: string, status: number) {
        super(message);
        constructed++;
        this.status = status;
      }
      get isServer(): boolean {
        return this.status >= 500;
      }
    }
    HttpError.prototype.name = "HttpError";
    const classes = registry({ "mod#HttpError": HttpError });
    const err = new HttpError("bad gateway", 502);
    constructed = 0;
    const back = roundTrip(err, classes);
    assert.equal(constructed, 0);
    assert.ok(back instanceof HttpError);
    assert.equal(back.isServer, true);
    assert.equal(back.name, "HttpError");
    assert.equal(back.stack, err.stack);
    assert.deepStrictEqual(back, err);
  });

  it("sends an error of an unknown class as its builtin base, keeping the name it showed", () => {
    class LocalError extends TypeError {}
    LocalError.prototype.name = "LocalError";
    const err = new LocalError("local");
    const back = roundTrip(err);
    assert.equal(Object.getPrototypeOf(back), TypeError.prototype);
    assert.equal(back.name, "LocalError");
    assert.equal(back.message, "local");
    assert.equal(back.stack, err.stack);
    assert.ok(String(back).startsWith("LocalError: local"));
  });

  it("round-trips an error whose name is an own property", () => {
    const err = new Error("m");
    err.name = "CustomName";
    const back = roundTrip(err);
    assert.equal(back.name, "CustomName");
    assert.deepStrictEqual(back, err);
  });

  it("round-trips a DOMException", () => {
    const err = new DOMException("stopped", "AbortError");
    const back = roundTrip(err);
    assert.ok(back instanceof DOMException);
    assert.equal(back.name, "AbortError");
    assert.equal(back.message, "stopped");
    assert.equal(back.code, err.code);
    assert.equal(back.stack, err.stack);
  });

  it("round-trips thrown values that are not errors", () => {
    assert.equal(roundTrip("a thrown string"), "a thrown string");
    assertSame({ reason: "a thrown object", code: 7 });
    assert.equal(roundTrip(42), 42);
  });

  it("round-trips an error whose cause is itself", () => {
    const err = new Error("loop") as Error & { self?: unknown };
    err.cause = err;
    err.self = [err];
    const back = roundTrip(err);
    assert.equal(back.cause, back);
    assert.equal((back.self as unknown[])[0], back);
  });
});

describe("references and cycles", () => {
  it("keeps a shared object shared", () => {
    const shared = { s: 1 };
    const back = roundTrip({ a: shared, b: [shared], c: new Map([[shared, shared]]) });
    assert.equal(back.a, back.b[0]);
    assert.equal(back.a, [...back.c.keys()][0]);
    assert.equal(back.a, back.c.get(back.a));
  });

  it("rebuilds cycles through objects, arrays, Maps and Sets", () => {
    const o: Record<string, unknown> = { name: "o" };
    o.self = o;
    const a: unknown[] = [1];
    a.push(a);
    const m = new Map<unknown, unknown>();
    m.set(m, m);
    const s = new Set<unknown>();
    s.add(s);
    const back = roundTrip({ o, a, m, s });
    assert.equal(back.o.self, back.o);
    assert.equal(back.a[1], back.a);
    assert.equal([...back.m.keys()][0], back.m);
    assert.equal(back.m.get(back.m), back.m);
    assert.equal([...back.s][0], back.s);
    assert.deepStrictEqual(back, { o, a, m, s });
  });

  it("rebuilds cycles through class instances, keeping their class", () => {
    class Node {
      parent: Node | null = null;
      children: Node[] = [];
      constructor(readonly label: string) {}
      add(child: Node): Node {
        child.parent = this;
        this.children.push(child);
        return this;
      }
    }
    const classes = registry({ "tree#Node": Node });
    const root = new Node("root").add(new Node("a")).add(new Node("b"));
    const back = roundTrip(root, classes);
    assert.ok(back instanceof Node);
    assert.equal(back.children.length, 2);
    for (const child of back.children) {
      assert.ok(child instanceof Node);
      assert.equal(child.parent, back);
    }
    assert.deepStrictEqual(back, root);
  });

  it("uses wide back-reference indices correctly beyond 256 and 65536 objects", () => {
    const objects = Array.from({ length: 70000 }, (_, i) => ({ i }));
    const back = roundTrip({ objects, again: [objects[0], objects[300], objects[69999]] });
    assert.equal(back.again[0], back.objects[0]);
    assert.equal(back.again[1], back.objects[300]);
    assert.equal(back.again[2], back.objects[69999]);
    assert.deepStrictEqual(back.objects[69999], { i: 69999 });
  });
});

describe("class instances", () => {
  class Point {
    constructor(public x: number, public y: number) {}
    norm(): number {
      return Math.hypot(this.x, this.y);
    }
  }

  it("keeps the class of exported classes, nested in arrays and maps, without calling constructors", () => {
    let constructed = 0;
    class Counted {
      v = 1;
      constructor() {
        constructed++;
      }
    }
    const classes = registry({ "geo#Point": Point, "m#Counted": Counted });
    const value = { points: [new Point(3, 4), new Point(1, 1)], byName: new Map([["p", new Point(0, 2)]]), c: new Counted() };
    constructed = 0;
    const back = roundTrip(value, classes);
    assert.equal(constructed, 0);
    assert.ok(back.points[0] instanceof Point);
    assert.equal(back.points[0].norm(), 5);
    assert.ok(back.byName.get("p") instanceof Point);
    assert.ok(back.c instanceof Counted);
    assert.deepStrictEqual(back, value);
  });

  it("restores own properties without running the class's setters", () => {
    class Guarded {
      #secret = 0;
      value = 1;
      get masked(): number {
        return this.#secret;
      }
      set masked(_v: number) {
        throw new Error("setter must not run on decode");
      }
    }
    const classes = registry({ "m#Guarded": Guarded });
    const g = new Guarded();
    Object.defineProperty(g, "masked", { value: 5, enumerable: true, writable: true, configurable: true });
    const back = roundTrip(g, classes);
    assert.ok(back instanceof Guarded);
    assert.equal(Object.getOwnPropertyDescriptor(back, "masked")?.value, 5);
    assert.equal(back.value, 1);
  });

  it("keeps the classes of instances of many classes in one frame (beyond 255 class slots)", () => {
    const classes: Record<string, Function> = {};
    const ctors = Array.from({ length: 300 }, (_, i) => {
      const C = class {
        constructor(public n: number) {}
      };
      classes[`m#C${i}`] = C;
      return C;
    });
    const value = ctors.flatMap((C, i) => [new C(i), new C(-i)]);
    const back = roundTrip(value, registry(classes));
    back.forEach((o, j) => {
      assert.equal(Object.getPrototypeOf(o), ctors[j >> 1]!.prototype);
      assert.equal(o.n, j % 2 ? -(j >> 1) : j >> 1);
    });
  });

  it("decodes instances of classes unknown to the receiver as plain objects", () => {
    const sender = registry({ "geo#Point": Point });
    const frames = encodeValue([new Point(1, 2)], sender);
    const back = decodeValue(frames, registry({})) as unknown[];
    assert.equal(Object.getPrototypeOf(back[0]), Object.prototype);
    assert.deepStrictEqual(back, [{ x: 1, y: 2 }]);
    assert.deepStrictEqual(decodeValue(frames), [{ x: 1, y: 2 }]);
  });

  it("sends instances of classes the sender does not export as plain objects", () => {
    const back = roundTrip(new Point(1, 2));
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
    assert.deepStrictEqual(back, { x: 1, y: 2 });
  });

  it("sends exported functions by reference when the registry names them", () => {
    function square(x: number): number {
      return x * x;
    }
    const classes = registry({}, { "math#square": square });
    const back = roundTrip({ f: square, list: [square] }, classes);
    assert.equal(back.f, square);
    assert.equal(back.list[0], square);
  });
});

describe("values that cannot travel", () => {
  it("refuses a function with the path to it", () => {
    const e = refusal(() => encodeValue({ foo: { bar: function helper() {} } }, undefined, { label: "argument 2" }));
    assert.equal(e.message, "argument 2 .foo.bar: a function (helper) cannot travel inside a value");
  });

  it("names arguments when encoding an argument list", () => {
    const e = refusal(() => encodeValue([1, { list: [0, () => 0] }], undefined, { argumentList: true }));
    assert.match(e.message, /^argument 2 \.list\[1\]: a function .*cannot travel/);
  });

  it("refuses symbols, weak collections, promises, iterators and shared memory", () => {
    const cases: [unknown, RegExp][] = [
      [Symbol("s"), /a symbol cannot travel/],
      [{ m: new WeakMap() }, /^the value \.m: a WeakMap cannot travel/],
      [[new WeakSet()], /^the value \[0\]: a WeakSet/],
      [new WeakRef({}), /WeakRef/],
      [{ p: Promise.resolve(1) }, /\.p: a Promise cannot travel; await it/],
      [[1, 2][Symbol.iterator](), /an iterator or generator cannot travel/],
      [(function* () {})(), /an iterator or generator cannot travel/],
      [new SharedArrayBuffer(8), /SharedArrayBuffer cannot travel/],
      [Object(Symbol("boxed")), /Symbol object/],
      [class Foo {}, /a class \(Foo\) cannot travel/],
    ];
    for (const [value, pattern] of cases) assert.match(refusal(() => encodeValue(value)).message, pattern);
  });

  it("names paths through Maps, Sets, errors and instances", () => {
    assert.match(refusal(() => encodeValue(new Map([["k", () => 1]]))).message, /^the value \.get\("k"\): /);
    assert.match(refusal(() => encodeValue(new Map([[() => 1, 1]]))).message, /<key of Map entry 0>/);
    assert.match(refusal(() => encodeValue(new Set([1, Symbol()]))).message, /<Set item 1>/);
    const err = Object.assign(new Error("x"), { handler: () => 0 });
    assert.match(refusal(() => encodeValue(err)).message, /^the value \.handler: /);
    assert.match(refusal(() => encodeValue({ "odd key": [() => 0] })).message, /^the value \["odd key"\]\[0\]: /);
  });

  it("reports a getter that throws, with its error as the cause", () => {
    const o = {
      get broken(): number {
        throw new TypeError("no");
      },
    };
    const e = refusal(() => encodeValue({ o }));
    assert.match(e.message, /^the value \.o\.broken: reading it threw TypeError: no/);
    assert.ok(e.cause instanceof TypeError);
  });

  it("round-trips every container kind nested MAX_DEPTH deep, and refuses one level more", () => {
    class Box {
      constructor(public inner: unknown) {}
    }
    const classes = registry({ "m#Box": Box });
    // [kind, wrap one level, unwrap one level (checking its type)]; deepStrictEqual itself overflows here
    const kinds: [string, (inner: unknown) => unknown, (outer: any) => unknown][] = [
      ["object", (inner) => ({ next: inner }), (o) => o.next],
      ["array", (inner) => [inner], (a) => (assert.ok(Array.isArray(a)), a[0])],
      ["Map", (inner) => new Map([["k", inner]]), (m) => m.get("k")],
      ["Set", (inner) => new Set([inner]), (s) => [...s][0]],
      ["instance", (inner) => new Box(inner), (b) => (assert.ok(b instanceof Box), b.inner)],
      ["error", (inner) => new Error("e", { cause: inner }), (e) => (assert.ok(e instanceof Error), e.cause)],
    ];
    for (const [kind, wrap, unwrap] of kinds) {
      let value: unknown = "bottom";
      for (let i = 0; i < MAX_DEPTH; i++) value = wrap(value);
      let back = roundTrip(value, classes);
      for (let i = 0; i < MAX_DEPTH; i++) back = unwrap(back);
      assert.equal(back, "bottom", kind);
      assert.match(refusal(() => encodeValue(wrap(value), classes)).message, /nested more than 1000 levels deep/, kind);
    }
  });

  it("refuses a structure nested far too deeply, quickly and with an abbreviated path", () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 200000; i++) deep = { next: deep };
    const e = refusal(() => encodeValue(deep));
    assert.match(e.message, /too deep to travel/);
    assert.ok(e.message.length < 500, "the path is abbreviated");
  });

  it("leaves the encoder usable after a refusal", () => {
    refusal(() => encodeValue({ a: [1, 2, () => 0] }));
    assertSame({ a: [1, 2, 3] });
  });
});

describe("frames and decoding", () => {
  it("keeps earlier frames intact when encoding again", () => {
    const first = encodeValue({ first: "x".repeat(100) });
    const second = encodeValue({ second: [1, 2, 3] });
    for (let i = 0; i < 2000; i++) encodeValue({ filler: i, s: "y".repeat(200) });
    assert.deepStrictEqual(decodeValue(first), { first: "x".repeat(100) });
    assert.deepStrictEqual(decodeValue(second), { second: [1, 2, 3] });
  });

  it("supports encoding from inside a getter while encoding", () => {
    let inner: Buffer[] = [];
    const o = {
      a: 1,
      get b(): number {
        inner = encodeValue({ nested: [1, 2] });
        return 2;
      },
      c: "three",
    };
    const frames = encodeValue(o);
    assert.deepStrictEqual(decodeValue(frames), { a: 1, b: 2, c: "three" });
    assert.deepStrictEqual(decodeValue(inner), { nested: [1, 2] });
  });

  it("accepts Uint8Array frames as well as Buffers", () => {
    const frames = encodeValue({ a: "b", n: 1.5 }).map((f) => new Uint8Array(f));
    assert.deepStrictEqual(decodeValue(frames as Buffer[]), { a: "b", n: 1.5 });
  });

  it("rejects malformed frames with a ProtocolError", () => {
    const good = encodeValue({ a: [1, 2, "three"], b: 1.5 })[0]!;
    const bad: Buffer[][] = [
      [],
      [Buffer.alloc(0)],
      [good.subarray(0, good.length - 1)],
      [Buffer.concat([good, Buffer.from([0])])],
      [Buffer.from([0xc1])],
      [Buffer.from([0xd4, Tag.Ref, 5])],
      [Buffer.from([0xd4, Tag.Frame, 4, 1])],
      [Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff])],
      [Buffer.from([0xd4, 99, 0])],
      [Buffer.from([0x81, 0x01, 0x02])],
    ];
    for (const frames of bad) assert.throws(() => decodeValue(frames), ProtocolError, `frames ${frames.map((f) => f.toString("hex"))}`);
    assert.deepStrictEqual(decodeValue([good]), { a: [1, 2, "three"], b: 1.5 });
  });

  it("fails to decode a function reference the receiver cannot resolve", () => {
    function f(): void {}
    const frames = encodeValue(f, registry({}, { "m#f": f }));
    assert.throws(() => decodeValue(frames, registry({})), /the function m#f is not available here/);
  });
});
