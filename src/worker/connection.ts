/**
 * A worker's two links to its broker: a DEALER on the task socket (requests, tasks, results) and a
 * SUB on the meta socket (constants, pool info, shutdown). Opening it performs the handshake.
 */
import { hostname } from "node:os";
import { Dealer, Subscriber } from "zeromq";
import { HandshakeError, ProtocolError, TimeoutError } from "../errors.js";
import type { Logger } from "../log.js";
import { checkWelcome } from "../protocol/handshake.js";
import { decodeHeader, encodeHeader, MessageType, type Header, type HelloInfo, type WelcomeInfo } from "../protocol/messages.js";
import { SocketWriter } from "../transport/socket-writer.js";
import { clientSocketOptions, type PoolKeys } from "../transport/curve.js";
import { PACKAGE_VERSION, PROTOCOL_VERSION } from "../version.js";
import { HeartbeatMonitor } from "./heartbeat.js";

export interface ConnectionOptions {
  brokerAddress: string;
  metaAddress: string;
  /** Who this process is; protocol and package versions, host and pid are filled in here. */
  hello: Pick<HelloInfo, "name" | "brokerName" | "origin" | "executes">;
  logger: Logger;
  connectTimeout: number;
  /** CurveZMQ keys of the pool, when it runs with them. */
  keys?: PoolKeys;
  /**
   * In-process endpoints of a broker that lives in this process: the task and meta sockets connect
   * there (no copies through the kernel); the heartbeat thread, which has a ZeroMQ context of its
   * own, still uses brokerAddress and metaAddress.
   */
  inproc?: { task: string; meta: string };
  /** Called once when the broker stops answering (heartbeat timeout) or drops this worker. */
  onBrokerLost?: (reason: string) => void;
}

export interface Welcome {
  info: WelcomeInfo;
  constants: Map<string, Buffer>;
}

export type MessageHandler = (header: Header, payload: Buffer[]) => void;

export class BrokerConnection {
  private readonly dealer: Dealer;
  private readonly sub: Subscriber;
  private readonly out: SocketWriter;
  private handler: MessageHandler | undefined;
  private closed = false;
  /** Messages that arrived before a handler was attached (between WELCOME and runtime start-up). */
  private early: Array<[Header, Buffer[]]> = [];
  private heartbeat: HeartbeatMonitor | undefined;

  constructor(private readonly options: ConnectionOptions) {
    const curve = options.keys ? clientSocketOptions(options.keys) : {};
    this.dealer = new Dealer({ sendHighWaterMark: 0, receiveHighWaterMark: 0, linger: 1000, ...curve });
    this.sub = new Subscriber({ receiveHighWaterMark: 0, linger: 0, ...curve });
    this.out = new SocketWriter(this.dealer, (err) => {
      if (!this.closed) options.logger.warn("send to broker failed:", (err as Error).message);
    });
  }

  /** Connects both sockets, sends HELLO and waits for WELCOME (or a refusal, or the timeout). */
  async open(): Promise<Welcome> {
    const { brokerAddress, metaAddress, connectTimeout } = this.options;
    const hello: HelloInfo = { protocol: PROTOCOL_VERSION, version: PACKAGE_VERSION, host: hostname(), pid: process.pid, ...this.options.hello };
    this.sub.connect(this.options.inproc?.meta ?? metaAddress);
    this.sub.subscribe();
    this.dealer.connect(this.options.inproc?.task ?? brokerAddress);
    this.out.write([encodeHeader([MessageType.Hello, hello])]);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TimeoutError(`no answer from broker at ${brokerAddress} within ${connectTimeout} ms (is it running? with keys, do both sides use the same key file?)`)),
        connectTimeout,
      );
    });
    try {
      return await Promise.race([this.awaitWelcome(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async awaitWelcome(): Promise<Welcome> {
    for (;;) {
      const frames = await this.dealer.receive();
      let header: Header;
      try {
        header = decodeHeader(frames[0]!, frames.length - 1);
      } catch (err) {
        this.options.logger.debug("dropped a malformed message before WELCOME:", (err as Error).message);
        continue;
      }
      if (header[0] === MessageType.Refuse) throw new HandshakeError(`broker refused this worker: ${header[1]}`);
      if (header[0] !== MessageType.Welcome) continue;
      const problem = checkWelcome(header[1]);
      if (problem) throw new HandshakeError(problem);
      const constants = new Map<string, Buffer>();
      header[2].forEach((name, i) => constants.set(name, frames[i + 1]!));
      const info = header[1];
      this.heartbeat = new HeartbeatMonitor({
        brokerAddress: this.options.brokerAddress,
        metaAddress: this.options.metaAddress,
        index: info.index,
        token: info.heartbeatToken,
        interval: info.heartbeatInterval,
        timeout: info.heartbeatTimeout,
        keys: this.options.keys,
        onBrokerLost: (silent) =>
          this.options.onBrokerLost?.(`lost the broker at ${this.options.brokerAddress}: silent for ${Math.round(silent / 1000)} s`),
      });
      void this.receiveLoop();
      void this.metaLoop();
      return { info, constants };
    }
  }

  /** Attaches the message handler; messages that arrived earlier are delivered first. */
  onMessage(handler: MessageHandler): void {
    this.handler = handler;
    const early = this.early;
    this.early = [];
    for (const [h, p] of early) handler(h, p);
  }

  private deliver(header: Header, payload: Buffer[]): void {
    if (this.handler) this.handler(header, payload);
    else this.early.push([header, payload]);
  }

  private async receiveLoop(): Promise<void> {
    try {
      for await (const frames of this.dealer) this.decodeAndDeliver(frames, "task");
    } catch (err) {
      if (!this.closed) this.options.logger.error("task socket failed:", (err as Error).message);
    }
  }

  private async metaLoop(): Promise<void> {
    try {
      for await (const frames of this.sub) this.decodeAndDeliver(frames, "meta");
    } catch (err) {
      if (!this.closed) this.options.logger.error("meta socket failed:", (err as Error).message);
    }
  }

  private decodeAndDeliver(frames: Buffer[], socket: string): void {
    let header: Header;
    try {
      header = decodeHeader(frames[0]!, frames.length - 1);
    } catch (err) {
      this.options.logger.debug(`dropped a malformed message on the ${socket} socket:`, err instanceof ProtocolError ? err.message : err);
      return;
    }
    this.heartbeat?.heard();
    if (header[0] === MessageType.Heartbeat) return;
    if (header[0] === MessageType.Refuse) {
      this.options.onBrokerLost?.(`the broker dropped this worker: ${header[1]}`);
      return;
    }
    this.deliver(header, frames.length > 1 ? frames.slice(1) : []);
  }

  send(header: Header, payload: Buffer[] = []): void {
    if (this.closed) return;
    this.out.write(payload.length ? [encodeHeader(header), ...payload] : [encodeHeader(header)]);
  }

  /** Waits until queued messages are handed to libzmq (bounded), then closes both sockets. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.heartbeat?.stop();
    await Promise.race([this.out.idle(), new Promise((r) => setTimeout(r, 1000))]);
    this.closed = true;
    this.dealer.close();
    this.sub.close();
  }
}
