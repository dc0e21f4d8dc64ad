/**
 * The codec for user values (task arguments, results, shared constants): values <-> frames.
 *
 * Frame 0 is MessagePack: primitives, strings, arrays and plain objects (met once) use the standard
 * MessagePack forms, so a generic MessagePack reader can inspect the simple cases. Everything else is
 * a `fixext 1` tag (`d4 <tag> <byte>`) followed by ordinary values; see {@link Tag}. Binary values of
 * at least {@link OUT_OF_BAND_MIN_BYTES} travel as frames of their own (frames 1..n). Peers agree on
 * this format through the protocol version of the handshake.
 *
 * Why not msgpackr's `structuredClone` mode: it writes `-0` as `0`, it cannot rebuild a cycle that runs
 * through an extension type (a class instance or an Error in a cycle came back as a plain object),
 * with `useRecords: false` a cyclic plain object fails to decode at all, it drops an Error's stack and
 * extra properties, and its extensions are process-wide (they would leak into every other Packr). This
 * codec owns the whole walk instead, which also lets it refuse a value with the path to the offending
 * part, and keep decoding allocation-light.
 *
 * Records: an object whose key list (its shape) already occurred once in the frame is written as a
 * record, its keys once per frame and then only its values, which saves the bytes and the decoding of
 * the keys of an array of similar objects. A shape met once stays a plain map, so a lone object costs
 * nothing more.
 *
 * Identity: every object gets the next index when it is first met, on both sides, in the same order
 * (the decoder registers a container before reading its children), so a repeated object is written
 * as a back-reference and cycles and shared references come back as one object. No ids are written
 * for objects met once.
 */
import { SerializationError, ProtocolError } from "../errors.js";

/** Maps exported classes to stable references and back; supplied by the worker runtime. */
export interface ClassRegistry {
  /** The reference of an exported class; `undefined` = not an exported class we know. */
  refOfClass(ctor: Function): string | undefined;
  /** The class a reference names; `undefined` = unknown here, so the instance decodes as a plain object. */
  classOf(ref: string): Function | undefined;
  /**
   * The reference of an exported function (SPEC §4: functions go by reference). Optional: without it,
   * or when it answers `undefined`, a function inside a value is refused.
   */
  refOfFunction?(fn: Function): string | undefined;
  /** The function a reference names; a reference it cannot resolve fails the decode. */
  functionOf?(ref: string): Function | undefined;
}

export interface EncodeOptions {
  /** Put everything in one frame (no out-of-band binary frames). Used for shared constants. */
  inline?: boolean;
  /** What the value is, to start error messages with (e.g. `"argument 2"`, `"the result"`). Default `"the value"`. */
  label?: string;
  /**
   * The value is an argument list: a refusal inside its element `i` is reported as `argument i+1`
   * (encoding the arguments as one array keeps references shared between arguments).
   */
  argumentList?: boolean;
  /** Overrides {@link OUT_OF_BAND_MIN_BYTES} for this encode (tuning and measurement). */
  outOfBandMinBytes?: number;
}

/**
 * Binary values (ArrayBuffer, typed arrays, DataView, Buffer) of at least this many bytes travel as
 * frames of their own: encoding makes a Buffer view over their memory instead of copying them into
 * frame 0, and decoding makes the typed array a view on the received frame when its alignment allows.
 * Measured through a zeromq PUSH/PULL pair (bench/micro/codec.bench.ts, 2 noisy cores): a frame of its
 * own goes 1.2-1.7x faster than the inline copy at 32-64 KiB and 2-8x from 256 KiB on; below 32 KiB the
 * gain is within the noise (0.95-1.5x), while every frame is one more message part for the broker to
 * forward (an array of small buffers would become as many frames).
 */
export const OUT_OF_BAND_MIN_BYTES = 32 * 1024;

/** The `fixext 1` tags of frame 0. The byte after the tag is 0 unless noted. Never renumber: peers of equal protocol version share them. */
const enum Tag {
  /** `undefined`. Type 0 is what other MessagePack implementations use for it too. */
  Undefined = 0,
  /** A hole of a sparse array (only inside an array). */
  Hole = 1,
  /** A back-reference: the byte (or the 2/4 bytes of a fixext 2/4) is the object's index. */
  Ref = 2,
  /** Map: count, then key, value pairs. */
  Map = 3,
  /** Set: count, then the items. */
  Set = 4,
  /** Date: its time value as a number (NaN for an invalid date). */
  Date = 5,
  /** RegExp: source, flags. */
  RegExp = 6,
  /** A BigInt outside the int64 range: its hexadecimal digits as a string, `-` first if negative. */
  BigInt = 7,
  /** Binary in frame 0: the byte is the binary kind; a MessagePack bin follows. */
  Binary = 8,
  /** Binary in its own frame: the byte is the binary kind; the frame index follows. */
  Frame = 9,
  /** Error: base constructor name, class ref or nil, name, message, own property count, then (key, enumerable, value) triples. */
  Error = 10,
  /**
   * Instance of an exported class: the byte is the class's slot in this frame, or 255 for a new slot
   * whose class ref follows; then its own enumerable properties (a map or a record).
   */
  Instance = 11,
  /** A boxed primitive (`new Number(1)`, ...): the primitive follows. */
  Boxed = 12,
  /** An object with a null prototype: its properties follow (a map or a record). */
  NullProto = 13,
  /** A string that is not well-formed UTF-16 (lone surrogate): a bin of its UTF-16LE code units follows. */
  Utf16 = 14,
  /** An exported function: its reference follows. */
  Function = 15,
  /** The properties of an object of a record shape defined earlier in this frame: the byte is the shape id; the values follow in key order. */
  Record = 16,
  /** Defines the next record shape (the byte is its id, the count of shapes so far): an array of keys follows, then the values. */
  RecordDef = 17,
}

/** Binary kinds, indexed by the byte after {@link Tag.Binary} / {@link Tag.Frame}. Append only. */
const BINARY_CTORS = [
  ArrayBuffer, DataView, Buffer, Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array,
  Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array,
] as const;
const enum BinaryKind {
  ArrayBuffer = 0,
  DataView = 1,
  Buffer = 2,
}

/** What an object's prototype chain says it is, for objects that are not plain objects or arrays. */
const enum Kind {
  /** Reached Object.prototype: an ordinary object, maybe a class instance. */
  Ordinary,
  Map,
  Set,
  Date,
  RegExp,
  Error,
  Binary,
  Boxed,
  Refused,
}
interface ProtoInfo {
  kind: Kind;
  /** Binary kind (Kind.Binary), base constructor name (Kind.Error) or refusal reason (Kind.Refused). */
  detail: number | string;
}

const ERROR_BASES: Record<string, Function> = {
  Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError, AggregateError,
};

