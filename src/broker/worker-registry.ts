/**
 * The workers a broker knows: who they are (handshake facts), where to reach them (ZeroMQ routing id),
 * how many tasks they asked for (credit) and which tasks they hold.
 */
import type { HelloInfo } from "../protocol/messages.js";
import type { QueuedTask } from "./task-queue.js";

export interface WorkerEntry {
  /** ZeroMQ routing id of the worker's DEALER, as the ROUTER hands it to us. */
  routingId: Buffer;
  key: string;
  index: number;
  hello: HelloInfo;
  /** Tasks the worker asked for and has not been given yet. */
  credit: number;
  /** Tasks given to the worker whose result has not come back. */
  held: Map<number, QueuedTask>;
  tasksDone: number;
  lastSeen: number;
  /** The worker said it has nothing to run (and has credit): new work should go to it. */
  idle: boolean;
  /** A RELEASE was sent to it and its RETURNED answer has not come yet. */
  releasing: boolean;
}

export class WorkerRegistry {
  private readonly byKey = new Map<string, WorkerEntry>();
  private readonly byName = new Map<string, WorkerEntry>();
  private readonly byIndex = new Map<number, WorkerEntry>();
  private nextIndex = 1;
  /** Workers with credit > 0, in the order they asked: the dispatch round-robin. */
  readonly hungry = new Set<WorkerEntry>();
  /** Workers with nothing to run and credit left. */
  readonly idle = new Set<WorkerEntry>();

  static keyOf(routingId: Buffer): string {
    return routingId.toString("latin1");
  }

  get(routingId: Buffer): WorkerEntry | undefined {
    return this.byKey.get(WorkerRegistry.keyOf(routingId));
  }

  byWorkerName(name: string): WorkerEntry | undefined {
    return this.byName.get(name);
  }

  byWorkerIndex(index: number): WorkerEntry | undefined {
    return this.byIndex.get(index);
  }

  add(routingId: Buffer, hello: HelloInfo, now: number): WorkerEntry {
    const entry: WorkerEntry = {
      routingId: Buffer.from(routingId),
      key: WorkerRegistry.keyOf(routingId),
      index: this.nextIndex++,
      hello,
      credit: 0,
      held: new Map(),
      tasksDone: 0,
      lastSeen: now,
      idle: false,
      releasing: false,
    };
    this.byKey.set(entry.key, entry);
    this.byName.set(hello.name, entry);
    this.byIndex.set(entry.index, entry);
    return entry;
  }

  remove(entry: WorkerEntry): void {
    this.byKey.delete(entry.key);
    this.byName.delete(entry.hello.name);
    this.byIndex.delete(entry.index);
    this.hungry.delete(entry);
    this.idle.delete(entry);
  }

  all(): IterableIterator<WorkerEntry> {
    return this.byKey.values();
  }

  /** Workers that execute tasks (submit-only clients excluded): the pool's size. */
  executors(): WorkerEntry[] {
    return [...this.byKey.values()].filter((w) => w.hello.executes);
  }
}
