/**
 * The CPU backend: typed arrays and the op table's reference kernels. It is the executable
 * definition of every op and runs wherever JavaScript runs (Deno Deploy included).
 *
 * @module
 */

import { allocArray, type DType, type TypedArray } from "../dtype.ts";
import type { CpuView, KernelOpDef, TensorMeta } from "../ops/op_def.ts";
import type { Backend, BackendView } from "./backend.ts";

const BYTES: Record<DType, number> = { float32: 4, float64: 8, float16: 2, int32: 4, bool: 1 };

/** The CPU reference backend. */
export class CpuBackend implements Backend {
  /** The backend's name. */
  readonly name = "cpu" as const;
  /**
   * Bytes per element.
   *
   * @param dtype The dtype.
   * @returns Its size on the CPU.
   */
  bytesPerElement(dtype: DType): number {
    return BYTES[dtype];
  }
  /**
   * Allocates a zeroed typed array.
   *
   * @param dtype The dtype.
   * @param length The element count.
   * @returns The array.
   */
  alloc(dtype: DType, length: number): TypedArray {
    return allocArray(dtype, length);
  }
  /**
   * Copies data in.
   *
   * @param handle The destination array.
   * @param _dtype Its dtype.
   * @param data The source values.
   */
  write(handle: unknown, _dtype: DType, data: TypedArray): void {
    (handle as TypedArray).set(data);
  }
  /**
   * Copies a range out.
   *
   * @param handle The source array.
   * @param _dtype Its dtype.
   * @param offset First element.
   * @param length Element count.
   * @returns A copy of the range.
   */
  readSync(handle: unknown, _dtype: DType, offset: number, length: number): TypedArray {
    return (handle as TypedArray).slice(offset, offset + length);
  }
  /**
   * Copies a range out.
   *
   * @param handle The source array.
   * @param dtype Its dtype.
   * @param offset First element.
   * @param length Element count.
   * @returns A copy of the range.
   */
  read(handle: unknown, dtype: DType, offset: number, length: number): Promise<TypedArray> {
    return Promise.resolve(this.readSync(handle, dtype, offset, length));
  }
  /** Typed arrays are garbage-collected; nothing to release. */
  free(): void {}
  /**
   * Runs the op's reference kernel.
   *
   * @param op The op.
   * @param inputs Input views.
   * @param out The output array.
   * @param outMeta Output shape and dtype.
   * @param args Op arguments.
   */
  run(
    op: KernelOpDef<unknown>,
    inputs: readonly BackendView[],
    out: unknown,
    outMeta: TensorMeta,
    args: unknown,
  ): void {
    const views: CpuView[] = inputs.map((v) => ({ ...v, data: v.handle as TypedArray }));
    op.cpu(views, out as TypedArray, outMeta, args);
  }
  /** CPU work is synchronous; nothing to wait for. */
  sync(): Promise<void> {
    return Promise.resolve();
  }
}