const OBJECT_PROTO = Object.prototype;
const ARRAY_PROTO = Array.prototype;
const PROTO_INFO = new Map<object, ProtoInfo>();
{
  const put = (proto: object | undefined, kind: Kind, detail: number | string = 0): void => {
    if (proto) PROTO_INFO.set(proto, { kind, detail });
  };
  put(Object.prototype, Kind.Ordinary);
  put(Map.prototype, Kind.Map);
  put(Set.prototype, Kind.Set);
  put(Date.prototype, Kind.Date);
  put(RegExp.prototype, Kind.RegExp);
  for (const [name, ctor] of Object.entries(ERROR_BASES)) put(ctor.prototype, Kind.Error, name);
  if (typeof DOMException === "function") put(DOMException.prototype, Kind.Error, "DOMException");
  BINARY_CTORS.forEach((ctor, i) => put(ctor.prototype, Kind.Binary, i));
  for (const ctor of [Number, String, Boolean, BigInt]) put(ctor.prototype, Kind.Boxed);
  const refuse = (proto: object | undefined, reason: string): void => put(proto, Kind.Refused, reason);
  refuse(Symbol.prototype, "a Symbol object cannot travel");
  refuse(WeakMap.prototype, "a WeakMap cannot travel (its entries cannot be listed); use a Map");
  refuse(WeakSet.prototype, "a WeakSet cannot travel (its items cannot be listed); use a Set");
  refuse(WeakRef.prototype, "a WeakRef cannot travel");
  refuse(FinalizationRegistry.prototype, "a FinalizationRegistry cannot travel");
  refuse(Promise.prototype, "a Promise cannot travel; await it and send its value");
  refuse(SharedArrayBuffer.prototype,
    "a SharedArrayBuffer cannot travel: memory cannot be shared between processes; copy it into an ArrayBuffer");
  if (typeof Blob === "function") refuse(Blob.prototype, "a Blob cannot travel; send `await blob.arrayBuffer()`");
  const iteratorProto = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())) as object;
  refuse(iteratorProto, "an iterator or generator cannot travel; collect it into an array first");
  const asyncGenProto = Object.getPrototypeOf(async function* () {}).prototype as object;
  refuse(Object.getPrototypeOf(asyncGenProto) as object, "an async iterator or generator cannot travel");
}

// ---------------------------------------------------------------------------------------------------
// Encoder
// ---------------------------------------------------------------------------------------------------

/** Frame 0 is carved from a shared slab, so small encodes allocate no buffer of their own. */
const SLAB_BYTES = 64 * 1024;
/** A slab grown beyond this (one huge inline value) is dropped after use rather than kept for small encodes. */
const MAX_KEPT_SLAB_BYTES = 4 * 1024 * 1024;

/** Node's Buffer methods that skip `write`/`toString`'s argument juggling. */
interface FastBuffer extends Buffer {
  utf8Write(s: string, offset: number, maxLength: number): number;
  utf8Slice(start: number, end: number): string;
}
/** `String.prototype.isWellFormed` (Node 20; not in the ES2023 lib typings). */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

let buf = Buffer.allocUnsafeSlow(SLAB_BYTES) as FastBuffer;
let view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
let cap = buf.length;
let pos = 0;
let start = 0;
/** Index of every object met so far in this encode. Reused between encodes. */
let seen = new Map<object, number>();
let nextIndex = 0;
/** Out-of-band frames of this encode, or null when encoding inline. */
let outOfBand: Buffer[] | null = null;
let outOfBandMin = OUT_OF_BAND_MIN_BYTES;
let encClasses: ClassRegistry | undefined;
let encoding = false;
/** The last prototype classified as an exported class, so an array of instances asks the registry once. */
let lastProto: object | null = null;
let lastRef: string | undefined;
/** Slot of each class ref already written in this encode. */
let classSlots = new Map<string, number>();

/**
 * A node of the trie of key lists met so far (shared by all encodes): the path from the root spells the
 * keys, in order. `epoch` says which encode `id` belongs to, so nothing needs resetting between encodes.
 */
interface ShapeNode {
  readonly keys: string[];
  readonly next: Map<string, ShapeNode>;
  /** false when a key is "__proto__", which a record reader must never assign. */
  readonly recordable: boolean;
  epoch: number;
  /** Record id in encode `epoch`, or -1: met once there (written as a map). */
  id: number;
}
const MAX_RECORD_KEYS = 64;
/** The Instance byte that introduces a class ref (slots 0..254 repeat one). */
const NEW_CLASS_SLOT = 255;
const MAX_RECORDS_PER_FRAME = 255;
/** Objects used as dictionaries would grow the trie forever; past this many nodes it starts again. */
const MAX_SHAPE_NODES = 16384;
const newShapeRoot = (): ShapeNode => ({ keys: [], next: new Map(), recordable: true, epoch: 0, id: -1 });
let shapeRoot = newShapeRoot();
let shapeNodes = 0;
let epoch = 0;
let recordCount = 0;
/**
 * Objects nest at most this deep. Both sides recurse, and the decoder takes more stack per level than
 * the encoder: a fixed bound, well within what the decoder handles, means that whatever encodes also
 * decodes, whatever the stack depth at either end.
 */
export const MAX_DEPTH = 1000;
let depth = 0;

/** Thrown inside the walk; turned into one SerializationError with the path at the top. */
class Refusal {
  /** Path segments, innermost first: numbers are array indices, strings are already rendered. */
  readonly segments: (string | number)[] = [];
  constructor(readonly reason: string, readonly cause?: unknown) {}
}

function asRefusal(e: unknown): Refusal {
  if (e instanceof Refusal) return e;
  // Near a stack overflow even this test can overflow (with another error kind, hence no instanceof);
  // the error then reaches the caller's handler, which has more stack to spare.
  const message = (e as { message?: unknown } | null)?.message;
  if (typeof message === "string" && message.includes("Maximum call stack size exceeded"))
    return new Refusal("it is nested too deeply to travel", e);
  return new Refusal(`reading it threw ${describeThrown(e)}`, e);
}

/** Called by each container on the way out of a failure, so the path costs nothing until something fails. */
function refusalAt(e: unknown, segment: string | number): Refusal {
  const r = asRefusal(e);
  r.segments.push(segment);
  return r;
}

function describeThrown(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  try {
    return String(e);
  } catch {
    return "a value";
  }
}

function grow(needed: number): void {
  const used = pos - start;
  const size = Math.max(SLAB_BYTES, (used + needed) * 2);
  const next = Buffer.allocUnsafeSlow(size) as FastBuffer;
  buf.copy(next, 0, start, pos);
  buf = next;
  view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  cap = size;
  pos = used;
  start = 0;
}

function writeTag(tag: Tag, byte: number): void {
  if (pos + 3 > cap) grow(3);
  buf[pos++] = 0xd4;
  buf[pos++] = tag;
  buf[pos++] = byte;
}

function writeValue(v: unknown): void {
  switch (typeof v) {
    case "number":
      writeNumber(v);
      return;
    case "string":
      writeString(v);
      return;
    case "object":
      if (v === null) {
        if (pos + 1 > cap) grow(1);
        buf[pos++] = 0xc0;
      } else writeObject(v);
      return;
    case "boolean":
      if (pos + 1 > cap) grow(1);
      buf[pos++] = v ? 0xc3 : 0xc2;
      return;
    case "undefined":
      writeTag(Tag.Undefined, 0);
      return;
    case "bigint":
      writeBigInt(v);
      return;
    case "function":
      writeFunction(v);
      return;
    default:
      throw new Refusal("a symbol cannot travel");
  }
}

