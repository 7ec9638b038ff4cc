/**
 * Float32 matmul on the WebAssembly SIMD kernel of `gemm.wat`: packs strided, possibly transposed
 * and broadcast-batched operands into the module's linear memory, runs the 4×8 register-blocked
 * kernel and copies C out. The module is compiled synchronously on first use (it is well under the
 * 4 KiB that Chromium before version 114 allowed for synchronous compilation on the main thread);
 * where WebAssembly or its 128-bit SIMD is missing, {@linkcode wasmGemmAvailable} is `false` and {@linkcode wasmMatmul}
 * declines, so callers fall back to the TypeScript reference kernel.
 *
 * With more than one thread (`setCpuThreads`, see `thread_pool.ts`) products of at least
 * {@linkcode MIN_THREADED_FLOPS} run on the shared-memory variant of the kernel, their C cut into
 * tiles that the calling thread and the workers share; every element is still computed by one
 * thread in the same order, so the result is bit-identical to one thread's.
 *
 * @module
 */

import { matrixOffsets } from "../ops/cpu_util.ts";
import type { CpuView } from "../ops/op_def.ts";
import type { TypedArray } from "../dtype.ts";
import { GEMM_WASM_BASE64 } from "./gemm_wasm.ts";
import { instantiateOnce, LinearMemoryView } from "./wasm_module.ts";
import { GEMV_MAX_ROWS, wasmGemv } from "./wasm_gemv.ts";
import { countCpuKernel, getCpuKernels } from "../backends/cpu_kernels.ts";
import { type GemmPool, gemmPool } from "./thread_pool.ts";
import type { GemmFn } from "./gemm_tasks.ts";

interface GemmExports {
  readonly memory: WebAssembly.Memory;
  readonly gemm: GemmFn;
}

/** Rows per A panel and columns per B panel of the micro-kernel. */
const MR = 4, NR = 8;
/** Default cap on the linear memory used for packed operands and C (memory never shrinks). */
const DEFAULT_WORKSPACE_BYTES = 64 << 20;
/**
 * The smallest product, in floating-point operations per matrix of the batch, that threads
 * share; smaller ones run on the calling thread, where waking the workers would cost more than
 * they save.
 */
export const MIN_THREADED_FLOPS = 2_000_000;

const load = instantiateOnce<GemmExports>(GEMM_WASM_BASE64);
const heap = new LinearMemoryView();

/**
 * Whether the WebAssembly SIMD GEMM kernel can run here (WebAssembly with 128-bit SIMD).
 *
 * @returns `true` when {@linkcode wasmMatmul} can run float32 products.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { wasmGemmAvailable } from "./wasm_gemm.ts";
 *
 * assertEquals(typeof wasmGemmAvailable(), "boolean");
 * ```
 */
export function wasmGemmAvailable(): boolean {
  return load() !== null;
}

/** A float32 view of at least `floats` elements of a kernel's memory, or `null` if it cannot grow. */
const reserve = (g: { memory: WebAssembly.Memory }, floats: number) =>
  heap.reserve(g.memory, floats);

/**
 * Packs rows `r0 .. r0+rows` of a strided `[*, K]` matrix (row stride `rs`, column stride `cs`)
 * into panels of {@linkcode MR} rows, each `[K][MR]`, zero-padding the last panel. Each step reads
 * one column of a panel, which is MR sequential streams for a row-major matrix and MR neighbours
 * for a transposed one.
 */
function packA(
  src: Float32Array,
  off: number,
  rs: number,
  cs: number,
  r0: number,
  rows: number,
  K: number,
  dst: Float32Array,
  base: number,
): void {
  let d = base;
  for (let p = 0; p < rows; p += MR) {
    const s0 = off + (r0 + p) * rs;
    const valid = Math.min(MR, rows - p);
    if (valid === MR) {
      for (let k = 0, s = s0; k < K; k++, s += cs, d += MR) {
        dst[d] = src[s];
        dst[d + 1] = src[s + rs];
        dst[d + 2] = src[s + 2 * rs];
        dst[d + 3] = src[s + 3 * rs];
      }
    } else {
      for (let k = 0, s = s0; k < K; k++, s += cs) {
        for (let r = 0; r < MR; r++) dst[d++] = r < valid ? src[s + r * rs] : 0;
      }
    }
  }
}

/**
 * Packs columns `c0 .. c0+cols` of a strided `[K, *]` matrix into panels of {@linkcode NR}
 * columns, each `[K][NR]`, zero-padding the last panel.
 */
