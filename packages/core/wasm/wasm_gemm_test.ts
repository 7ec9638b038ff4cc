// The WebAssembly SIMD matmul against the TypeScript reference kernel run in float64, over ragged
// shapes, transposed and offset operands, broadcast batches, K blocking and workspace blocking.
//
// The WASM kernel accumulates in float32 (as XNNPACK and our WGSL kernel do) where the TypeScript
// kernel accumulates float32 products in float64 and rounds once. An element that cancels to
// nearly zero therefore carries an error of the order of float32 rounding of the partial sums, not
// of itself, so "1e-5 relative" is measured against the dot product's own scale Σₖ |aᵢₖ·bₖⱼ|
// (the quantity float32 summation error is proportional to). Integer-valued inputs sum exactly in
// float32, so there the two kernels must agree bit for bit.
import { assert, assertEquals } from "@std/assert";
import type { TypedArray } from "../dtype.ts";
import { sizeOf } from "../shape.ts";
import { matmul } from "../ops/matmul.ts";
import type { CpuView } from "../ops/op_def.ts";
import { testRng } from "../_testing/backends.ts";
import { tensor } from "../creation.ts";
import { cpuKernelCounts, setCpuKernels } from "../backends/cpu_kernels.ts";
import {
  MIN_THREADED_FLOPS,
  wasmGemmAvailable,
  wasmMatmul,
  type WasmMatmulOptions,
} from "./wasm_gemm.ts";
import { cpuThreadsSupported, setCpuThreads, shutdownCpuThreads } from "./thread_pool.ts";

interface Layout {
  /** Store as the transpose of the logical matrix (the view reads it with swapped strides). */
  transposed?: boolean;
  /** Elements before the first one (a view into a larger buffer). */
  offset?: number;
  /** Extra elements at the end of every stored row (a window of a wider matrix). */
  pad?: number;
  /** Batch strides to use instead of the dense ones (0 for an expanded dimension). */
  batchStrides?: number[];
}

/**
 * A float32 view of logical shape `[...batch, r, c]` laid out as `layout` says, with every element
 * of the buffer outside the view set to NaN (so reading one shows in the result).
 */
function makeView(
  shape: number[],
  layout: Layout,
  next: () => number,
): CpuView & { data: Float32Array } {
  const { transposed = false, offset = 0, pad = 0 } = layout;
  const [r, c] = shape.slice(-2);
  const lead = shape.slice(0, -2);
  const [rs, cs] = transposed ? [1, r + pad] : [c + pad, 1];
  const matrix = transposed ? c * (r + pad) : r * (c + pad);
  const dense: number[] = [];
  for (let d = lead.length - 1, s = matrix; d >= 0; d--) dense[d] = s, s *= lead[d];
  const strides = [...(layout.batchStrides ?? dense), rs, cs];
  const span = lead.reduce((n, s, d) => n + (s - 1) * strides[d], 0) + matrix;
  const data = new Float32Array(offset + span).fill(NaN);
  const idx = new Array(shape.length).fill(0);
  for (let e = 0; e < sizeOf(shape); e++) {
    data[idx.reduce((o, i, d) => o + i * strides[d], offset)] = next();
    for (let d = shape.length - 1; d >= 0 && ++idx[d] === shape[d]; d--) idx[d] = 0;
  }
  return { data, shape, strides, offset, dtype: "float32" };
}

const f64 = (v: CpuView): CpuView => ({ ...v, data: Float64Array.from(v.data), dtype: "float64" });
const abs = (v: CpuView): CpuView => ({ ...v, data: v.data.map(Math.abs) });

/** The reference: the op table's TypeScript CPU kernel in float64. */
function reference(a: CpuView, b: CpuView, batch: number[]): Float64Array {
  const [m, n] = [a.shape.at(-2)!, b.shape.at(-1)!];
  const out = new Float64Array(sizeOf(batch) * m * n);
  matmul.cpu([a, b], out, { shape: [...batch, m, n], dtype: "float64" }, undefined);
  return out;
}

function runWasm(
  a: CpuView,
  b: CpuView,
  batch: number[],
  options?: WasmMatmulOptions,
): Float32Array {
  const out = new Float32Array(sizeOf(batch) * a.shape.at(-2)! * b.shape.at(-1)!);
  assert(wasmMatmul([a, b], out, batch, options), "wasmMatmul declined");
  return out;
}

