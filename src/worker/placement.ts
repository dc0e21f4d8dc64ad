/**
 * Where a task that carries binary data should run: on the worker that submitted it (the data is
 * already there) or on another one (the data has to cross the broker first). Pure rules, so the
 * runtime's choices can be checked without a pool.
 */

/**
 * Assumed speed of moving a task's binary data to another worker through the broker (two hops),
 * in bytes per ms, until shipped tasks have been timed ({@link TransferCost}): about 1 GB/s,
 * loopback or a 10 GbE link. Like Dask's default bandwidth, it only has to rank "run it here after
 * the backlog" against "ship it".
 */
export const TRANSFER_BYTES_PER_MS = 1024 * 1024;

/**
 * Whether a task with `bytes` of binary data starts sooner here, after `ahead` tasks of about
 * `typicalMs` each, than on another worker once it and the `shippedBytes` already on their way
 * have crossed.
 */
export function startsSoonerHere(
  ahead: number,
  typicalMs: number,
  shippedBytes: number,
  bytes: number,
  msPerByte = 1 / TRANSFER_BYTES_PER_MS,
): boolean {
  return ahead * typicalMs <= (shippedBytes + bytes) * msPerByte;
}

/**
 * What shipping data has really cost this worker: from each shipped task's round trip (sent to
 * result, less a typical task's run), a moving average of ms per byte, starting from the assumed
 * {@link TRANSFER_BYTES_PER_MS}. On a machine whose cores are all busy a shipped task comes back
 * far later than the bytes alone take, and then cheap tasks are better kept.
 */
export class TransferCost {
  private perByte = 1 / TRANSFER_BYTES_PER_MS;

  get msPerByte(): number {
    return this.perByte;
  }

  observe(bytes: number, roundTripMs: number, typicalMs: number): void {
    if (bytes <= 0) return;
    const sample = Math.max(0, roundTripMs - typicalMs) / bytes;
    this.perByte = this.perByte * 0.7 + sample * 0.3;
  }
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
  typicalMs: (task: T) => number,
  shippedBytes: number,
  msPerByte = 1 / TRANSFER_BYTES_PER_MS,
): { ship: T[]; stay: T[] } {
  const ship: T[] = [];
  const stay: T[] = [];
  let ahead = keep;
  let shipped = shippedBytes;
  for (const t of backlog) {
    if (t.frames.length > 1) {
      const bytes = binaryBytes(t.frames);
      if (startsSoonerHere(ahead, typicalMs(t), shipped, bytes, msPerByte)) {
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
