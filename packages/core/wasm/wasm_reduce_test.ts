// The WebAssembly float32 sums against the TypeScript reference (setCpuKernels({ wasm: false })):
// both accumulate in float64 and round once, so they agree to the last bit except where the two
// summation orders round differently in float64, far below float32 resolution.
import { assert, assertEquals } from "@std/assert";
import { tensor } from "../creation.ts";
import type { Tensor } from "../tensor.ts";
import { assertAllClose, testRng } from "../_testing/backends.ts";
import { cpuKernelCounts, setCpuKernels } from "../backends/cpu_kernels.ts";
import { wasmSum } from "./wasm_reduce.ts";

function values(n: number, seed: number): Float32Array {
  const next = testRng(seed);
  return Float32Array.from({ length: n }, () => (next() * 2 - 1) * 1e3 + 1e4);
}

function compare(x: Tensor, axes: number[], wasm: boolean): void {
  const label = `sum [${x.shape}] over [${axes}]`;
  const before = cpuKernelCounts()["wasm.sum"];
  const fast = x.sum(axes).dataSync();
  assertEquals(cpuKernelCounts()["wasm.sum"] - before, wasm ? 1 : 0, `${label}: WASM path`);
  const previous = setCpuKernels({ wasm: false });
  try {
    assertAllClose(fast, x.sum(axes).dataSync(), { rtol: 1e-7, atol: 0, label });
  } finally {
    setCpuKernels(previous);
  }
}

Deno.test("wasm sum over trailing or leading axes matches the float64 reference", () => {
  for (const shape of [[1], [7], [3, 5], [4, 13], [2, 3, 17], [128, 768], [2, 1, 9, 1, 6]]) {
    const x = tensor(values(shape.reduce((a, b) => a * b, 1), shape.length), {
      shape,
      backend: "cpu",
    });
    const nd = shape.length;
    // Summing only size-1 axes is a copy, left to the reference kernel.
    const run = (axes: number[]) => compare(x, axes, axes.some((a) => shape[a] > 1));
    run([nd - 1]);
    run([0]);
    run(Array.from({ length: nd }, (_, i) => i));
    if (nd === 3) run([1, 2]);
  }
});

Deno.test("wasm sum declines middle axes, strided views and other dtypes", () => {
  const x = tensor(values(2 * 3 * 4, 9), { shape: [2, 3, 4], backend: "cpu" });
  compare(x, [1], false);
  compare(x, [0, 2], false);
  compare(x.transpose(0, 2), [2], false);
  const out = new Float64Array(2);
  const view = {
    data: new Float32Array(4),
    shape: [2, 2],
    strides: [2, 1],
    offset: 0,
    dtype: "float32" as const,
  };
  assertEquals(wasmSum(view, out, [1]), false);
  assertEquals(
    Array.from(tensor([[1, 2], [3, 4]], { dtype: "int32", backend: "cpu" }).sum(1).dataSync()),
    [3, 7],
  );
});

Deno.test("wasm sum keeps float64 accuracy where float32 accumulation would not", () => {
  // 2^24 + 1 + 1 + ...: a float32 accumulator would stay at 2^24.
  const data = new Float32Array(1 + 4096).fill(1);
  data[0] = 2 ** 24;
  const x = tensor(data, { shape: [1, data.length], backend: "cpu" });
  const got = x.sum(1).dataSync()[0];
  assert(got === 2 ** 24 + 4096, `${got}`);
  const col = tensor(data, { shape: [data.length, 1], backend: "cpu" }).sum(0).dataSync()[0];
  assert(col === 2 ** 24 + 4096, `${col}`);
});