/** Asserts `|got - ref| <= 1e-5 · Σₖ|aᵢₖ bₖⱼ|` elementwise (plus 1e-30 for all-zero rows). */
function assertGemmClose(a: CpuView, b: CpuView, batch: number[], label: string): void {
  const got = runWasm(a, b, batch);
  const want = reference(f64(a), f64(b), batch);
  const scale = reference(abs(f64(a)), abs(f64(b)), batch);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= 1e-5 * scale[i] + 1e-30)) {
      throw new Error(
        `${label}: element ${i} is ${got[i]}, expected ${want[i]} (scale ${scale[i]})`,
      );
    }
  }
}

const SIZES = [1, 3, 5, 17, 33, 64, 127, 130];

Deno.test("wasmGemmAvailable() is true where WebAssembly has 128-bit SIMD (Deno)", () => {
  assert(wasmGemmAvailable());
});

Deno.test("wasmMatmul matches the float64 TypeScript kernel over ragged M, N, K", () => {
  const next = testRng(1);
  const u = () => next() * 2 - 1;
  for (const m of SIZES) {
    for (const n of SIZES) {
      for (const k of SIZES) {
        const a = makeView([m, k], {}, u), b = makeView([k, n], {}, u);
        assertGemmClose(a, b, [], `${m}x${k} @ ${k}x${n}`);
      }
    }
  }
});

Deno.test("wasmMatmul equals the TypeScript kernel exactly on integer inputs", () => {
  const next = testRng(2);
  const int = () => Math.floor(next() * 7) - 3;
  for (const m of SIZES) {
    for (const k of [1, 5, 33, 130]) {
      for (const n of SIZES) {
        const a = makeView([m, k], { transposed: m % 2 === 1 }, int);
        const b = makeView([k, n], { transposed: n % 2 === 0, pad: 1 }, int);
        const want = Float32Array.from(reference(f64(a), f64(b), []));
        assertEquals(runWasm(a, b, []), want, `${m}x${k} @ ${k}x${n}`);
      }
    }
  }
});

Deno.test("a weight packed twice is reused from then on, for the same array and layout only", () => {
  const next = testRng(9);
  const int = () => Math.floor(next() * 7) - 3;
  // [64, 256] @ [256, 512]ᵀ-style: B = Wᵀ read in place, 131,072 floats (over the reuse floor).
  const x = makeView([64, 256], {}, int), w = makeView([256, 512], { transposed: true }, int);
  const want = Float32Array.from(reference(f64(x), f64(w), []));
  const reused = () => cpuKernelCounts().wasmPackedReuse;
  const before = reused();
  for (let call = 0; call < 4; call++) assertEquals(runWasm(x, w, []), want, `call ${call}`);
  assertEquals(reused() - before, 2, "calls 3 and 4 reuse the panels kept by call 2");
  // Another layout of the same array (a window of it) is packed anew, and gives its own product.
  const window = { ...w, shape: [256, 256] };
  assertEquals(runWasm(x, window, []), Float32Array.from(reference(f64(x), f64(window), [])));
  assertEquals(reused() - before, 2);
  // Through tensors: a Linear-style weight updated with assign() is a new array, never stale.
  const weight = tensor(Float32Array.from({ length: 512 * 256 }, int), {
    shape: [512, 256],
    backend: "cpu",
  });
  const input = tensor(Float32Array.from({ length: 8 * 256 }, int), {
    shape: [8, 256],
    backend: "cpu",
  });
  const previous = setCpuKernels({ wasm: true, blas: false });
  try {
    for (let call = 0; call < 3; call++) input.matmul(weight.transpose(0, 1)).dispose();
    weight.assign(weight.mul(2));
    const doubled = input.matmul(weight.transpose(0, 1)).dataSync();
    setCpuKernels({ wasm: false });
    assertEquals(doubled, input.matmul(weight.transpose(0, 1)).dataSync());
  } finally {
    setCpuKernels(previous);
  }
});

Deno.test("wasmMatmul reads transposed, offset and padded operands", () => {
  const next = testRng(3);
  const u = () => next() * 2 - 1;
  for (const [m, k, n] of [[17, 33, 5], [64, 130, 127], [1, 64, 130], [130, 1, 3]]) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const a = makeView([m, k], { transposed: ta, offset: 7, pad: 2 }, u);
        const b = makeView([k, n], { transposed: tb, offset: 3, pad: 5 }, u);
        assertGemmClose(a, b, [], `${m}x${k}${ta ? "ᵀ" : ""} @ ${k}x${n}${tb ? "ᵀ" : ""}`);
      }
    }
  }
});

