/**
 * Tasks that no worker has taken yet, first in first out. The broker never decodes them: a task is
 * its id and the opaque frames it arrived with.
 */

export interface QueuedTask {
  id: number;
  frames: Buffer[];
  /** How many workers were lost while holding this task. */
  losses: number;
  /** Names of the workers that were lost holding it, for the final error. */
  lostOn?: string[];
}

/**
 * A ring-free deque: an array consumed from a moving head, compacted when the dead prefix dominates.
 * Cancelled tasks are removed lazily (their slot becomes a hole), so cancel stays O(1).
 */
export class TaskQueue {
  private items: Array<QueuedTask | undefined> = [];
  private head = 0;
  private readonly byId = new Map<number, number>();
  private live = 0;

  get length(): number {
    return this.live;
  }

  push(task: QueuedTask): void {
    this.byId.set(task.id, this.items.length);
    this.items.push(task);
    this.live++;
  }

  /** Puts tasks back at the front, e.g. the ones a lost worker held, so they run next. */
  unshiftAll(tasks: QueuedTask[]): void {
    if (tasks.length === 0) return;
    const rest = this.items.slice(this.head).filter((t): t is QueuedTask => t !== undefined);
    this.items = [...tasks, ...rest];
    this.head = 0;
    this.byId.clear();
    this.items.forEach((t, i) => this.byId.set(t!.id, i));
    this.live = this.items.length;
  }

  /** The task {@link shift} would return, left in place. */
  peek(): QueuedTask | undefined {
    while (this.head < this.items.length && this.items[this.head] === undefined) this.head++;
    return this.items[this.head];
  }

  shift(): QueuedTask | undefined {
    while (this.head < this.items.length) {
      const t = this.items[this.head];
      this.items[this.head++] = undefined;
      if (t) {
        this.byId.delete(t.id);
        this.live--;
        this.compact();
        return t;
      }
    }
    this.compact();
    return undefined;
  }

  /** Removes a queued task; false when it is not (or no longer) queued. */
  remove(id: number): boolean {
    const at = this.byId.get(id);
    if (at === undefined) return false;
    this.byId.delete(id);
    this.items[at] = undefined;
    this.live--;
    return true;
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  private compact(): void {
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
      this.byId.clear();
      this.items.forEach((t, i) => t && this.byId.set(t.id, i));
    }
  }
}