function writeNumber(n: number): void {
  if (pos + 9 > cap) grow(9);
  if (n >>> 0 === n) {
    // -0 passes the test above, and only a float keeps its sign
    if (n < 0x80) {
      if (n === 0 && 1 / n < 0) writeFloat(n);
      else buf[pos++] = n;
    } else if (n < 0x100) {
      buf[pos++] = 0xcc;
      buf[pos++] = n;
    } else if (n < 0x10000) {
      buf[pos++] = 0xcd;
      buf[pos++] = n >> 8;
      buf[pos++] = n & 0xff;
    } else {
      buf[pos++] = 0xce;
      view.setUint32(pos, n);
      pos += 4;
    }
  } else if ((n | 0) === n) {
    if (n >= -0x20) buf[pos++] = n & 0xff;
    else if (n >= -0x80) {
      buf[pos++] = 0xd0;
      buf[pos++] = n & 0xff;
    } else if (n >= -0x8000) {
      buf[pos++] = 0xd1;
      view.setInt16(pos, n);
      pos += 2;
    } else {
      buf[pos++] = 0xd2;
      view.setInt32(pos, n);
      pos += 4;
    }
  } else writeFloat(n);
}

function writeFloat(n: number): void {
  buf[pos++] = 0xcb;
  view.setFloat64(pos, n);
  pos += 8;
}

function writeString(s: string): void {
  const length = s.length;
  if (length < 32) {
    // Short strings (most keys): encode by hand, cheaper than a call into C++.
    if (pos + length * 3 + 2 > cap) grow(length * 3 + 2);
    let p = pos + 1;
    for (let i = 0; i < length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) buf[p++] = c;
      else if (c < 0x800) {
        buf[p++] = (c >> 6) | 0xc0;
        buf[p++] = (c & 0x3f) | 0x80;
      } else if ((c & 0xf800) !== 0xd800) {
        buf[p++] = (c >> 12) | 0xe0;
        buf[p++] = ((c >> 6) & 0x3f) | 0x80;
        buf[p++] = (c & 0x3f) | 0x80;
      } else {
        const c2 = i + 1 < length ? s.charCodeAt(i + 1) : 0;
        if (c >= 0xdc00 || (c2 & 0xfc00) !== 0xdc00) return writeUtf16(s);
        const cp = 0x10000 + ((c & 0x3ff) << 10) + (c2 & 0x3ff);
        i++;
        buf[p++] = (cp >> 18) | 0xf0;
        buf[p++] = ((cp >> 12) & 0x3f) | 0x80;
        buf[p++] = ((cp >> 6) & 0x3f) | 0x80;
        buf[p++] = (cp & 0x3f) | 0x80;
      }
    }
    const bytes = p - pos - 1;
    if (bytes < 32) {
      buf[pos] = 0xa0 | bytes;
      pos = p;
    } else {
      buf.copyWithin(pos + 2, pos + 1, p);
      buf[pos] = 0xd9;
      buf[pos + 1] = bytes;
      pos = p + 1;
    }
    return;
  }
  if (!isWellFormed(s)) return writeUtf16(s);
  // The header is sized for the worst case (3 bytes per UTF-16 unit) so the text is written once, in place.
  const max = length * 3;
  if (pos + max + 5 > cap) grow(max + 5);
  if (max < 0x100) {
    const bytes = buf.utf8Write(s, pos + 2, max);
    buf[pos] = 0xd9;
    buf[pos + 1] = bytes;
    pos += 2 + bytes;
  } else if (max < 0x10000) {
    const bytes = buf.utf8Write(s, pos + 3, max);
    buf[pos] = 0xda;
    buf[pos + 1] = bytes >> 8;
    buf[pos + 2] = bytes & 0xff;
    pos += 3 + bytes;
  } else {
    const bytes = buf.utf8Write(s, pos + 5, max);
    buf[pos] = 0xdb;
    view.setUint32(pos + 1, bytes);
    pos += 5 + bytes;
  }
}

/** UTF-8 cannot carry a lone surrogate, so such a string travels as its UTF-16 code units. */
function writeUtf16(s: string): void {
  writeTag(Tag.Utf16, 0);
  const bytes = Buffer.from(s, "utf16le");
  writeBin(bytes, 0, bytes.length);
}

function writeBin(source: ArrayBufferView | ArrayBuffer, offset: number, length: number): void {
  if (pos + length + 5 > cap) grow(length + 5);
  if (length < 0x100) {
    buf[pos++] = 0xc4;
    buf[pos++] = length;
  } else if (length < 0x10000) {
    buf[pos++] = 0xc5;
    buf[pos++] = length >> 8;
    buf[pos++] = length & 0xff;
  } else {
    buf[pos++] = 0xc6;
    view.setUint32(pos, length);
    pos += 4;
  }
  const bytes = ArrayBuffer.isView(source)
    ? new Uint8Array(source.buffer, source.byteOffset + offset, length)
    : new Uint8Array(source, offset, length);
  buf.set(bytes, pos);
  pos += length;
}

function writeBigInt(n: bigint): void {
  if (n >= -0x8000000000000000n && n <= 0x7fffffffffffffffn) {
    if (pos + 9 > cap) grow(9);
    buf[pos++] = 0xd3;
    view.setBigInt64(pos, n);
    pos += 8;
  } else {
    writeTag(Tag.BigInt, 0);
    writeString(n < 0n ? "-" + (-n).toString(16) : n.toString(16));
  }
}

