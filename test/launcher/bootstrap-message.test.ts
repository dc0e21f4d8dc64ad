// A remote host whose bootstrap check fails is reported by its own "scoop: …" line first, whatever
// the login shell printed before it (profile scripts, module systems). Pure logic.
import assert from "node:assert/strict";
import { test } from "node:test";
import { bootstrapMessage } from "../../src/launcher/remote.js";

test("the scoop: line leads, the shell's chatter follows on one line", () => {
  const text = "rm: cannot remove '/root/.pyenv/shims/tmp.x': No such file or directory\npyenv: cannot rehash\nscoop: no directory /no/such on n1 (--path)\n";
  assert.equal(
    bootstrapMessage(text),
    "scoop: no directory /no/such on n1 (--path)\n  (remote output: rm: cannot remove '/root/.pyenv/shims/tmp.x': No such file or directory | pyenv: cannot rehash)",
  );
  assert.equal(bootstrapMessage("scoop: Node.js not found on n1 (tried node)"), "scoop: Node.js not found on n1 (tried node)");
  assert.equal(bootstrapMessage("something else"), "something else", "no scoop: line: as it came");
});
