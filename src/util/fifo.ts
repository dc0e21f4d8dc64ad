/**
 * A first-in first-out queue with O(1) push and shift: an array consumed from a moving head and
 * compacted once the consumed prefix dominates (Array#shift is O(n) on long queues).
 */
export class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Removes and returns every item past the first `keep`, oldest first. */
  drainFrom(keep: number): T[] {
    const start = this.head + keep;
    if (start >= this.items.length) return [];
    const out = this.items.slice(start) as T[];
    this.items.length = start;
    return out;
  }
}