function writeFunction(fn: Function): void {
  const ref = encClasses?.refOfFunction?.(fn);
  if (ref === undefined) {
    const what = /^class[\s{]/.test(Function.prototype.toString.call(fn)) ? "a class" : "a function";
    throw new Refusal(`${what}${fn.name ? ` (${fn.name})` : ""} cannot travel inside a value`);
  }
  writeTag(Tag.Function, 0);
  writeString(ref);
}

function writeRef(index: number): void {
  if (pos + 6 > cap) grow(6);
  if (index < 0x100) {
    buf[pos++] = 0xd4;
    buf[pos++] = Tag.Ref;
    buf[pos++] = index;
  } else if (index < 0x10000) {
    buf[pos++] = 0xd5;
    buf[pos++] = Tag.Ref;
    buf[pos++] = index >> 8;
    buf[pos++] = index & 0xff;
  } else {
    buf[pos++] = 0xd6;
    buf[pos++] = Tag.Ref;
    view.setUint32(pos, index);
    pos += 4;
  }
}

function writeObject(o: object): void {
  const index = seen.get(o);
  if (index !== undefined) return writeRef(index);
  seen.set(o, nextIndex++);
  if (++depth > MAX_DEPTH) throw new Refusal(`it is nested more than ${MAX_DEPTH} levels deep, too deep to travel`);
  // the prototype, not `constructor`: an iterator inherits Object's constructor yet must be refused
  const proto = Object.getPrototypeOf(o) as object | null;
  if (proto === OBJECT_PROTO) writeProps(o);
  else if (proto === ARRAY_PROTO) writeArray(o as unknown[]);
  else writeOther(o, proto);
  depth--;
}

function writeArrayHeader(n: number): void {
  if (pos + 5 > cap) grow(5);
  if (n < 0x10) buf[pos++] = 0x90 | n;
  else if (n < 0x10000) {
    buf[pos++] = 0xdc;
    buf[pos++] = n >> 8;
    buf[pos++] = n & 0xff;
  } else {
    buf[pos++] = 0xdd;
    view.setUint32(pos, n);
    pos += 4;
  }
}

function writeMapHeader(n: number): void {
  if (pos + 5 > cap) grow(5);
  if (n < 0x10) buf[pos++] = 0x80 | n;
  else if (n < 0x10000) {
    buf[pos++] = 0xde;
    buf[pos++] = n >> 8;
    buf[pos++] = n & 0xff;
  } else {
    buf[pos++] = 0xdf;
    view.setUint32(pos, n);
    pos += 4;
  }
}

function writeArray(a: unknown[]): void {
  const n = a.length;
  writeArrayHeader(n);
  let i = 0;
  try {
    for (; i < n; i++) {
      const x = a[i];
      if (typeof x === "number") writeNumber(x);
      // only an undefined element can be a hole, so holes cost nothing elsewhere
      else if (x === undefined && !(i in a)) writeTag(Tag.Hole, 0);
      else writeValue(x);
    }
  } catch (e) {
    throw refusalAt(e, i);
  }
}

/** Own enumerable string-keyed properties (plain objects, instances, null-prototype objects): a map or a record. */
function writeProps(o: object): void {
  const keys = Object.keys(o);
  const n = keys.length;
  const shape = n > 0 && n <= MAX_RECORD_KEYS ? shapeOf(keys) : undefined;
  let asMap = true;
  if (shape !== undefined) {
    if (shape.epoch !== epoch) {
      shape.epoch = epoch;
      shape.id = -1;
    } else if (shape.id >= 0) {
      writeTag(Tag.Record, shape.id);
      asMap = false;
    } else if (recordCount < MAX_RECORDS_PER_FRAME) {
      shape.id = recordCount++;
      writeTag(Tag.RecordDef, shape.id);
      writeArrayHeader(n);
      for (let i = 0; i < n; i++) writeString(keys[i]!);
      asMap = false;
    }
  }
  if (asMap) writeMapHeader(n);
  let key = "";
  try {
    for (let i = 0; i < n; i++) {
      key = keys[i]!;
      if (asMap) writeString(key);
      writeValue((o as Record<string, unknown>)[key]);
    }
  } catch (e) {
    throw refusalAt(e, propertySegment(key));
  }
}

/** The last key list and its node: objects in a row usually share their keys (the very same strings). */
let lastKeys: string[] = [];
let lastShape: ShapeNode | undefined;

function shapeOf(keys: string[]): ShapeNode | undefined {
  const n = keys.length;
  if (n === lastKeys.length) {
    let i = 0;
    while (i < n && keys[i] === lastKeys[i]) i++;
    if (i === n) return lastShape;
  }
  lastKeys = keys;
  return (lastShape = findShape(keys));
}

function findShape(keys: string[]): ShapeNode | undefined {
  let node = shapeRoot;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    let next = node.next.get(key);
    if (next === undefined) {
      if (++shapeNodes > MAX_SHAPE_NODES) {
        shapeRoot = newShapeRoot();
        lastKeys = [];
        shapeNodes = 0;
        return undefined;
      }
      next = { keys: keys.slice(0, i + 1), next: new Map(), recordable: node.recordable && key !== "__proto__", epoch: 0, id: -1 };
      node.next.set(key, next);
    }
    node = next;
  }
  return node.recordable ? node : undefined;
}

function propertySegment(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? "." + key : `[${JSON.stringify(key)}]`;
}

/** What the first known prototype on the object's chain says it is (undefined: none, e.g. a null prototype). */
function classify(proto: object | null): ProtoInfo | undefined {
  for (let p = proto; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    const info = PROTO_INFO.get(p);
    if (info !== undefined) return info;
  }
  return undefined;
}

/** The constructor a prototype declares as its own (not one inherited from further up). */
function ownConstructor(proto: object): Function | undefined {
  const d = Object.getOwnPropertyDescriptor(proto, "constructor");
  return d && typeof d.value === "function" ? (d.value as Function) : undefined;
}

function classRefOf(proto: object): string | undefined {
  if (encClasses === undefined) return undefined;
  if (proto === lastProto) return lastRef;
  const ctor = ownConstructor(proto);
  const ref = ctor === undefined ? undefined : encClasses.refOfClass(ctor);
  lastProto = proto;
  lastRef = ref;
  return ref;
}

function writeOther(o: object, proto: object | null): void {
  if (Array.isArray(o)) return writeArray(o); // subclasses and arrays of other realms: as arrays
  const info = classify(proto);
  if (info === undefined) {
    // null prototype, or an object of another realm: keep its data
    if (proto === null) writeTag(Tag.NullProto, 0);
    return writeProps(o);
  }
  switch (info.kind) {
    case Kind.Ordinary: {
      const ref = classRefOf(proto!);
      if (ref !== undefined) {
        const slot = classSlots.get(ref);
        if (slot !== undefined) writeTag(Tag.Instance, slot);
        else {
          if (classSlots.size < NEW_CLASS_SLOT) classSlots.set(ref, classSlots.size);
          writeTag(Tag.Instance, NEW_CLASS_SLOT);
          writeString(ref);
        }
      }
      return writeProps(o);
    }
    case Kind.Binary:
      return writeBinary(o as ArrayBufferView | ArrayBuffer, info.detail as number);
    case Kind.Map:
      return writeMap(o as Map<unknown, unknown>);
    case Kind.Set:
      return writeSet(o as Set<unknown>);
    case Kind.Date:
      writeTag(Tag.Date, 0);
      return writeNumber(Date.prototype.getTime.call(o));
    case Kind.RegExp:
      writeTag(Tag.RegExp, 0);
      writeString((o as RegExp).source);
      return writeString((o as RegExp).flags);
    case Kind.Error:
      return writeError(o as Error, info.detail as string, proto!);
    case Kind.Boxed:
      writeTag(Tag.Boxed, 0);
      return writeValue((o as { valueOf(): unknown }).valueOf());
    default:
      throw new Refusal(info.detail as string);
  }
}

function writeBinary(o: ArrayBufferView | ArrayBuffer, kind: number): void {
  const length = o.byteLength;
  const isView = ArrayBuffer.isView(o);
  if (outOfBand !== null && length >= outOfBandMin) {
    // a view, not a copy: the caller must not modify the value until the frames are sent
    outOfBand.push(isView ? Buffer.from(o.buffer, o.byteOffset, length) : Buffer.from(o));
    writeTag(Tag.Frame, kind);
    writeNumber(outOfBand.length);
  } else {
    writeTag(Tag.Binary, kind);
    writeBin(o, 0, length);
  }
}

function writeMap(m: Map<unknown, unknown>): void {
  writeTag(Tag.Map, 0);
  writeNumber(m.size);
  let i = 0;
  let atKey = true;
  let key: unknown;
  try {
    for (const [k, v] of m) {
      key = k;
      atKey = true;
      writeValue(k);
      atKey = false;
      writeValue(v);
      i++;
    }
  } catch (e) {
    throw refusalAt(e, atKey ? `<key of Map entry ${i}>` : `.get(${describeKey(key, i)})`);
  }
}

function describeKey(key: unknown, i: number): string {
  if (typeof key === "string") return JSON.stringify(key);
  if (typeof key === "number" || typeof key === "boolean" || typeof key === "bigint") return String(key) + (typeof key === "bigint" ? "n" : "");
  return `<key of entry ${i}>`;
}

