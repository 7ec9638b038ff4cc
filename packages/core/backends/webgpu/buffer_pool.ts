/**
 * A size-bucketed pool of GPU buffers. Buffers freed while commands that use them are still being
 * recorded wait in `pending` until the next submit, so a later `queue.writeBuffer` into a reused
 * buffer can never overtake a command recorded earlier.
 *
 * @module
 */

/** Rounds a byte size up to its pool bucket (at least 16 bytes, so vec4 bindings are legal). */
export function bucketSize(bytes: number): number {
  if (bytes <= 256) return Math.max(16, Math.ceil(bytes / 16) * 16);
  if (bytes <= 65536) return Math.ceil(bytes / 256) * 256;
  // Eight buckets per power of two keep waste under 12.5%.
  const step = 2 ** Math.floor(Math.log2(bytes)) / 8;
  return Math.ceil(bytes / step) * step;
}

/** Pool of buffers with one usage set. */
export class BufferPool {
  #device: GPUDevice;
  #usage: number;
  #free = new Map<number, GPUBuffer[]>();
  #pending: GPUBuffer[] = [];
  #pooledBytes = 0;
  #maxPooledBytes: number;

  /**
   * Creates a pool.
   *
   * @param device The device.
   * @param usage Usage flags of every buffer.
   * @param maxPooledBytes Bytes kept for reuse before freed buffers are destroyed.
   */
  constructor(device: GPUDevice, usage: number, maxPooledBytes = 512 * 2 ** 20) {
    this.#device = device;
    this.#usage = usage;
    this.#maxPooledBytes = maxPooledBytes;
  }

  /**
   * Takes a buffer of at least `bytes` bytes.
   *
   * @param bytes Requested size.
   * @returns A buffer (its contents are undefined).
   */
  acquire(bytes: number): GPUBuffer {
    const size = bucketSize(bytes);
    const list = this.#free.get(size);
    const hit = list?.pop();
    if (hit) {
      this.#pooledBytes -= size;
      return hit;
    }
    return this.#device.createBuffer({ size, usage: this.#usage });
  }

  /**
   * Returns a buffer; it becomes reusable after the next {@linkcode BufferPool.submitted}.
   *
   * @param buffer The buffer.
   */
  release(buffer: GPUBuffer): void {
    this.#pending.push(buffer);
  }

  /** Makes buffers released before the submit that just happened available again. */
  submitted(): void {
    for (const b of this.#pending) {
      if (this.#pooledBytes + b.size > this.#maxPooledBytes) {
        b.destroy();
        continue;
      }
      const list = this.#free.get(b.size) ?? [];
      list.push(b);
      this.#free.set(b.size, list);
      this.#pooledBytes += b.size;
    }
    this.#pending = [];
  }

  /** Destroys every pooled buffer. */
  clear(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    this.#free.clear();
    this.#pooledBytes = 0;
  }
}
