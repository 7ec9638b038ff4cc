/**
 * Batched matrix multiplication `[...B, M, K] @ [...B, K, N] -> [...B, M, N]` with broadcast batch
 * dimensions. The frontend (`Tensor.matmul`) handles 1-D operands and guarantees each operand's
 * batch dimensions collapse to a single stride.
 *
 * @module
 */

import type { TypedArray } from "../dtype.ts";
import { DTypeError, ShapeError } from "../errors.ts";
import { broadcastShapes, broadcastStrides, formatShape, sizeOf } from "../shape.ts";
import { matrixOffsets } from "./cpu_util.ts";
import type { CpuView, KernelOpDef, ViewMeta } from "./op_def.ts";
import type { Tensor } from "../tensor.ts";
import { type MatmulOperand, matmulProgram } from "./wgsl_matmul.ts";
import { countCpuKernel, getCpuKernels } from "../backends/cpu_kernels.ts";
import { wasmMatmul } from "../wasm/wasm_gemm.ts";
import { blasMatmul } from "../backends/blas_ffi.ts";

/**
 * Dense `C[M,N] = A[M,K] · B[K,N]` on packed operands: `a` row-major, `bt` holding B transposed
 * (`[N, K]` row-major), so the 4×4 micro-kernel reads both along K.
 */
function gemmPacked(
  a: Float64Array | Float32Array,
  bt: Float64Array | Float32Array,
  c: TypedArray,
  cOff: number,
  M: number,
  N: number,
  K: number,
): void {
  const M4 = M - (M % 4);
  const N4 = N - (N % 4);
  for (let i = 0; i < M4; i += 4) {
    const a0 = i * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
    for (let j = 0; j < N4; j += 4) {
      const b0 = j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = a[a0 + k], x1 = a[a1 + k], x2 = a[a2 + k], x3 = a[a3 + k];
        const y0 = bt[b0 + k], y1 = bt[b1 + k], y2 = bt[b2 + k], y3 = bt[b3 + k];
        c00 += x0 * y0, c01 += x0 * y1, c02 += x0 * y2, c03 += x0 * y3;
        c10 += x1 * y0, c11 += x1 * y1, c12 += x1 * y2, c13 += x1 * y3;
        c20 += x2 * y0, c21 += x2 * y1, c22 += x2 * y2, c23 += x2 * y3;
        c30 += x3 * y0, c31 += x3 * y1, c32 += x3 * y2, c33 += x3 * y3;
      }
      let o = cOff + i * N + j;
      c[o] = c00, c[o + 1] = c01, c[o + 2] = c02, c[o + 3] = c03;
      o += N;
      c[o] = c10, c[o + 1] = c11, c[o + 2] = c12, c[o + 3] = c13;
      o += N;
      c[o] = c20, c[o + 1] = c21, c[o + 2] = c22, c[o + 3] = c23;
      o += N;
      c[o] = c30, c[o + 1] = c31, c[o + 2] = c32, c[o + 3] = c33;
    }
  }
  // Ragged edges: the last M % 4 rows, and the last N % 4 columns of the other rows.
  for (let i = 0; i < M; i++) {
    for (let j = i < M4 ? N4 : 0; j < N; j++) {
      let s = 0;
      const ao = i * K, bo = j * K;
      for (let k = 0; k < K; k++) s += a[ao + k] * bt[bo + k];
      c[cOff + i * N + j] = s;
    }
  }
}

/** Copies a strided `[rows, cols]` window into a dense row-major buffer. */
function pack(
  src: TypedArray,
  dst: Float64Array | Float32Array,
  off: number,
  rows: number,
  cols: number,
  rowStride: number,
  colStride: number,
): void {
  let p = 0;
  for (let r = 0; r < rows; r++) {
    let o = off + r * rowStride;
    for (let c = 0; c < cols; c++, o += colStride) dst[p++] = src[o];
  }
}

function matmulCpu(inputs: readonly CpuView[], out: TypedArray, batch: readonly number[]): void {
  // float32 runs on a native BLAS where one loaded (--allow-ffi), else on the WebAssembly SIMD
  // kernel where it can (both accumulate in float32); the TypeScript kernel below is the
  // definition, and runs float64 and wherever those decline.
  const kernels = getCpuKernels();
  if (kernels.blas && blasMatmul(inputs, out, batch)) return countCpuKernel("blasMatmul");
  if (kernels.wasm && wasmMatmul(inputs, out, batch)) return countCpuKernel("wasmMatmul");
  countCpuKernel("tsMatmul");
  const [a, b] = inputs;
  const [M, K] = a.shape.slice(-2);
  const N = b.shape[b.shape.length - 1];
  const [ars, acs] = a.strides.slice(-2);
  const [brs, bcs] = b.strides.slice(-2);
  const aOffs = matrixOffsets(a, batch);
  const bOffs = matrixOffsets(b, batch);
  const Packed = out instanceof Float64Array ? Float64Array : Float32Array;
  const pa = new Packed(M * K);
  const pbt = new Packed(N * K);
  let lastA = -1, lastB = -1;
  for (let i = 0; i < aOffs.length; i++) {
    // Broadcast batches reuse the packed operand instead of packing it again.
    if (aOffs[i] !== lastA) pack(a.data, pa, lastA = aOffs[i], M, K, ars, acs);
    if (bOffs[i] !== lastB) pack(b.data, pbt, lastB = bOffs[i], N, K, bcs, brs);
    gemmPacked(pa, pbt, out, i * M * N, M, N, K);
  }
}