Deno.test("wasmMatmul broadcasts batch dimensions", () => {
  const next = testRng(4);
  const u = () => next() * 2 - 1;
  // [2, 1, 17, 33] @ [3, 33, 5] -> [2, 3, 17, 5]
  const a = makeView([2, 1, 17, 33], { transposed: true, offset: 1 }, u);
  const b = makeView([3, 33, 5], { offset: 2 }, u);
  assertGemmClose(a, b, [2, 3], "broadcast batch");
  // An expanded (stride-0) lhs batch against a batched transposed rhs.
  const e = makeView([4, 5, 64], { batchStrides: [0] }, u);
  const w = makeView([4, 64, 130], { transposed: true }, u);
  assertGemmClose(e, w, [4], "expanded lhs");
  // A shared rhs (a weight) broadcast across the lhs batch.
  const x = makeView([3, 2, 127, 64], {}, u);
  const y = makeView([64, 33], { pad: 3 }, u);
  assertGemmClose(x, y, [3, 2], "shared rhs");
});

Deno.test("wasmMatmul blocks K by 256 inside the kernel", () => {
  const next = testRng(5);
  const u = () => next() * 2 - 1;
  for (const k of [255, 256, 257, 600, 1030]) {
    const a = makeView([9, k], {}, u), b = makeView([k, 17], { transposed: true }, u);
    assertGemmClose(a, b, [], `K=${k}`);
  }
});

Deno.test("wasmMatmul gives identical results in workspace-sized row and column blocks", () => {
  const next = testRng(6);
  const u = () => next() * 2 - 1;
  const a = makeView([2, 130, 33], {}, u), b = makeView([33, 127], { transposed: true }, u);
  const whole = runWasm(a, b, [2]);
  for (const bytes of [4 << 10, 16 << 10, 40 << 10]) {
    assertEquals(runWasm(a, b, [2], { maxWorkspaceBytes: bytes }), whole, `${bytes} bytes`);
  }
  // A workspace too small for one 8-column panel of B: declined, output untouched.
  const out = new Float32Array(2 * 130 * 127).fill(7);
  assertEquals(wasmMatmul([a, b], out, [2], { maxWorkspaceBytes: 1 << 10 }), false);
  assertEquals(out[0], 7);
});

Deno.test("wasmMatmul handles empty products and declines non-float32 operands", () => {
  const next = testRng(7);
  const a = makeView([3, 0], {}, next), b = makeView([0, 4], {}, next);
  const out = new Float32Array(12).fill(1);
  assert(wasmMatmul([a, b], out, []));
  assertEquals(Array.from(out), new Array(12).fill(0));
  assert(wasmMatmul([makeView([0, 2], {}, next), makeView([2, 3], {}, next)], out, []));
  const x = makeView([2, 2], {}, next);
  const out64: TypedArray = new Float64Array(4);
  assertEquals(wasmMatmul([f64(x), f64(x)], out64, []), false);
  assertEquals(wasmMatmul([x, x], out64, []), false);
});

Deno.test({
  name:
    "float32 CPU matmul takes the WebAssembly path; setCpuKernels({ wasm: false }) the reference",
  ignore: !wasmGemmAvailable(),
  fn() {
    const next = testRng(8);
    const values = (n: number) => Float32Array.from({ length: n }, () => next() * 2 - 1);
    // [3, 1, 17, 64] (a transposed view) @ [2, 64, 33] (a transposed view) -> [3, 2, 17, 33]
    const x = tensor(values(3 * 64 * 17), { shape: [3, 1, 64, 17], backend: "cpu" }).transpose(
      -1,
      -2,
    );
    const w = tensor(values(2 * 33 * 64), { shape: [2, 33, 64], backend: "cpu" }).transpose(-1, -2);
    const kernels = setCpuKernels({ blas: false });
    const before = cpuKernelCounts();
    let fast: TypedArray, slow: TypedArray;
    try {
      fast = x.matmul(w).dataSync();
      setCpuKernels({ wasm: false });
      slow = x.matmul(w).dataSync();
    } finally {
      setCpuKernels(kernels);
    }
    const after = cpuKernelCounts();
    assertEquals(after.wasmMatmul - before.wasmMatmul, 1, "float32 ran on the WebAssembly kernel");
    assertEquals(after.tsMatmul - before.tsMatmul, 1, "the forced run used the TypeScript kernel");
    const want = x.cast("float64").matmul(w.cast("float64")).dataSync();
    const scale = x.abs().cast("float64").matmul(w.abs().cast("float64")).dataSync();
    assertEquals(fast.length, 3 * 2 * 17 * 33);
    for (let i = 0; i < want.length; i++) {
      assert(Math.abs(fast[i] - want[i]) <= 1e-5 * scale[i], `wasm ${i}: ${fast[i]} vs ${want[i]}`);
      // The TypeScript kernel accumulates in float64 and rounds once.
      assert(Math.abs(slow[i] - want[i]) <= 2 ** -24 * Math.abs(want[i]), `ts ${i}`);
    }
  },
});