function writeSet(s: Set<unknown>): void {
  writeTag(Tag.Set, 0);
  writeNumber(s.size);
  let i = 0;
  try {
    for (const v of s) {
      writeValue(v);
      i++;
    }
  } catch (e) {
    throw refusalAt(e, `<Set item ${i}>`);
  }
}

/**
 * An Error travels as its base constructor (so the receiver can make a real Error, with its internal
 * slot), its class if exported, and every own property with its enumerability: message, stack,
 * cause, AggregateError's errors, and extras such as `code`.
 */
function writeError(err: Error, base: string, proto: object): void {
  writeTag(Tag.Error, 0);
  writeString(base);
  const ref = proto === ERROR_BASES[base]?.prototype ? undefined : classRefOf(proto);
  if (ref === undefined) writeValue(null);
  else writeString(ref);
  // name and message as the error shows them, which may come from its prototype (a class we do not
  // export, DOMException's getters); strings only, so they cannot take part in references
  let name: unknown, message: unknown;
  try {
    name = err.name;
    message = err.message;
  } catch {
    // a getter that throws: the own properties still travel
  }
  writeValue(typeof name === "string" ? name : null);
  writeValue(typeof message === "string" ? message : null);
  const keys = Object.getOwnPropertyNames(err);
  writeNumber(keys.length);
  let key = "";
  try {
    for (key of keys) {
      writeString(key);
      writeValue(Object.prototype.propertyIsEnumerable.call(err, key));
      writeValue((err as unknown as Record<string, unknown>)[key]);
    }
  } catch (e) {
    throw refusalAt(e, propertySegment(key));
  }
}

function renderRefusal(r: Refusal, options: EncodeOptions | undefined): SerializationError {
  const segments = r.segments.slice().reverse();
  let label = options?.label ?? "the value";
  if (options?.argumentList && typeof segments[0] === "number") label = `argument ${(segments.shift() as number) + 1}`;
  const rendered = segments.map((s) => (typeof s === "number" ? `[${s}]` : s));
  const path = rendered.length > 24
    ? rendered.slice(0, 12).join("") + `…(${rendered.length - 24} more)…` + rendered.slice(-12).join("")
    : rendered.join("");
  return new SerializationError(`${label}${path ? " " + path : ""}: ${r.reason}`, { cause: r.cause });
}

/**
 * Encodes a value into frames: `frames[0]` is the main MessagePack frame, `frames[1..]` are out-of-band
 * binary frames (never present with `options.inline`).
 *
 * Every structured-clone value round-trips (see the module comment and the tests); instances of classes
 * `classes` knows keep their class. Large binary frames are views over the value's own memory, so the
 * value must not be modified until the frames are sent. `frames[0]` is carved from a shared slab: it
 * stays valid, but do not write to it.
 *
 * @throws SerializationError naming what cannot travel and where, e.g.
 *   `argument 2 .foo.bar: a function (f) cannot travel inside a value`: functions (unless the registry
 *   gives them a reference), symbols, WeakMap/WeakSet/WeakRef, Promise, iterators, SharedArrayBuffer,
 *   Blob, values too deeply nested, and getters that throw.
 */
export function encodeValue(value: unknown, classes?: ClassRegistry, options?: EncodeOptions): Buffer[] {
  if (encoding) return encodeNested(value, classes, options);
  if (cap - pos < 1024) newSlab(SLAB_BYTES);
  start = pos;
  encClasses = classes;
  outOfBand = options?.inline ? null : [];
  outOfBandMin = options?.outOfBandMinBytes ?? OUT_OF_BAND_MIN_BYTES;
  epoch++;
  recordCount = 0;
  depth = 0;
  encoding = true;
  try {
    writeValue(value);
  } catch (e) {
    pos = start;
    throw renderRefusal(asRefusal(e), options);
  } finally {
    encoding = false;
    encClasses = undefined;
    lastProto = null;
    lastRef = undefined;
    nextIndex = 0;
    if (seen.size > 0) seen.clear();
    if (classSlots.size > 0) classSlots.clear();
  }
  const main = buf.subarray(start, pos);
  if (cap > MAX_KEPT_SLAB_BYTES) newSlab(SLAB_BYTES);
  const extra = outOfBand;
  outOfBand = null;
  if (extra === null || extra.length === 0) return [main];
  const frames = [main];
  for (const f of extra) frames.push(f);
  return frames;
}

function newSlab(size: number): void {
  buf = Buffer.allocUnsafeSlow(size) as FastBuffer;
  view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  cap = size;
  pos = 0;
  start = 0;
}

/** A getter or registry that encodes while we encode gets a fresh encoder state of its own. */
function encodeNested(value: unknown, classes?: ClassRegistry, options?: EncodeOptions): Buffer[] {
  const saved = { buf, view, cap, pos, start, seen, nextIndex, outOfBand, outOfBandMin, encClasses, lastProto, lastRef, classSlots, recordCount, depth };
  newSlab(SLAB_BYTES);
  seen = new Map();
  classSlots = new Map();
  nextIndex = 0;
  lastProto = null;
  encoding = false;
  try {
    return encodeValue(value, classes, options);
  } finally {
    // the nested encode moved the shared shapes to its own epoch: shapes met again are simply defined anew
    ({ buf, view, cap, pos, start, seen, nextIndex, outOfBand, outOfBandMin, encClasses, lastProto, lastRef, classSlots, recordCount, depth } = saved);
    encoding = true;
  }
}

// ---------------------------------------------------------------------------------------------------
// Decoder
// ---------------------------------------------------------------------------------------------------

const HOLE: unique symbol = Symbol("hole");
const EMPTY = Buffer.alloc(0) as FastBuffer;
const NO_FRAMES: Buffer[] = [];

let src: FastBuffer = EMPTY;
let at = 0;
let end = 0;
/** Every object decoded so far, in the encoder's order, for back-references. Reused between decodes. */
let refs: unknown[] = [];
/** All frames of the value being decoded (out-of-band ones from index 1). */
let inFrames: Buffer[] = NO_FRAMES;
let decClasses: ClassRegistry | undefined;
let srcView: DataView | null = null;
let decoding = false;
/** Record shapes defined so far in this frame, by id. */
let records: RecordShape[] = [];
/** Classes of the Instance slots defined so far in this frame (undefined: unknown here). */
let classSlotsIn: (Function | undefined)[] = [];

/** A record shape as the decoder knows it; kept across decodes, by key list. */
interface RecordShape {
  readonly keys: string[];
  /** Objects read with this shape so far; a reader is generated once the shape proves common. */
  uses: number;
  /** Generated reader that builds the object with all its keys at once, so V8 gives it one stable layout. */
  read: ((readValue: () => unknown, refs: unknown[]) => Record<string, unknown>) | null;
}
/** Generating a reader costs tens of microseconds: only for shapes read this often. */
const COMPILE_AFTER_USES = 100;
const MAX_CACHED_SHAPES = 4096;
const shapeCache = new Map<string, RecordShape>();

function malformed(what: string): ProtocolError {
  return new ProtocolError(`malformed value frame: ${what} at byte ${at}`);
}

function dataView(): DataView {
  return (srcView ??= new DataView(src.buffer, src.byteOffset, src.byteLength));
}

/**
 * Small on purpose: V8 inlines it into the loops that call it, so the common tokens (small integers,
 * doubles, short strings, uint8/16) cost no call; the rest goes through {@link readOther}.
 */
