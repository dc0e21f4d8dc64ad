// A broker started with `inproc` (as Pool.start does) also serves in-process endpoints: a client in
// the same process handshakes and is served there, with no copy through the kernel.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Dealer } from "zeromq";
import { Broker } from "../../src/broker/broker.js";
import { decodeHeader, encodeHeader, MessageType } from "../../src/protocol/messages.js";
import { PACKAGE_VERSION, PROTOCOL_VERSION } from "../../src/version.js";

test("a broker with inproc serves a client in the same process on its inproc endpoint", async () => {
  const broker = await Broker.start({ name: "inproc-test", inproc: true });
  const plain = await Broker.start({ name: "plain" });
  const d = new Dealer({ linger: 0, receiveTimeout: 5_000 });
  try {
    assert.equal(plain.inprocAddresses, undefined, "only when asked for");
    const addr = broker.inprocAddresses!;
    assert.match(addr.task, /^inproc:\/\//);
    assert.match(addr.meta, /^inproc:\/\//);
    d.connect(addr.task);
    const hello = { protocol: PROTOCOL_VERSION, version: PACKAGE_VERSION, name: "client", brokerName: "inproc-test", origin: true, host: "test", pid: process.pid, executes: false };
    await d.send([encodeHeader([MessageType.Hello, hello])]);
    const [frame, ...rest] = await d.receive();
    const h = decodeHeader(frame!, rest.length);
    assert.equal(h[0], MessageType.Welcome);
  } finally {
    d.close();
    await broker.close();
    await plain.close();
  }
});
