// Type tests of the public API (checked by `npm run typecheck`, i.e. `tsc -p tsconfig.test.json`, and
// by test/futures/types.test.ts). Every `@ts-expect-error` line must be an error: if one compiles,
// tsc reports the directive as unused and the check fails.
import {
  Future,
  futures,
  type CompletedFuture,
  MapResult,
  Pool,
  scoop,
  shared,
  TimeoutError,
  WaitTimeoutError,
  ScoopError,
  type Logger,
  type WaitResult,
} from "../../src/index.js";

/** Exact type equality: `Equal<A, B>` is `true` only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T>(_: T): void {}
function assertType<_T extends true>(): void {}

function square(x: number): number {
  return x * x;
}
function add(a: number, b: number): number {
  return a + b;
}
function repeatText(s: string, n: number): string {
  return s.repeat(n);
}
async function fetchLength(url: string): Promise<number> {
  return url.length;
}
function echo<T>(v: T): { v: T } {
  return { v };
}
function concat(a: string, b: string): string {
  return a + b;
}

export async function checks(): Promise<void> {
  // ---- submit: arguments checked against fn, result type from fn (promises unwrapped) ----
  const f1 = futures.submit(square, 3);
  assertType<Equal<typeof f1, Future<number>>>();
  const f2 = futures.submit(fetchLength, "https://example.org");
  assertType<Equal<typeof f2, Future<number>>>();
  const f3 = futures.submit(repeatText, "ab", 3);
  assertType<Equal<typeof f3, Future<string>>>();
  const f4 = futures.submit(echo, "generic");
  assertType<Equal<typeof f4, Future<{ v: string }>>>();
  const f5 = futures.submit((a: number, b: number) => a * b, 6, 7);
  assertType<Equal<typeof f5, Future<number>>>();
  expectType<number>(await f1);
  expectType<number>(await f1.result({ timeout: 100 }));
  expectType<unknown>(await f1.exception());

  // @ts-expect-error a string where fn takes a number
  futures.submit(square, "3");
  // @ts-expect-error a missing argument
  futures.submit(repeatText, "ab");
  // @ts-expect-error one argument too many
  futures.submit(square, 1, 2);
  // @ts-expect-error arguments in the wrong order
  futures.submit(repeatText, 3, "ab");
  // @ts-expect-error the result is a number, not a string
  const wrong: Future<string> = futures.submit(square, 3);
  // @ts-expect-error not a function
  futures.submit(42, 1);

  // ---- map: one iterable per parameter, element types checked; result from fn ----
  const m1 = futures.map(square, [1, 2, 3]);
  assertType<Equal<typeof m1, MapResult<number>>>();
  expectType<number[]>(await m1);
  const m2 = futures.map(repeatText, ["a", "b"], new Set([1, 2]));
  assertType<Equal<typeof m2, MapResult<string>>>();
  const m3 = futures.map(fetchLength, (async function* () {
    yield "x";
  })());
  assertType<Equal<typeof m3, MapResult<number>>>();
  const m4 = futures.map(add, [1], [2], { chunkSize: 10, timeout: 1000 });
  assertType<Equal<typeof m4, MapResult<number>>>();
  const m5 = futures.map(Math.cos, [0, 1]);
  assertType<Equal<typeof m5, MapResult<number>>>();
  for await (const v of futures.map(repeatText, ["a"], [2])) expectType<string>(v);

  // @ts-expect-error strings where fn takes numbers
  futures.map(square, ["1", "2"]);
  // @ts-expect-error the second iterable has the wrong element type
  futures.map(repeatText, ["a"], ["b"]);
  // @ts-expect-error a missing iterable
  futures.map(add, [1, 2]);
  // @ts-expect-error one iterable too many
  futures.map(square, [1], [2]);
  // @ts-expect-error a non-iterable argument
  futures.map(square, 5);
  // @ts-expect-error an unknown option
  futures.map(square, [1], { chunk: 2 });
  // @ts-expect-error the values are numbers
  const wrongMap: string[] = await futures.map(square, [1]);

  // ---- mapAsCompleted ----
  for await (const v of futures.mapAsCompleted(repeatText, ["a"], [1])) expectType<string>(v);
  // @ts-expect-error wrong element type
  futures.mapAsCompleted(square, ["x"]);

  // ---- mapReduce / mapScan: reducer over the mapped type ----
  const r1 = futures.mapReduce(square, add, [10, 20, 30]);
  assertType<Equal<typeof r1, Promise<number>>>();
  const r2 = futures.mapReduce(repeatText, concat, ["a"], [3], { initial: "" });
  assertType<Equal<typeof r2, Promise<string>>>();
  const s1 = futures.mapScan(square, add, [10, 20, 30]);
  assertType<Equal<typeof s1, Promise<number[]>>>();
  // @ts-expect-error the reducer takes strings but the mapped values are numbers
  futures.mapReduce(square, concat, [1, 2]);
  // @ts-expect-error initial must have the mapped type
  futures.mapReduce(square, add, [1], { initial: "zero" });
  // @ts-expect-error wrong element type
  futures.mapScan(square, add, ["1"]);

  // ---- asCompleted / wait / shutdown ----
  const fs = [futures.submit(square, 1), futures.submit(square, 2)];
  for await (const f of futures.asCompleted(fs, { timeout: 100 })) {
    // The future itself (typed so that for-await does not take it for its value).
    assertType<Equal<typeof f, CompletedFuture<number>>>();
    expectType<Future<number>>(f);
    expectType<boolean>(fs.includes(f));
    expectType<number>(await f.result());
    // @ts-expect-error a future is not its value
    const n: number = f;
    void n;
  }
  const w = await futures.wait(fs, { timeout: 100, returnWhen: futures.FIRST_EXCEPTION });
  assertType<Equal<typeof w, WaitResult<number>>>();
  await futures.wait(fs, { returnWhen: "FIRST_COMPLETED" });
  // @ts-expect-error not a returnWhen value
  await futures.wait(fs, { returnWhen: "SOMETIMES" });
  // @ts-expect-error not futures
  await futures.wait([1, 2]);
  await futures.shutdown({ wait: false });

  // ---- Future ----
  const fut = futures.submit(square, 2);
  expectType<boolean>(fut.cancel());
  expectType<boolean>(fut.cancelled());
  expectType<boolean>(fut.done());
  expectType<boolean>(fut.running());
  fut.addDoneCallback((f) => assertType<Equal<typeof f, Future<number>>>());
  // @ts-expect-error the callback gets a Future<number>
  fut.addDoneCallback((f: Future<string>) => f);
  const chained = fut.then((v) => String(v));
  assertType<Equal<typeof chained, Promise<string>>>();

  // ---- shared / scoop ----
  await shared.setConst({ a: 1, b: { c: [1, 2] } });
  const c = await shared.getConst<{ c: number[] }>("b", { timeout: 100 });
  assertType<Equal<typeof c, { c: number[] }>>();
  // @ts-expect-error setConst takes an object of constants
  await shared.setConst("a", 1);
  expectType<boolean>(scoop.isOrigin);
  expectType<boolean>(scoop.isRunning);
  expectType<string>(scoop.workerName);
  expectType<string>(scoop.brokerName);
  expectType<number>(scoop.size);
  expectType<string[]>(scoop.hosts());
  expectType<Logger>(scoop.logger);
  // @ts-expect-error read-only
  scoop.size = 3;

  // ---- errors ----
  const e: unknown = undefined;
  if (e instanceof WaitTimeoutError) {
    expectType<TimeoutError>(e);
    expectType<ScoopError>(e);
    expectType<string>(e.code);
    expectType<number>(e.done.size + e.notDone.size);
  }

  // ---- Pool ----
  const pool = await Pool.start({ workers: 2 });
  const pm = await pool.futures.map(square, [1, 2]);
  assertType<Equal<typeof pm, number[]>>();
  // @ts-expect-error wrong element type on a pool too
  pool.futures.map(square, ["1"]);
  await pool.close();
  void wrong;
  void wrongMap;
}
