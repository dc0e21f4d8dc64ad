/**
 * Serialises sends on one ZeroMQ socket. zeromq.js allows a single pending `send()` per socket, and
 * results must never be dropped, so messages wait here in order instead of racing for the socket.
 */
import type { Socket } from "zeromq";

type Sendable = { send(message: Buffer[]): Promise<void>; closed: boolean };

export class SocketWriter {
  private readonly queue: Buffer[][] = [];
  private writing = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly socket: Sendable | Socket,
    private readonly onError: (err: unknown, message: Buffer[]) => void,
  ) {}

  /** Queues one multipart message; never throws. */
  write(message: Buffer[]): void {
    this.queue.push(message);
    if (!this.writing) void this.drain();
  }

  /** Messages accepted but not yet handed to libzmq. */
  get pending(): number {
    return this.queue.length;
  }

  /** Resolves once every queued message has been handed to libzmq. */
  idle(): Promise<void> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async drain(): Promise<void> {
    this.writing = true;
    const sock = this.socket as Sendable;
    let i = 0;
    while (i < this.queue.length) {
      const msg = this.queue[i++]!;
      if (sock.closed) break;
      try {
        await sock.send(msg);
      } catch (err) {
        this.onError(err, msg);
      }
      // Compact now and then instead of shift(): shift is O(n) on long queues.
      if (i >= 1024) {
        this.queue.splice(0, i);
        i = 0;
      }
    }
    this.queue.length = 0;
    this.writing = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