/** Splits a view's batch dimensions into one stride, or `null` when they do not collapse. */
export function collapsedBatchStride(x: ViewMeta, batch: readonly number[]): number | null {
  const lead = x.shape.slice(0, -2);
  const strides = broadcastStrides(lead, x.strides.slice(0, -2), batch);
  let stride: number | null = null;
  for (let d = batch.length - 1; d >= 0; d--) {
    if (batch[d] === 1) continue;
    if (stride === null) {
      stride = strides[d];
      continue;
    }
    const inner = batch.slice(d + 1).reduce((n, s) => n * s, 1);
    if (strides[d] !== stride * inner) return null;
  }
  return stride ?? 0;
}

function operand(x: ViewMeta, batch: readonly number[], swap: boolean): MatmulOperand {
  const n = x.strides.length;
  const stride = collapsedBatchStride(x, batch);
  if (stride === null) throw new Error("matmul operand batch dimensions do not collapse");
  const [rs, cs] = [x.strides[n - 2], x.strides[n - 1]];
  return {
    offset: x.offset,
    batchStride: stride,
    rowStride: swap ? cs : rs,
    colStride: swap ? rs : cs,
  };
}

/** Matrix product of the last two dimensions, batching over the rest with broadcasting. */
export const matmul: KernelOpDef<void> = {
  kind: "kernel",
  name: "matmul",
  infer([a, b]) {
    if (a.dtype !== b.dtype || (a.dtype !== "float32" && a.dtype !== "float64")) {
      throw new DTypeError(
        "matmul",
        `Cannot matmul tensors: expected matching float dtypes, got ${a.dtype} and ${b.dtype}`,
        [a.dtype, b.dtype],
      );
    }
    if (a.shape.length < 2 || b.shape.length < 2 || a.shape.at(-1) !== b.shape.at(-2)) {
      throw new ShapeError(
        "matmul",
        `Cannot matmul tensors: inner dimensions differ (lhs ${formatShape(a.shape)}, rhs ${
          formatShape(b.shape)
        })`,
        [a.shape, b.shape],
      );
    }
    const batch = broadcastShapes("matmul", [a.shape.slice(0, -2), b.shape.slice(0, -2)]);
    return { shape: [...batch, a.shape.at(-2)!, b.shape.at(-1)!], dtype: a.dtype };
  },
  cpu: (inputs, out, meta) => matmulCpu(inputs, out, meta.shape.slice(0, -2)),
  wgsl([a, b], meta) {
    const batch = meta.shape.slice(0, -2);
    const [m, n] = meta.shape.slice(-2);
    return matmulProgram({
      batch: sizeOf(batch),
      m,
      n,
      k: a.shape.at(-1)!,
      a: operand(a, batch, false),
      b: operand(b, batch, false),
    });
  },
  vjp: (g, _o, [a, b], _args, needs) => [
    needs[0] ? g.matmul(b.transpose(-1, -2)) : null,
    needs[1] ? gradOfRight(g, a, b) : null,
  ],
};

/**
 * `aᵀ @ g`, the gradient of the right operand, shaped for what the right operand is. A 2-D `b`
 * under a batched `a` (a weight under a batch of activations) gets one product over the flattened
 * batch instead of a batched product and a sum. A `b` read through a transpose (`x @ Wᵀ`, the
 * `Linear` layout) gets `(gᵀ @ a)ᵀ`, so that once the transpose's own gradient flips it back,
 * the weight's gradient is contiguous in the weight's layout and the optimizer's updates run on
 * dense memory.
 */
function gradOfRight(g: Tensor, a: Tensor, b: Tensor): Tensor {
  const flip = b.ndim >= 2 && b.strides[b.ndim - 2] === 1 && b.strides[b.ndim - 1] !== 1 &&
    b.shape[b.ndim - 2] > 1;
  if (b.ndim === 2 && a.ndim > 2) {
    const a2 = a.reshape([-1, a.shape[a.ndim - 1]]), g2 = g.reshape([-1, g.shape[g.ndim - 1]]);
    return flip ? g2.transpose(0, 1).matmul(a2).transpose(0, 1) : a2.transpose(0, 1).matmul(g2);
  }
  return flip ? g.transpose(-1, -2).matmul(a).transpose(-1, -2) : a.transpose(-1, -2).matmul(g);
}