function readValue(): unknown {
  const b = src[at]!;
  if (b < 0x80) {
    at++;
    return b;
  }
  if (b === 0xcb) {
    const v = (srcView ?? dataView()).getFloat64(at + 1);
    at += 9;
    return v;
  }
  if ((b & 0xe0) === 0xa0) {
    at++;
    return readString(b & 0x1f);
  }
  if (b === 0xcd) {
    const v = (src[at + 1]! << 8) | src[at + 2]!;
    at += 3;
    return v;
  }
  if (b === 0xcc) {
    const v = src[at + 1]!;
    at += 2;
    return v;
  }
  return readOther();
}

function readOther(): unknown {
  const b = src[at++]!;
  if (b < 0x80) return b;
  if (b < 0x90) return readPlain(b & 0x0f);
  if (b < 0xa0) return readArray(b & 0x0f);
  if (b < 0xc0) return readString(b & 0x1f);
  if (b >= 0xe0) return b - 0x100;
  let v: number;
  switch (b) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xcb:
      v = dataView().getFloat64(at);
      at += 8;
      return v;
    case 0xcc:
      return src[at++];
    case 0xcd:
      v = (src[at]! << 8) | src[at + 1]!;
      at += 2;
      return v;
    case 0xce:
      v = dataView().getUint32(at);
      at += 4;
      return v;
    case 0xcf: {
      const n = dataView().getBigUint64(at);
      at += 8;
      return n;
    }
    case 0xd0:
      return (src[at++]! << 24) >> 24;
    case 0xd1:
      v = dataView().getInt16(at);
      at += 2;
      return v;
    case 0xd2:
      v = dataView().getInt32(at);
      at += 4;
      return v;
    case 0xd3: {
      const n = dataView().getBigInt64(at);
      at += 8;
      return n;
    }
    case 0xd4:
      // records first, and straight to their reader: one frame less per level of nesting
      if (src[at] === Tag.Record) {
        const shape = records[src[at + 1]!];
        if (shape === undefined) throw malformed(`record shape ${src[at + 1]} not defined`);
        at += 2;
        return shape.read !== null ? shape.read(readValue, refs) : readRecord(shape);
      }
      return readTag();
    case 0xd5: {
      if (src[at] !== Tag.Ref) throw malformed("unknown fixext 2");
      const i = (src[at + 1]! << 8) | src[at + 2]!;
      at += 3;
      return deref(i);
    }
    case 0xd6: {
      if (src[at] !== Tag.Ref) throw malformed("unknown fixext 4");
      const i = dataView().getUint32(at + 1);
      at += 5;
      return deref(i);
    }
    case 0xd9:
      return readString(src[at++]!);
    case 0xda:
      v = (src[at]! << 8) | src[at + 1]!;
      at += 2;
      return readString(v);
    case 0xdb:
      v = dataView().getUint32(at);
      at += 4;
      return readString(v);
    case 0xdc:
      v = (src[at]! << 8) | src[at + 1]!;
      at += 2;
      return readArray(v);
    case 0xdd:
      v = dataView().getUint32(at);
      at += 4;
      return readArray(v);
    case 0xde:
      v = (src[at]! << 8) | src[at + 1]!;
      at += 2;
      return readPlain(v);
    case 0xdf:
      v = dataView().getUint32(at);
      at += 4;
      return readPlain(v);
    default:
      at--;
      throw malformed(b === undefined ? "unexpected end" : `unexpected byte 0x${b.toString(16)}`);
  }
}

function deref(i: number): unknown {
  if (i >= refs.length) throw malformed(`back-reference ${i} to an object not yet seen`);
  return refs[i];
}

/** Every element or entry takes at least one byte, so a count beyond the bytes left is a lie. */
function checkCount(n: number): void {
  if (n > end - at) throw malformed(`count ${n} beyond the end of the frame`);
}

function readArray(n: number): unknown[] {
  checkCount(n);
  const a = new Array<unknown>(n);
  refs.push(a);
  for (let i = 0; i < n; i++) {
    const v = readValue();
    if (v !== HOLE) a[i] = v;
  }
  return a;
}

function readPlain(n: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  refs.push(o);
  readPropsInto(o, n);
  return o;
}

function readPropsInto(o: Record<string, unknown>, n: number): void {
  checkCount(n);
  for (let i = 0; i < n; i++) {
    const k = readKey();
    const v = readValue();
    // assigning "__proto__" would set the prototype; it was an own property
    if (k === "__proto__") define(o, k, v, true);
    else o[k] = v;
  }
}

function define(o: object, key: string, value: unknown, enumerable: boolean): void {
  Object.defineProperty(o, key, { value, writable: true, enumerable, configurable: true });
}

/**
 * Keys repeat (an array of records has a handful), so short ASCII keys come from a cache: no string is
 * built, and the cached string is already internalized, which makes the property store cheaper too.
 */
const KEY_CACHE_SLOTS = 4096;
const keyCache: string[] = new Array<string>(KEY_CACHE_SLOTS).fill("");

function readKey(): string {
  const b = src[at]!;
  if (b > 0xa0 && b < 0xb0) {
    const n = b & 0x0f;
    const from = at + 1;
    const to = from + n;
    if (to > end) throw malformed("key beyond the end of the frame");
    let hash = n;
    let bits = 0;
    for (let i = from; i < to; i++) {
      const c = src[i]!;
      bits |= c;
      hash = (hash * 31 + c) | 0;
    }
    if (bits < 0x80) {
      const slot = hash & (KEY_CACHE_SLOTS - 1);
      const cached = keyCache[slot]!;
      at = to;
      if (cached.length === n) {
        let i = 0;
        while (i < n && cached.charCodeAt(i) === src[from + i]) i++;
        if (i === n) return cached;
      }
      return (keyCache[slot] = ascii(from, n));
    }
  }
  const k = readValue();
  if (typeof k !== "string") throw malformed("a property key that is not a string");
  return k;
}

function readString(n: number): string {
  const from = at;
  const to = from + n;
  if (to > end) throw malformed("string beyond the end of the frame");
  at = to;
  if (n < 16) {
    let bits = 0;
    for (let i = from; i < to; i++) bits |= src[i]!;
    if (bits < 0x80) return ascii(from, n);
  }
  return src.utf8Slice(from, to);
}

const fromCharCode = String.fromCharCode;

/**
 * A short ASCII string (n < 16). One `fromCharCode` call with the bytes as arguments beats both a call
 * into C++ (`utf8Slice`, ~40 ns) and building the string byte by byte.
 */
