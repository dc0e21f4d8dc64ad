// Argument sources of map and friends (src/futures/iterate.ts): Python zip semantics, and the
// by-the-chunk path of a single synchronous input. Pure logic.
import assert from "node:assert/strict";
import { test } from "node:test";
import { zipSource } from "../../src/futures/iterate.js";

test("one array: chunks are slices, the last one short, then empty", () => {
  const src = zipSource("map", [[1, 2, 3, 4, 5]]);
  assert.equal(src.sync, true);
  assert.deepEqual(src.takeValues!(2), [1, 2]);
  assert.deepEqual(src.next(), [3], "tuples and chunks share one position");
  assert.deepEqual(src.takeValues!(5), [4, 5]);
  assert.deepEqual(src.takeValues!(5), []);
  assert.equal(src.next(), undefined);
});

test("one generator: chunks pull values without tuples, and the generator is closed at its end", () => {
  let closed = false;
  function* gen() {
    try {
      for (let i = 0; i < 3; i++) yield i * 10;
    } finally {
      closed = true;
    }
  }
  const src = zipSource("map", [gen()]);
  assert.deepEqual(src.takeValues!(2), [0, 10]);
  assert.deepEqual(src.takeValues!(2), [20]);
  assert.equal(closed, true);
  const early = zipSource("map", [gen()]);
  closed = false;
  assert.deepEqual(early.takeValues!(1), [0]);
  early.close();
  assert.equal(closed, true, "closing early lets the generator run its finally");
});

test("an array with its own iterator is iterated, not sliced", () => {
  const xs = [1, 2, 3];
  xs[Symbol.iterator] = function* () {
    yield 42;
  };
  assert.deepEqual(zipSource("map", [xs]).takeValues!(3), [42]);
});

test("several inputs zip to the shortest, left to right, and have no chunk path", () => {
  const src = zipSource("map", [[1, 2, 3], "ab".split("")]);
  assert.equal(src.takeValues, undefined);
  assert.deepEqual([src.next(), src.next(), src.next()], [[1, "a"], [2, "b"], undefined]);
});
