/**
 * Switches for the CPU backend's accelerated kernels, and counters showing which kernel ran.
 *
 * The TypeScript kernels of the op table are the reference definition of every op. Where an
 * accelerated kernel exists (the WebAssembly SIMD matmul for float32) the CPU backend uses it when
 * it can and falls back to the reference otherwise; turning it off runs the reference everywhere,
 * so the two can be compared on the same inputs.
 *
 * @example Compare the WebAssembly and TypeScript matmul
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { setCpuKernels } from "./cpu_kernels.ts";
 *
 * const a = tensor([[1, 2], [3, 4]], { backend: "cpu" });
 * const fast = a.matmul(a).dataSync();
 * const previous = setCpuKernels({ wasm: false });
 * try {
 *   assertEquals(a.matmul(a).dataSync(), fast);
 * } finally {
 *   setCpuKernels(previous);
 * }
 * ```
 *
 * @module
 */

/** Which accelerated CPU kernels may run. */
export interface CpuKernelOptions {
  /** Use the WebAssembly SIMD kernels where available (default `true`). */
  readonly wasm: boolean;
  /**
   * Use a native BLAS through Deno FFI for float32 matmul where one was loaded (default `true`;
   * it only ever loads with `--allow-ffi` and a BLAS library present).
   */
  readonly blas: boolean;
  /**
   * The most threads a WebAssembly kernel may use (default `1`: the calling thread only; more
   * need Workers and `SharedArrayBuffer`, see `setCpuThreads`).
   */
  readonly threads: number;
}

/**
 * How many times each CPU kernel ran in this process, by kernel name: `wasmMatmul`, `tsMatmul`,
 * `blasMatmul`, and `wasm.<op>` (for example `wasm.add`, `wasm.gelu`, `wasm.softmax`) for every op
 * call a WebAssembly kernel served. Kernels that never ran read `0`.
 */
export interface CpuKernelCounts {
  /** Calls served by the WebAssembly SIMD matmul. */
  readonly wasmMatmul: number;
  /** Calls served by the TypeScript reference matmul. */
  readonly tsMatmul: number;
  /** Calls served by the native BLAS matmul. */
  readonly blasMatmul: number;
  /** Any other kernel. */
  readonly [kernel: string]: number;
}

let options: CpuKernelOptions = { wasm: true, blas: true, threads: 1 };
const counts: Record<string, number> = { wasmMatmul: 0, tsMatmul: 0, blasMatmul: 0 };

/**
 * Turns accelerated CPU kernels on or off for the whole process.
 *
 * @param next The options to change; omitted ones keep their value.
 * @returns The options before the change, to restore them later.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { getCpuKernels, setCpuKernels } from "./cpu_kernels.ts";
 *
 * const previous = setCpuKernels({ wasm: false });
 * assertEquals(getCpuKernels().wasm, false);
 * setCpuKernels(previous);
 * ```
 */
export function setCpuKernels(next: Partial<CpuKernelOptions>): CpuKernelOptions {
  const previous = options;
  options = { ...options, ...next };
  return previous;
}

/**
 * The current kernel options.
 *
 * @returns Which accelerated kernels may run.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { getCpuKernels } from "./cpu_kernels.ts";
 *
 * assertEquals(typeof getCpuKernels().wasm, "boolean");
 * ```
 */
export function getCpuKernels(): CpuKernelOptions {
  return options;
}

/**
 * How often each CPU kernel has run (a test's proof that the fast path was taken).
 *
 * @returns A snapshot of the counters.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { cpuKernelCounts } from "./cpu_kernels.ts";
 *
 * const matmuls = () => {
 *   const c = cpuKernelCounts();
 *   return c.blasMatmul + c.wasmMatmul + c.tsMatmul;
 * };
 * const before = matmuls();
 * tensor([[1, 2]], { backend: "cpu" }).matmul(tensor([[3], [4]], { backend: "cpu" }));
 * assertEquals(matmuls(), before + 1);
 * ```
 */
export function cpuKernelCounts(): CpuKernelCounts {
  const snapshot = { ...counts };
  return new Proxy(snapshot, {
    get: (target, key) => typeof key === "string" ? target[key] ?? 0 : undefined,
  }) as CpuKernelCounts;
}

/**
 * Records one run of a CPU kernel (called by the op table's CPU kernels).
 *
 * @param kernel The kernel that ran.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { countCpuKernel, cpuKernelCounts } from "./cpu_kernels.ts";
 *
 * const before = cpuKernelCounts().tsMatmul;
 * countCpuKernel("tsMatmul");
 * assertEquals(cpuKernelCounts().tsMatmul, before + 1);
 * ```
 */
export function countCpuKernel(kernel: string): void {
  counts[kernel] = (counts[kernel] ?? 0) + 1;
}