function ascii(p: number, n: number): string {
  const s = src;
  switch (n) {
    case 0: return "";
    case 1: return fromCharCode(s[p]!);
    case 2: return fromCharCode(s[p]!, s[p + 1]!);
    case 3: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!);
    case 4: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!);
    case 5: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!);
    case 6: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!);
    case 7: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!, s[p + 6]!);
    case 8: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!, s[p + 6]!, s[p + 7]!);
    case 9: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!, s[p + 6]!, s[p + 7]!, s[p + 8]!);
    case 10: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!, s[p + 6]!, s[p + 7]!, s[p + 8]!, s[p + 9]!);
    case 11: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!, s[p + 6]!, s[p + 7]!, s[p + 8]!, s[p + 9]!, s[p + 10]!);
    case 12: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!, s[p + 6]!, s[p + 7]!, s[p + 8]!, s[p + 9]!, s[p + 10]!, s[p + 11]!);
    case 13: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!, s[p + 6]!, s[p + 7]!, s[p + 8]!, s[p + 9]!, s[p + 10]!, s[p + 11]!, s[p + 12]!);
    case 14: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!, s[p + 6]!, s[p + 7]!, s[p + 8]!, s[p + 9]!, s[p + 10]!, s[p + 11]!, s[p + 12]!, s[p + 13]!);
    case 15: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!, s[p + 6]!, s[p + 7]!, s[p + 8]!, s[p + 9]!, s[p + 10]!, s[p + 11]!, s[p + 12]!, s[p + 13]!, s[p + 14]!);
    default: return s.utf8Slice(p, p + n);
  }
}

function readCount(): number {
  const n = readValue();
  if (typeof n !== "number" || !(n >= 0) || !Number.isInteger(n)) throw malformed("bad count");
  return n;
}

function readStringValue(): string {
  const s = readValue();
  if (typeof s !== "string") throw malformed("expected a string");
  return s;
}

function readBinHeader(): number {
  const b = src[at++];
  let n: number;
  if (b === 0xc4) n = src[at++]!;
  else if (b === 0xc5) {
    n = (src[at]! << 8) | src[at + 1]!;
    at += 2;
  } else if (b === 0xc6) {
    n = dataView().getUint32(at);
    at += 4;
  } else throw malformed("expected binary data");
  if (at + n > end) throw malformed("binary data beyond the end of the frame");
  return n;
}

function readTag(): unknown {
  const tag = src[at++];
  const byte = src[at++]!;
  switch (tag) {
    case Tag.Undefined:
      return undefined;
    case Tag.Hole:
      return HOLE;
    case Tag.Ref:
      return deref(byte);
    case Tag.Map: {
      const m = new Map<unknown, unknown>();
      refs.push(m);
      const n = readCount();
      checkCount(n);
      for (let i = 0; i < n; i++) {
        const k = readValue();
        m.set(k, readValue());
      }
      return m;
    }
    case Tag.Set: {
      const s = new Set<unknown>();
      refs.push(s);
      const n = readCount();
      checkCount(n);
      for (let i = 0; i < n; i++) s.add(readValue());
      return s;
    }
    case Tag.Date: {
      const d = new Date(readValue() as number);
      refs.push(d);
      return d;
    }
    case Tag.RegExp: {
      const source = readStringValue();
      const r = new RegExp(source, readStringValue());
      refs.push(r);
      return r;
    }
    case Tag.BigInt: {
      const s = readStringValue();
      return s.startsWith("-") ? -BigInt("0x" + s.slice(1)) : BigInt("0x" + s);
    }
    case Tag.Binary: {
      const n = readBinHeader();
      const from = src.byteOffset + at;
      at += n;
      // a copy: the bytes sit at any alignment inside frame 0, and must not pin it
      const v = binaryView(byte, src.buffer.slice(from, from + n) as ArrayBuffer, 0, n);
      refs.push(v);
      return v;
    }
    case Tag.Frame: {
      const v = frameValue(byte, readCount());
      refs.push(v);
      return v;
    }
    case Tag.Error:
      return readError();
    case Tag.Instance: {
      let ctor: Function | undefined;
      if (byte === NEW_CLASS_SLOT) {
        const ref = readStringValue();
        ctor = decClasses?.classOf(ref);
        classSlotsIn.push(ctor);
      } else {
        if (byte >= classSlotsIn.length) throw malformed(`class slot ${byte} not defined`);
        ctor = classSlotsIn[byte];
      }
      const o = (ctor === undefined ? {} : Object.create(ctor.prototype as object | null)) as Record<string, unknown>;
      refs.push(o);
      readOwnProps(o, ctor !== undefined);
      return o;
    }
    case Tag.Boxed: {
      const v = Object(readValue()) as object;
      refs.push(v);
      return v;
    }
    case Tag.NullProto: {
      const o = Object.create(null) as Record<string, unknown>;
      refs.push(o);
      readOwnProps(o, false);
      return o;
    }
    case Tag.Record: {
      const shape = records[byte];
      if (shape === undefined) throw malformed(`record shape ${byte} not defined`);
      return readRecord(shape);
    }
    case Tag.RecordDef:
      return readRecord(defineRecord(byte));
    case Tag.Utf16: {
      const n = readBinHeader();
      const s = src.toString("utf16le", at, at + n);
      at += n;
      return s;
    }
    case Tag.Function: {
      const ref = readStringValue();
      const fn = decClasses?.functionOf?.(ref);
      if (typeof fn !== "function") throw new SerializationError(`the function ${ref} is not available here`);
      return fn;
    }
    default:
      at -= 2;
      throw malformed(tag === undefined ? "unexpected end" : `unknown tag ${tag}`);
  }
}

function readU16(): number {
  const v = (src[at]! << 8) | src[at + 1]!;
  at += 2;
  return v;
}

function readU32(): number {
  const v = dataView().getUint32(at);
  at += 4;
  return v;
}

/**
 * Reads the properties that follow an Instance or NullProto header (a map or a record) into `o`.
 * `guarded`: `o` has a class prototype, which may have an accessor or read-only property of a key's
 * name; an own data property is what the sender had, and no setter of the class must run.
 */
function readOwnProps(o: Record<string, unknown>, guarded: boolean): void {
  const b = src[at]!;
  let keys: string[] | undefined;
  let n: number;
  if (b === 0xd4) {
    const tag = src[at + 1]!;
    const id = src[at + 2]!;
    at += 3;
    if (tag === Tag.RecordDef) keys = defineRecord(id).keys;
    else if (tag === Tag.Record && id < records.length) keys = records[id]!.keys;
    else throw malformed("expected the properties of an object");
    n = keys.length;
  } else {
    at++;
    n = b >= 0x80 && b < 0x90 ? b & 0x0f : b === 0xde ? readU16() : b === 0xdf ? readU32() : -1;
    if (n < 0) throw malformed("expected the properties of an object");
    checkCount(n);
  }
  for (let i = 0; i < n; i++) {
    const k = keys === undefined ? readKey() : keys[i]!;
    const v = readValue();
    if (guarded ? k in o : k === "__proto__") define(o, k, v, true);
    else o[k] = v;
  }
}

function defineRecord(id: number): RecordShape {
  if (id !== records.length) throw malformed(`record shape ${id} defined out of order`);
  const b = src[at++]!;
  const n = b >= 0x90 && b < 0xa0 ? b & 0x0f : b === 0xdc ? readU16() : -1;
  if (n < 0) throw malformed("expected the keys of a record shape");
  checkCount(n);
  const keys = new Array<string>(n);
  for (let i = 0; i < n; i++) keys[i] = readKey();
  const signature = JSON.stringify(keys);
  let shape = shapeCache.get(signature);
  if (shape === undefined) {
    if (shapeCache.size >= MAX_CACHED_SHAPES) shapeCache.clear();
    shape = { keys, uses: 0, read: null };
    shapeCache.set(signature, shape);
  }
  records.push(shape);
  return shape;
}

