/**
 * The backend interface: allocate, write, read, free, run, sync. Backends are plumbing; they know
 * nothing about autograd or about particular ops (they ask each op for its CPU kernel or WGSL).
 *
 * @module
 */

import type { DType, TypedArray } from "../dtype.ts";
import type { KernelOpDef, TensorMeta, ViewMeta } from "../ops/op_def.ts";

/** Names of the backends. */
export type BackendName = "cpu" | "webgpu";

/** An input as a backend sees it: a strided view over one of its buffers. */
export interface BackendView extends ViewMeta {
  /** The backend's buffer handle. */
  readonly handle: unknown;
}

/** What every backend implements. */
export interface Backend {
  /** The backend's name. */
  readonly name: BackendName;
  /** Bytes one element of `dtype` occupies on this backend. */
  bytesPerElement(dtype: DType): number;
  /**
   * Allocates room for `length` elements for op `op`; throws (naming `op`) before anything is
   * queued if it cannot.
   */
  alloc(dtype: DType, length: number, op?: string): unknown;
  /** Copies host data into a buffer. */
  write(handle: unknown, dtype: DType, data: TypedArray): void;
  /** Reads `length` elements starting at element `offset` back to the host. */
  read(handle: unknown, dtype: DType, offset: number, length: number): Promise<TypedArray>;
  /** Reads synchronously, when the backend can (the CPU backend). */
  readSync?(handle: unknown, dtype: DType, offset: number, length: number): TypedArray;
  /** Releases a buffer. */
  free(handle: unknown): void;
  /** Runs a kernel writing a fresh, dense `out`. */
  run(
    op: KernelOpDef<unknown>,
    inputs: readonly BackendView[],
    out: unknown,
    outMeta: TensorMeta,
    args: unknown,
  ): void;
  /** Waits for all queued work. */
  sync(): Promise<void>;
}
