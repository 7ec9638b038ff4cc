/**
 * Float32 products of one or two rows, `[..., M ≤ 2, K] @ [..., K, N]`, on the matrix-vector
 * kernels of `gemv.wat`, which read B as it lies instead of packing it: in token-by-token
 * decoding, packing a weight (and padding the one row to the GEMM kernel's four) costs more than
 * the product. B is copied into linear memory in column blocks that fit the workspace, one
 * contiguous run per row of B (row-major B) or per row of W (B = Wᵀ, a `Linear` weight read in
 * place).
 *
 * @module
 */

import { matrixOffsets } from "../ops/cpu_util.ts";
import type { CpuView } from "../ops/op_def.ts";
import { GEMV_WASM_BASE64 } from "./gemv_wasm.ts";
import { instantiateOnce, LinearMemoryView } from "./wasm_module.ts";

interface GemvExports {
  readonly memory: WebAssembly.Memory;
  gemvRows(a: number, b: number, ldb: number, c: number, n: number, k: number): void;
  gemvCols(a: number, w: number, ldw: number, c: number, n: number, k: number): void;
}

/** The most rows of A this path takes; larger products pack B for the GEMM kernel. */
export const GEMV_MAX_ROWS = 2;

const load = instantiateOnce<GemvExports>(GEMV_WASM_BASE64);
const heap = new LinearMemoryView();

/**
 * `out = a @ b` for float32 `a` of at most {@linkcode GEMV_MAX_ROWS} rows and a `b` whose rows or
 * columns are contiguous, batch dimensions broadcast to `batch`.
 *
 * @param a The left operand `[..., M, K]`, any strides.
 * @param b The right operand `[..., K, N]`, with unit column stride or unit row stride.
 * @param out The contiguous output, `sizeOf(batch)·M·N` elements.
 * @param batch The broadcast batch shape.
 * @param budget The most floats of linear memory to use (B's column block, one row of A and of C).
 * @returns `false`, having written nothing, when the kernel cannot run (no WebAssembly SIMD, more
 * rows, other strides, K = 0, or a workspace too small for one column).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { wasmGemv } from "./wasm_gemv.ts";
 *
 * const a = { data: new Float32Array([1, 2]), shape: [1, 2], strides: [2, 1], offset: 0, dtype: "float32" as const };
 * const b = { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3], strides: [3, 1], offset: 0, dtype: "float32" as const };
 * const out = new Float32Array(3);
 * if (wasmGemv(a, b, out, [], 1 << 20)) assertEquals(Array.from(out), [9, 12, 15]);
 * ```
 */
export function wasmGemv(
  a: CpuView,
  b: CpuView,
  out: Float32Array,
  batch: readonly number[],
  budget: number,
): boolean {
  const [M, K] = a.shape.slice(-2);
  const N = b.shape[b.shape.length - 1];
  const [ars, acs] = a.strides.slice(-2);
  const [brs, bcs] = b.strides.slice(-2);
  const rowsLayout = bcs === 1, colsLayout = !rowsLayout && brs === 1;
  if (M > GEMV_MAX_ROWS || K === 0 || (!rowsLayout && !colsLayout)) return false;
  const k = load();
  if (k === null) return false;
  // Column blocks of B that fit beside one row of A and one of C.
  const nb = Math.min(N, Math.floor((budget - K) / (K + 1)));
  if (nb < 1) return false;
  const pa = 0, pc = (K + 3) & ~3, pb = (pc + nb + 3) & ~3;
  const mem = heap.reserve(k.memory, pb + K * nb);
  if (mem === null) return false;
  const src = b.data as Float32Array, aData = a.data as Float32Array;
  const aOffs = matrixOffsets(a, batch), bOffs = matrixOffsets(b, batch);
  let heldB = -1, heldJ = -1;
  for (let i = 0; i < aOffs.length; i++) {
    for (let j0 = 0; j0 < N; j0 += nb) {
      const n = Math.min(nb, N - j0);
      if (bOffs[i] !== heldB || j0 !== heldJ) {
        heldB = bOffs[i], heldJ = j0;
        if (rowsLayout) {
          // [K, n], row r of the block from row r of B
          for (let r = 0, from = heldB + j0; r < K; r++, from += brs) {
            mem.set(src.subarray(from, from + n), pb + r * n);
          }
        } else if (bcs === K) {
          mem.set(src.subarray(heldB + j0 * K, heldB + (j0 + n) * K), pb);
        } else {
          // [n, K], row j of the block from column j0 + j of B
          for (let j = 0, from = heldB + j0 * bcs; j < n; j++, from += bcs) {
            mem.set(src.subarray(from, from + K), pb + j * K);
          }
        }
      }
      for (let r = 0; r < M; r++) {
        const row = aOffs[i] + r * ars;
        if (acs === 1) mem.set(aData.subarray(row, row + K), pa);
        else for (let q = 0; q < K; q++) mem[pa + q] = aData[row + q * acs];
        if (rowsLayout) k.gemvRows(pa * 4, pb * 4, n, pc * 4, n, K);
        else k.gemvCols(pa * 4, pb * 4, K, pc * 4, n, K);
        out.set(mem.subarray(pc, pc + n), (i * M + r) * N + j0);
      }
    }
  }
  return true;
}
