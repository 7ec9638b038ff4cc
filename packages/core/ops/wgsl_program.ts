/**
 * The contract between an op's WGSL generator and the WebGPU backend.
 *
 * A program binds, in this order: every input storage buffer (read-only, binding `0..n-1`), the
 * output storage buffer (read-write, binding `n`), a uniform buffer holding {@linkcode WgslProgram.uniforms}
 * (binding `n + 1`) and, when {@linkcode WgslProgram.reportsErrors} is set, the backend's error
 * buffer (`array<atomic<u32>, 4>`, binding `n + 2`). Offsets and strides are in elements and travel
 * in the uniforms. Every storage buffer is a multiple of 16 bytes long, so it may be bound as
 * `array<vec4<f32>>`; bytes past the tensor's logical end are undefined.
 *
 * @module
 */

/** A compute program ready for dispatch. */
export interface WgslProgram {
  /** Pipeline cache key: equal keys must mean equal WGSL source. */
  readonly key: string;
  /** Builds the WGSL source; called only on a pipeline-cache miss. */
  readonly code: () => string;
  /** Workgroup counts in x, y and z (each at most 65535). */
  readonly workgroups: readonly [number, number, number];
  /** Uniform words bound at binding `inputs + 1`; kernels bitcast them as needed. */
  readonly uniforms: Uint32Array;
  /** Whether the kernel reports bad index values through the backend's error buffer. */
  readonly reportsErrors?: boolean;
}

/** Largest workgroup count the WebGPU spec guarantees in one dimension. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/**
 * Splits a 1-D count of workgroups over x and y so each stays within the per-dimension limit.
 *
 * Kernels recover the flat index as `wid.x + wid.y * nwg.x` (with `nwg` the
 * `num_workgroups` builtin) and must bounds-check it.
 *
 * @param count The number of workgroups needed.
 * @returns The `[x, y, 1]` grid.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { splitWorkgroups } from "./wgsl_program.ts";
 *
 * assertEquals(splitWorkgroups(10), [10, 1, 1]);
 * assertEquals(splitWorkgroups(70000), [35000, 2, 1]);
 * ```
 */
export function splitWorkgroups(count: number): [number, number, number] {
  if (count <= MAX_WORKGROUPS_PER_DIM) return [Math.max(count, 1), 1, 1];
  const y = Math.ceil(count / MAX_WORKGROUPS_PER_DIM);
  return [Math.ceil(count / y), y, 1];
}