function packB(
  src: Float32Array,
  off: number,
  rs: number,
  cs: number,
  c0: number,
  cols: number,
  K: number,
  dst: Float32Array,
  base: number,
): void {
  let d = base;
  for (let q = 0; q < cols; q += NR) {
    const s0 = off + (c0 + q) * cs;
    const valid = Math.min(NR, cols - q);
    if (valid === NR) {
      const c2 = 2 * cs, c3 = 3 * cs, c4 = 4 * cs, c5 = 5 * cs, c6 = 6 * cs, c7 = 7 * cs;
      for (let k = 0, s = s0; k < K; k++, s += rs, d += NR) {
        dst[d] = src[s];
        dst[d + 1] = src[s + cs];
        dst[d + 2] = src[s + c2];
        dst[d + 3] = src[s + c3];
        dst[d + 4] = src[s + c4];
        dst[d + 5] = src[s + c5];
        dst[d + 6] = src[s + c6];
        dst[d + 7] = src[s + c7];
      }
    } else {
      for (let k = 0, s = s0; k < K; k++, s += rs) {
        for (let c = 0; c < NR; c++) dst[d++] = c < valid ? src[s + c * cs] : 0;
      }
    }
  }
}

const roundUp = (x: number, m: number): number => Math.ceil(x / m) * m;

/** B blocks smaller than this (in floats) are packed every time: packing them is cheap. */
const REUSE_MIN_FLOATS = 1 << 16;
/**
 * The last B block packed from each source array. CPU tensor storage is written once, when the
 * op or `tensor()` that makes it runs (`assign` swaps storage rather than writing into it), so
 * panels packed from an array stay valid for as long as the array lives. A block is kept the
 * second time the same array is packed the same way — a weight read by every inference call —
 * and reused from then on; a training step, whose updated weights are new arrays, never keeps any.
 * At most {@linkcode MAX_KEPT_FLOATS} are kept; past that, blocks are packed every time.
 */
const packedBlocks = new WeakMap<Float32Array, { key: string; panels: Float32Array | null }>();
/** The most floats kept in packed panels at once (128 MiB), so serving stays within small hosts. */
const MAX_KEPT_FLOATS = 32 << 20;
let keptFloats = 0;
/** Gives back a kept block's floats when its source array is collected. */
const kept = new FinalizationRegistry<number>((floats) => keptFloats -= floats);

/** {@linkcode packB}, reusing the panels of a block packed from the same array before. */
function packBReusing(
  src: Float32Array,
  off: number,
  rs: number,
  cs: number,
  c0: number,
  cols: number,
  K: number,
  dst: Float32Array,
  base: number,
): void {
  const size = K * roundUp(cols, NR);
  if (size < REUSE_MIN_FLOATS) return packB(src, off, rs, cs, c0, cols, K, dst, base);
  const key = `${off} ${rs} ${cs} ${c0} ${cols} ${K}`;
  const held = packedBlocks.get(src);
  if (held?.key === key && held.panels !== null) {
    dst.set(held.panels, base);
    countCpuKernel("wasmPackedReuse");
    return;
  }
  packB(src, off, rs, cs, c0, cols, K, dst, base);
  if (held?.key === key) {
    if (keptFloats + size > MAX_KEPT_FLOATS) return;
    held.panels = dst.slice(base, base + size);
    keptFloats += size;
    kept.register(src, size, held);
    return;
  }
  if (held?.panels) {
    keptFloats -= held.panels.length;
    kept.unregister(held);
  }
  packedBlocks.set(src, { key, panels: null });
}

/** Options for {@linkcode wasmMatmul}. */
export interface WasmMatmulOptions {
  /**
   * Most bytes of linear memory to use for packed operands and C (default 64 MiB). Larger
   * products are computed in row and column blocks that fit; the memory never shrinks.
   */
  readonly maxWorkspaceBytes?: number;
  /**
   * The most threads to use (default `getCpuKernels().threads`); more than one runs products of
   * at least {@linkcode MIN_THREADED_FLOPS} on the worker pool where it can run.
   */
  readonly threads?: number;
}

/**
 * Batched float32 matmul `[...B, M, K] @ [...B, K, N] -> [...B, M, N]` on the WebAssembly SIMD
 * kernel, with the operands given as strided views whose batch dimensions broadcast to `batch`.
 *
 * @param inputs The two operands (any strides and offsets; batch dimensions broadcast).
 * @param out The contiguous output, `sizeOf(batch) * M * N` elements.
 * @param batch The broadcast batch shape of the output.
 * @param options Workspace limit and threads.
 * @returns `false` without touching `out` when the kernel cannot run here (no WebAssembly SIMD,
 * operands or output not float32, a K too large for the workspace, or linear memory that cannot
 * grow); `true` once `out` holds the product.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { wasmGemmAvailable, wasmMatmul } from "./wasm_gemm.ts";
 *
 * const a = { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2], strides: [2, 1], offset: 0, dtype: "float32" as const };
 * const out = new Float32Array(4);
 * if (wasmGemmAvailable()) {
 *   assertEquals(wasmMatmul([a, a], out, []), true);
 *   assertEquals(Array.from(out), [7, 10, 15, 22]);
 * }
 * ```
 */
