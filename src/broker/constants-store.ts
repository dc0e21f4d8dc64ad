/**
 * Shared constants as the broker holds them: write-once, opaque encoded values, plus the workers
 * waiting for a name that has not been set yet.
 */
export interface ConstEntry {
  frame: Buffer;
  owner: string;
}

export class ConstantsStore {
  private readonly values = new Map<string, ConstEntry>();
  private readonly waiters = new Map<string, Set<string>>();

  get size(): number {
    return this.values.size;
  }

  get(name: string): ConstEntry | undefined {
    return this.values.get(name);
  }

  /** The first name of `names` that is already defined, if any: definitions are all-or-nothing. */
  conflict(names: string[]): { name: string; owner: string } | undefined {
    const seen = new Set<string>();
    for (const n of names) {
      const e = this.values.get(n);
      if (e) return { name: n, owner: e.owner };
      if (seen.has(n)) return { name: n, owner: "the same call" };
      seen.add(n);
    }
    return undefined;
  }

  /** Stores the values and returns the worker keys that were waiting for any of them. */
  set(names: string[], frames: Buffer[], owner: string): Set<string> {
    const wake = new Set<string>();
    names.forEach((n, i) => {
      this.values.set(n, { frame: frames[i]!, owner });
      const w = this.waiters.get(n);
      if (w) {
        for (const k of w) wake.add(k);
        this.waiters.delete(n);
      }
    });
    return wake;
  }

  wait(name: string, workerKey: string): void {
    let s = this.waiters.get(name);
    if (!s) this.waiters.set(name, (s = new Set()));
    s.add(workerKey);
  }

  entries(): IterableIterator<[string, ConstEntry]> {
    return this.values.entries();
  }
}
