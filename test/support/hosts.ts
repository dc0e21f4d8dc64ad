/**
 * Shared pieces of the host-parsing tests: fixture files, SCOOP's expected vector, and the check that
 * a bad input is a one-line ConfigError.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../../src/errors.js";

export const hostFixturePath = (name: string): string => fileURLToPath(new URL(`../fixtures/hosts/${name}`, import.meta.url));
export const hostFixture = (name: string): string => readFileSync(hostFixturePath(name), "utf8");

/** The logical content of SCOOP's simulated host files (test/tests_parser.py, `hosts`). */
export const SCOOP_HOSTS = [
  { host: "host1", slots: 8 },
  { host: "host2", slots: 4 },
  { host: "host3", slots: 2 },
  { host: "host4", slots: 2 },
];

/** Asserts a one-line ConfigError (code ERR_SCOOP_CONFIG) whose message matches `re`. */
export function throwsConfig(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.code, "ERR_SCOOP_CONFIG");
    assert.match(err.message, re);
    assert.ok(!err.message.includes("\n"), `message spans lines: ${err.message}`);
    return true;
  });
}
