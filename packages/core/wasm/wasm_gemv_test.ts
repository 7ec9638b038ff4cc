// The matrix-vector kernels against the float64 TypeScript reference: one and two rows, B's rows
// contiguous (row-major, windows of wider matrices) or its columns contiguous (Wᵀ read in place,
// dense or padded), offsets, broadcast batches, column blocks smaller than N, and the path taken
// through matmul. float32 accumulation is compared against the dot product's own scale Σ|a·b|,
// as in wasm_gemm_test.ts; integer inputs must agree exactly.
import { assert, assertEquals } from "@std/assert";
import { tensor } from "../creation.ts";
import { testRng } from "../_testing/backends.ts";
import { cpuKernelCounts, setCpuKernels } from "../backends/cpu_kernels.ts";
import type { CpuView } from "../ops/op_def.ts";
import { wasmGemv } from "./wasm_gemv.ts";

/** A float32 view of logical shape [rows, cols] stored with row stride `rs`, column stride `cs`. */
function view(
  rows: number,
  cols: number,
  rs: number,
  cs: number,
  offset: number,
  next: () => number,
): CpuView {
  const data = new Float32Array(offset + (rows - 1) * rs + (cols - 1) * cs + 1).fill(NaN);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) data[offset + r * rs + c * cs] = next();
  }
  return { data, shape: [rows, cols], strides: [rs, cs], offset, dtype: "float32" };
}

const get = (v: CpuView, r: number, c: number) =>
  v.data[v.offset + r * v.strides[0] + c * v.strides[1]];

function check(a: CpuView, b: CpuView, budget: number, exact: boolean, label: string): void {
  const [M, K] = a.shape, N = b.shape[1];
  const out = new Float32Array(M * N);
  assert(wasmGemv(a, b, out, [], budget), `${label}: declined`);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0, scale = 0;
      for (let k = 0; k < K; k++) {
        s += get(a, i, k) * get(b, k, j), scale += Math.abs(get(a, i, k) * get(b, k, j));
      }
      const got = out[i * N + j];
      if (exact) assertEquals(got, Math.fround(s), `${label} [${i}, ${j}]`);
      else {assert(
          Math.abs(got - s) <= 1e-5 * scale + 1e-30,
          `${label} [${i}, ${j}]: ${got} vs ${s}`,
        );}
    }
  }
}

Deno.test("wasmGemv matches the reference for row-major and transposed B, offsets and blocks", () => {
  const next = testRng(5);
  const u = () => next() * 2 - 1, int = () => Math.floor(next() * 7) - 3;
  for (const M of [1, 2]) {
    for (const K of [1, 3, 8, 9, 300]) {
      for (const N of [1, 5, 257]) {
        for (const budget of [1 << 20, K + 3 * (K + 1)]) { // all columns, or blocks of 3
          const a = view(M, K, K + 2, 1, 1, u);
          check(a, view(K, N, N + 3, 1, 2, u), budget, false, `rows M${M} K${K} N${N} b${budget}`);
          check(
            a,
            view(K, N, 1, K, 0, u),
            budget,
            false,
            `cols dense M${M} K${K} N${N} b${budget}`,
          );
          check(a, view(K, N, 1, K + 1, 4, u), budget, false, `cols padded M${M} K${K} N${N}`);
          const ai = view(M, K, 1, M, 0, int); // a transposed A
          check(ai, view(K, N, N, 1, 0, int), budget, true, `int M${M} K${K} N${N}`);
        }
      }
    }
  }
});

Deno.test("wasmGemv declines more rows, other strides, K = 0 and a too small workspace", () => {
  const u = () => 1;
  const out = new Float32Array(64);
  assertEquals(wasmGemv(view(3, 4, 4, 1, 0, u), view(4, 2, 2, 1, 0, u), out, [], 1 << 20), false);
  assertEquals(wasmGemv(view(1, 4, 4, 1, 0, u), view(4, 2, 4, 2, 0, u), out, [], 1 << 20), false);
  assertEquals(wasmGemv(view(1, 4, 4, 1, 0, u), view(4, 2, 2, 1, 0, u), out, [], 5), false);
  assertEquals(out.every((v) => v === 0), true);
});

Deno.test("one-row float32 matmul (decoding) takes the matrix-vector kernel, batched too", () => {
  const next = testRng(8);
  const x = tensor(Float32Array.from({ length: 2 * 64 }, () => next()), {
    shape: [2, 1, 64],
    backend: "cpu",
  });
  const w = tensor(Float32Array.from({ length: 96 * 64 }, () => next()), {
    shape: [96, 64],
    backend: "cpu",
  });
  const previous = setCpuKernels({ blas: false, wasm: true });
  try {
    const before = cpuKernelCounts().wasmGemv;
    const fast = x.matmul(w.transpose(0, 1)).dataSync();
    assertEquals(cpuKernelCounts().wasmGemv, before + 1);
    setCpuKernels({ wasm: false });
    const ref = x.matmul(w.transpose(0, 1)).dataSync();
    for (let i = 0; i < ref.length; i++) assert(Math.abs(fast[i] - ref[i]) <= 1e-5 * 64, `${i}`);
  } finally {
    setCpuKernels(previous);
  }
});