export function wasmMatmul(
  inputs: readonly CpuView[],
  out: TypedArray,
  batch: readonly number[],
  options: WasmMatmulOptions = {},
): boolean {
  const [a, b] = inputs;
  if (
    a.dtype !== "float32" || b.dtype !== "float32" || !(a.data instanceof Float32Array) ||
    !(b.data instanceof Float32Array) || !(out instanceof Float32Array)
  ) return false;
  const g = load();
  if (g === null) return false;
  const [M, K] = a.shape.slice(-2);
  const N = b.shape[b.shape.length - 1];
  const mn = M * N;
  if (mn === 0) return true;
  if (K === 0) {
    out.fill(0);
    return true;
  }
  const budget = Math.floor((options.maxWorkspaceBytes ?? DEFAULT_WORKSPACE_BYTES) / 4);
  // One or two rows (decoding): read B in place rather than pack it.
  if (M <= GEMV_MAX_ROWS && wasmGemv(a, b, out, batch, budget)) {
    countCpuKernel("wasmGemv");
    return true;
  }
  // Blocks: all columns when B fits in half the workspace, then as many rows as fit in the rest.
  const Np = roundUp(N, NR);
  const nb = K * Np <= budget / 2 ? Np : Math.floor(budget / 2 / K / NR) * NR;
  const mb = Math.min(roundUp(M, MR), Math.floor((budget - K * nb) / (K + nb) / MR) * MR);
  if (nb < NR || mb < MR) return false;
  const [ars, acs] = a.strides.slice(-2);
  const [brs, bcs] = b.strides.slice(-2);
  const aOffs = matrixOffsets(a, batch);
  const bOffs = matrixOffsets(b, batch);
  const pa = 0, pb = mb * K, pc = pb + K * nb;
  const threads = options.threads ?? getCpuKernels().threads;
  let pool: GemmPool | null = threads > 1 && 2 * M * N * K >= MIN_THREADED_FLOPS
    ? gemmPool(threads)
    : null;
  let mem = pool === null ? null : reserve(pool.kernel, pc + mb * nb);
  if (mem === null) pool = null, mem = reserve(g, pc + mb * nb);
  if (mem === null) return false;
  // Which operand offset and block the A and B regions hold, so that broadcast batches and
  // single blocks are packed once.
  let heldA = -1, heldAi = -1, heldB = -1, heldBj = -1;
  for (let i = 0; i < aOffs.length; i++) {
    const outBase = i * mn;
    for (let j0 = 0; j0 < N; j0 += nb) {
      const nv = Math.min(nb, N - j0), np = roundUp(nv, NR);
      if (bOffs[i] !== heldB || j0 !== heldBj) {
        packBReusing(b.data, heldB = bOffs[i], brs, bcs, heldBj = j0, nv, K, mem, pb);
      }
      for (let i0 = 0; i0 < M; i0 += mb) {
        const mv = Math.min(mb, M - i0), mp = roundUp(mv, MR);
        if (aOffs[i] !== heldA || i0 !== heldAi) {
          packA(a.data, heldA = aOffs[i], ars, acs, heldAi = i0, mv, K, mem, pa);
        }
        if (pool === null) g.gemm(pa * 4, pb * 4, pc * 4, mp, np, K, np, 0);
        else pool.gemm(pa * 4, pb * 4, pc * 4, mp, np, K, np);
        copyOut(mem, pc, np, out, outBase + i0 * N + j0, N, mv, nv);
      }
    }
  }
  if (pool !== null) countCpuKernel("wasmMatmulThreaded");
  return true;
}

/** Copies the valid `rows × cols` corner of C (row stride `ldc`) into `out` (row stride `ld`). */
function copyOut(
  mem: Float32Array,
  c: number,
  ldc: number,
  out: Float32Array,
  o: number,
  ld: number,
  rows: number,
  cols: number,
): void {
  if (cols === ldc && cols === ld) {
    out.set(mem.subarray(c, c + rows * cols), o);
  } else if (cols >= 16) {
    for (let r = 0; r < rows; r++) {
      out.set(mem.subarray(c + r * ldc, c + r * ldc + cols), o + r * ld);
    }
  } else {
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < cols; j++) out[o + r * ld + j] = mem[c + r * ldc + j];
    }
  }
}
