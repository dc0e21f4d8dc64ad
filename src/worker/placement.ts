/**
 * Where a task that carries binary data should run: on the worker that submitted it (the data is
 * already there) or on another one (the data has to cross the broker first). Pure rules, so the
 * runtime's choices can be checked without a pool.
 */

/**
 * Assumed speed of moving a task's binary data to another worker through the broker (two hops),
 * in bytes per ms: about 1 GB/s, loopback or a 10 GbE link. Like Dask's default bandwidth, it only
 * has to rank "run it here after the backlog" against "ship it": a wrong guess is corrected by
 * idle workers asking for the backlog.
 */
export const TRANSFER_BYTES_PER_MS = 1024 * 1024;

/**
 * Whether a task with `bytes` of binary data starts sooner here, after `ahead` tasks of about
 * `typicalMs` each, than on another worker once it and the `shippedBytes` already on their way
 * have crossed.
 */
export function startsSoonerHere(ahead: number, typicalMs: number, shippedBytes: number, bytes: number): boolean {
  return ahead * typicalMs <= (shippedBytes + bytes) / TRANSFER_BYTES_PER_MS;
}

/** Bytes of the out-of-band binary frames of an encoded task (every frame but the first). */
export function binaryBytes(frames: Buffer[]): number {
  let n = 0;
  for (let i = 1; i < frames.length; i++) n += frames[i]!.length;
  return n;
}

/**
 * Splits the backlog past the `keep` tasks a worker keeps when another is idle: tasks without
 * binary data are all handed over; one with binary data stays when it would start here before
 * its data reached another worker.
 */
export function splitBacklog<T extends { frames: Buffer[] }>(
  backlog: T[],
  keep: number,
  typicalMs: number,
  shippedBytes: number,
): { ship: T[]; stay: T[] } {
  const ship: T[] = [];
  const stay: T[] = [];
  let ahead = keep;
  let shipped = shippedBytes;
  for (const t of backlog) {
    if (t.frames.length > 1) {
      const bytes = binaryBytes(t.frames);
      if (startsSoonerHere(ahead, typicalMs, shipped, bytes)) {
        stay.push(t);
        ahead++;
        continue;
      }
      shipped += bytes;
    }
    ship.push(t);
  }
  return { ship, stay };
}