function readRecord(shape: RecordShape): Record<string, unknown> {
  if (shape.read !== null) return shape.read(readValue, refs);
  if (++shape.uses === COMPILE_AFTER_USES) shape.read = compileRecordReader(shape.keys);
  const o: Record<string, unknown> = {};
  refs.push(o);
  const keys = shape.keys;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = readValue();
    if (k === "__proto__") define(o, k, v, true);
    else o[k] = v;
  }
  return o;
}

/**
 * `(readValue, refs) => { const o = {"a": undefined, ...}; refs.push(o); o["a"] = readValue(); ...; return o }`:
 * the literal creates the object in its final layout, and each store is a monomorphic named store.
 * The object is registered before its values are read, as back-references expect. Keys are quoted with
 * JSON.stringify, so no key can escape its string literal; a shape with "__proto__" keeps the generic path.
 */
function compileRecordReader(keys: string[]): RecordShape["read"] {
  if (keys.includes("__proto__")) return null;
  const quoted = keys.map((k) => JSON.stringify(k));
  const body =
    `const o = {${quoted.map((q) => `${q}: undefined`).join(", ")}};\n` +
    "refs.push(o);\n" +
    quoted.map((q) => `o[${q}] = readValue();\n`).join("") +
    "return o;";
  try {
    return new Function("readValue", "refs", body) as RecordShape["read"];
  } catch {
    return null; // code generation disallowed (--disallow-code-generation-from-strings): the generic path
  }
}

function binaryView(kind: number, ab: ArrayBuffer, offset: number, length: number): unknown {
  switch (kind) {
    case BinaryKind.ArrayBuffer:
      return ab;
    case BinaryKind.DataView:
      return new DataView(ab, offset, length);
    case BinaryKind.Buffer:
      return Buffer.from(ab, offset, length);
    default: {
      const ctor = BINARY_CTORS[kind] as unknown as { new (b: ArrayBuffer, o: number, l: number): unknown; BYTES_PER_ELEMENT: number } | undefined;
      if (ctor === undefined || kind < 3) throw malformed(`unknown binary kind ${kind}`);
      if (length % ctor.BYTES_PER_ELEMENT !== 0) throw malformed("binary length not a multiple of its element size");
      return new ctor(ab, offset, length / ctor.BYTES_PER_ELEMENT);
    }
  }
}

/** A binary value from its own frame: a view on the frame when possible, else one copy. */
function frameValue(kind: number, index: number): unknown {
  const f = inFrames[index];
  if (index < 1 || f === undefined) throw malformed(`reference to missing frame ${index}`);
  const { buffer, byteOffset, byteLength } = f;
  switch (kind) {
    case BinaryKind.ArrayBuffer:
      return byteOffset === 0 && byteLength === buffer.byteLength ? buffer : buffer.slice(byteOffset, byteOffset + byteLength);
    case BinaryKind.Buffer:
      return Buffer.isBuffer(f) ? f : Buffer.from(buffer, byteOffset, byteLength);
    case BinaryKind.DataView:
      return new DataView(buffer, byteOffset, byteLength);
    default: {
      const ctor = BINARY_CTORS[kind] as unknown as { BYTES_PER_ELEMENT: number } | undefined;
      if (ctor !== undefined && kind > 2 && byteOffset % ctor.BYTES_PER_ELEMENT !== 0)
        return binaryView(kind, buffer.slice(byteOffset, byteOffset + byteLength) as ArrayBuffer, 0, byteLength);
      return binaryView(kind, buffer as ArrayBuffer, byteOffset, byteLength);
    }
  }
}

function readError(): Error {
  const base = readStringValue();
  const ref = readValue();
  const name = readValue();
  const message = readValue();
  const ctor = typeof ref === "string" ? decClasses?.classOf(ref) : undefined;
  const limit = Error.stackTraceLimit;
  // the sender's stack is restored below; capturing a local one would only cost time
  Error.stackTraceLimit = 0;
  let err: Error;
  try {
    if (base === "DOMException" && typeof DOMException === "function") {
      err = new DOMException(typeof message === "string" ? message : "", typeof name === "string" ? name : "Error");
      if (ctor !== undefined) Object.setPrototypeOf(err, ctor.prototype as object);
    } else {
      const Base = ERROR_BASES[base] ?? Error;
      const target = typeof ctor === "function" && typeof ctor.prototype === "object" ? ctor : Base;
      err = Reflect.construct(Base, Base === AggregateError ? [[]] : [], target) as Error;
    }
  } finally {
    Error.stackTraceLimit = limit;
  }
  refs.push(err);
  const made = Object.getOwnPropertyNames(err);
  const sent = new Set<string>();
  const n = readCount();
  checkCount(n);
  for (let i = 0; i < n; i++) {
    const k = readStringValue();
    const enumerable = readValue() === true;
    define(err, k, readValue(), enumerable);
    sent.add(k);
  }
  // construction added own properties (stack, AggregateError's errors) the sender's error may not have had
  for (const k of made) if (!sent.has(k)) delete (err as unknown as Record<string, unknown>)[k];
  if (typeof name === "string" && err.name !== name) define(err, "name", name, false);
  if (typeof message === "string" && err.message !== message) define(err, "message", message, false);
  return err;
}

/**
 * Decodes frames made by {@link encodeValue}. Instances of classes `classes` knows get their class back
 * (prototype set, own properties restored, constructor not called); unknown classes come back as plain
 * objects. A Buffer comes back as a Buffer, every other binary kind as itself. Binary values from
 * out-of-band frames are views on those frames (copied only when a typed array's alignment requires).
 *
 * @throws ProtocolError when the frames are not a well-formed encoded value.
 * @throws SerializationError when a function reference cannot be resolved here.
 */
export function decodeValue(frames: Buffer[], classes?: ClassRegistry): unknown {
  if (decoding) return decodeNested(frames, classes);
  const main = frames[0];
  if (main === undefined) throw new ProtocolError("malformed value: no frames");
  decoding = true;
  src = (Buffer.isBuffer(main) ? main : Buffer.from((main as Uint8Array).buffer, (main as Uint8Array).byteOffset, (main as Uint8Array).byteLength)) as FastBuffer;
  at = 0;
  end = src.length;
  inFrames = frames;
  decClasses = classes;
  try {
    const v = readValue();
    if (at !== end) throw malformed(at < end ? "trailing bytes" : "unexpected end");
    if (v === HOLE) throw malformed("a hole outside an array");
    return v;
  } catch (e) {
    if (e instanceof ProtocolError || e instanceof SerializationError) throw e;
    throw new ProtocolError(`malformed value frame: ${describeThrown(e)}`);
  } finally {
    decoding = false;
    src = EMPTY;
    srcView = null;
    inFrames = NO_FRAMES;
    decClasses = undefined;
    refs.length = 0;
    if (records.length > 0) records.length = 0;
    if (classSlotsIn.length > 0) classSlotsIn.length = 0;
  }
}

/** A registry that decodes while we decode gets a fresh decoder state of its own. */
function decodeNested(f: Buffer[], classes?: ClassRegistry): unknown {
  const saved = { src, at, end, refs, inFrames, decClasses, srcView, records, classSlotsIn };
  refs = [];
  records = [];
  classSlotsIn = [];
  decoding = false;
  try {
    return decodeValue(f, classes);
  } finally {
    ({ src, at, end, refs, inFrames, decClasses, srcView, records, classSlotsIn } = saved);
    decoding = true;
  }
}