/** Runs `fn` with two threads running, then shuts them down. */
async function withThreads(fn: () => void): Promise<void> {
  assertEquals(await setCpuThreads(2), 2);
  try {
    fn();
  } finally {
    shutdownCpuThreads();
  }
}

/** Asserts two threads give bit for bit what one gives, and that they ran. */
function assertThreadedEqual(
  a: CpuView,
  b: CpuView,
  batch: number[],
  label: string,
  options: WasmMatmulOptions = {},
): void {
  const one = runWasm(a, b, batch, { ...options, threads: 1 });
  const before = cpuKernelCounts().wasmMatmulThreaded;
  assertEquals(runWasm(a, b, batch, { ...options, threads: 2 }), one, label);
  assertEquals(cpuKernelCounts().wasmMatmulThreaded, before + 1, `${label}: threads ran`);
}

Deno.test({
  name: "threaded wasmMatmul is bit-identical to one thread over ragged and transposed operands",
  ignore: !cpuThreadsSupported(),
  fn: () =>
    withThreads(() => {
      const next = testRng(9);
      const u = () => next() * 2 - 1;
      // One- and two-row products take the matrix-vector kernel (wasm_gemv_test.ts), unthreaded.
      for (const m of [3, 5, 130, 257]) {
        for (const k of [1, 33, 300, 1030]) {
          for (const n of [3, 127, 1000]) {
            if (2 * m * n * k < MIN_THREADED_FLOPS) continue;
            const ta = (m + k) % 2 === 1, tb = (n + k) % 2 === 0;
            const a = makeView([m, k], { transposed: ta, offset: 3, pad: 1 }, u);
            const b = makeView([k, n], { transposed: tb, offset: 5 }, u);
            assertThreadedEqual(a, b, [], `${m}x${k}${ta ? "ᵀ" : ""} @ ${k}x${n}${tb ? "ᵀ" : ""}`);
          }
        }
      }
    }),
});

Deno.test({
  name: "threaded wasmMatmul is bit-identical to one thread over batches and workspace blocks",
  ignore: !cpuThreadsSupported(),
  fn: () =>
    withThreads(() => {
      const next = testRng(10);
      const u = () => next() * 2 - 1;
      // Attention-shaped: [2, 3, 128, 64] @ [2, 3, 64, 130]ᵀ-stored.
      const q = makeView([2, 3, 128, 64], {}, u);
      const k = makeView([2, 3, 64, 130], { transposed: true }, u);
      assertThreadedEqual(q, k, [2, 3], "batched");
      // Broadcast batches: an expanded lhs and a weight shared by the whole batch.
      const e = makeView([3, 129, 200], { batchStrides: [0] }, u);
      const w = makeView([200, 77], { transposed: true, pad: 2 }, u);
      assertThreadedEqual(e, w, [3], "broadcast");
      // Blocks smaller than the product: several row and column blocks, each shared by threads.
      const a = makeView([300, 130], {}, u), b = makeView([130, 270], { transposed: true }, u);
      for (const bytes of [64 << 10, 200 << 10, 1 << 20]) {
        assertThreadedEqual(a, b, [], `${bytes} bytes`, { maxWorkspaceBytes: bytes });
      }
    }),
});

Deno.test({
  name: "float32 CPU matmul runs on threads once setCpuThreads() started them",
  ignore: !cpuThreadsSupported(),
  fn: () =>
    withThreads(() => {
      const next = testRng(11);
      const values = (n: number) => Float32Array.from({ length: n }, () => next() * 2 - 1);
      const x = tensor(values(128 * 768), { shape: [128, 768], backend: "cpu" });
      const w = tensor(values(300 * 768), { shape: [300, 768], backend: "cpu" }).transpose(0, 1);
      const kernels = setCpuKernels({ blas: false });
      try {
        const before = cpuKernelCounts().wasmMatmulThreaded;
        const threaded = x.matmul(w).dataSync();
        assertEquals(cpuKernelCounts().wasmMatmulThreaded, before + 1);
        setCpuKernels({ threads: 1 });
        assertEquals(x.matmul(w).dataSync(), threaded);
        assertEquals(cpuKernelCounts().wasmMatmulThreaded, before + 1);
      } finally {
        setCpuKernels(kernels);
      }
    }),
});
