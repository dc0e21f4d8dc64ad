/**
 * Micro-benchmark of the value codec (src/protocol/codec.ts), with msgpackr's structured-clone Packr
 * alongside for reference, and the inline-versus-own-frame trade-off for binary values, measured
 * through a zeromq PUSH/PULL pair over tcp loopback (which is what sets OUT_OF_BAND_MIN_BYTES).
 *
 *   node --import tsx bench/micro/codec.bench.ts          # everything
 *   node --import tsx bench/micro/codec.bench.ts codec    # codec only
 */
import { Packr } from "msgpackr";
import * as zmq from "zeromq";
import { decodeValue, encodeValue, OUT_OF_BAND_MIN_BYTES } from "../../src/protocol/codec.js";

const packr = new Packr({ structuredClone: true });
const only = process.argv[2];

function rate(fn: () => unknown, minMs = 400): number {
  for (let i = 0; i < 200; i++) fn();
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

const fmt = (x: number): string => Math.round(x).toLocaleString("en-US").padStart(11);

const cases: Record<string, unknown> = {
  "ints10k: 10,000 small ints": Array.from({ length: 10_000 }, (_, i) => i % 1000),
  "envelope: [{m,n},[1,2]]": [{ m: "file:///x.ts", n: "f" }, [1, 2]],
  "floats10k: 10,000 doubles": Array.from({ length: 10_000 }, (_, i) => i * 1.25 + 0.1),
  "objs1k: 1,000 {id,name,v}": Array.from({ length: 1000 }, (_, i) => ({ id: i, name: "n" + i, v: i * 1.5 })),
  "strs1k: 1,000 strings of 13-42 chars": Array.from({ length: 1000 }, (_, i) => "item number " + i + " ".repeat(i % 30)),
};

if (!only || only === "codec") {
  console.log("ops/s (one op = the whole value)      codec enc   codec dec  codec round  msgpackr round");
  for (const [name, value] of Object.entries(cases)) {
    const frames = encodeValue(value);
    const enc = rate(() => encodeValue(value));
    const dec = rate(() => decodeValue(frames));
    const round = rate(() => decodeValue(encodeValue(value)));
    const theirs = rate(() => packr.unpack(packr.pack(value)));
    console.log(`${name.padEnd(37)}${fmt(enc)} ${fmt(dec)} ${fmt(round)} ${fmt(theirs)}`);
  }
}

async function throughZmq(size: number, ownFrame: boolean): Promise<number> {
  const push = new zmq.Push({ sendHighWaterMark: 100_000 });
  const pull = new zmq.Pull({ receiveHighWaterMark: 100_000 });
  await pull.bind("tcp://127.0.0.1:*");
  push.connect(pull.lastEndpoint!);
  const value = new Float64Array(size / 8).fill(1.25);
  const header = Buffer.from("a header of 20 bytes");
  const count = Math.max(500, Math.floor((40_000 * 1024) / Math.max(size, 1024)));
  const t0 = performance.now();
  const received = (async () => {
    let n = 0;
    for await (const frames of pull) {
      decodeValue(frames.slice(1));
      if (++n === count) break;
    }
  })();
  for (let i = 0; i < count; i++) {
    const frames = encodeValue(value, undefined, ownFrame ? { outOfBandMinBytes: 0 } : { inline: true });
    await push.send([header, ...frames]);
  }
  await received;
  const dt = performance.now() - t0;
  push.close();
  pull.close();
  return (count * 1000) / dt;
}

if (!only || only === "binary") {
  console.log(`\nbinary value through zeromq, msg/s (best of 2)     inline   own frame   ratio   (threshold now ${OUT_OF_BAND_MIN_BYTES} B)`);
  for (const size of [4096, 16384, 32768, 65536, 262144, 1048576]) {
    const inline = Math.max(await throughZmq(size, false), await throughZmq(size, false));
    const own = Math.max(await throughZmq(size, true), await throughZmq(size, true));
    console.log(`${String(size).padStart(8)} B${"".padEnd(40)}${fmt(inline)} ${fmt(own)}   ${(own / inline).toFixed(2)}`);
  }
}
