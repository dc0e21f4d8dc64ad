// A protocol-level peer for broker tests: handshakes as a worker over a raw DEALER, then records
// what the broker sends it (task ids, results, RELEASEs) so a test can drive the broker message by message.
import { Dealer } from "zeromq";
import { decodeHeader, encodeHeader, MessageType, type Header } from "../../src/protocol/messages.js";
import { PACKAGE_VERSION, PROTOCOL_VERSION } from "../../src/version.js";

export interface BarePeer {
  index: number;
  /** Task ids handed over in TASKS messages, in order. */
  got: number[];
  /** Result ids received in RESULTS messages, in order. */
  results: number[];
  /** The counts of the RELEASEs received. */
  releases: number[];
  send(h: Header, frames?: Buffer[]): Promise<void>;
  close(): void;
}

export async function barePeer(address: string, name: string): Promise<BarePeer> {
  const d = new Dealer({ linger: 0 });
  d.connect(address);
  const hello = { protocol: PROTOCOL_VERSION, version: PACKAGE_VERSION, name, brokerName: "broker", origin: false, host: "test", pid: 1, executes: true };
  await d.send([encodeHeader([MessageType.Hello, hello])]);
  let index = -1;
  const got: number[] = [];
  const results: number[] = [];
  const releases: number[] = [];
  const welcomed = new Promise<void>((resolve) => {
    void (async () => {
      for await (const frames of d) {
        const h = decodeHeader(frames[0]!, frames.length - 1);
        if (h[0] === MessageType.Welcome) {
          index = h[1].index;
          resolve();
        } else if (h[0] === MessageType.Tasks) got.push(...h[1]);
        else if (h[0] === MessageType.Results) results.push(...h[1]);
        else if (h[0] === MessageType.Release) releases.push(h[1]);
      }
    })().catch(() => {});
  });
  await welcomed;
  return { index, got, results, releases, send: (h, frames = []) => d.send([encodeHeader(h), ...frames]), close: () => d.close() };
}
