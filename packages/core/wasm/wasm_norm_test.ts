// The WebAssembly SIMD layerNorm and rmsNorm kernels against the TypeScript reference kernels
// (setCpuKernels({ wasm: false })), on the CPU backend's own ops. The kernels accumulate the row
// statistics in float64 lanes and centre against a two-float mean, so they stay within 1e-5
// relative of the float64 reference even for rows with a mean far larger than their spread.
import { assertEquals } from "@std/assert";
import { tensor } from "../creation.ts";
import type { Tensor } from "../tensor.ts";
import { layerNorm, rmsNorm } from "../functional.ts";
import { assertAllClose, testRng } from "../_testing/backends.ts";
import { cpuKernelCounts, setCpuKernels } from "../backends/cpu_kernels.ts";
import { wasmLayerNorm, wasmNormAvailable, wasmRmsNorm } from "./wasm_norm.ts";

const available = wasmNormAvailable();

function values(n: number, seed: number, mean = 0, scale = 4): Float32Array {
  const next = testRng(seed);
  return Float32Array.from({ length: n }, () => mean + (next() * 2 - 1) * scale);
}

const cpu = (data: Float32Array, shape: number[]) => tensor(data, { shape, backend: "cpu" });

/** Runs `f` with the WebAssembly kernels on and off; checks the fast one ran once. */
function both(f: () => Tensor, kernel: string): { fast: Float32Array; ref: Float32Array } {
  const before = cpuKernelCounts()[kernel];
  const fast = f().dataSync() as Float32Array;
  assertEquals(cpuKernelCounts()[kernel], before + 1, `${kernel} did not take the WASM path`);
  const previous = setCpuKernels({ wasm: false });
  try {
    return { fast, ref: f().dataSync() as Float32Array };
  } finally {
    setCpuKernels(previous);
  }
}

Deno.test({
  name: "wasm layerNorm matches the float64 reference, large means included",
  ignore: !available,
  fn() {
    for (const n of [1, 3, 4, 13, 768, 1024, 4096]) {
      for (const mean of [0, 1000, -3e4]) {
        const x = cpu(values(3 * n, n, mean), [3, n]);
        const w = cpu(values(n, n + 1, 1, 0.5), [n]);
        const b = cpu(values(n, n + 2), [n]);
        const label = `n=${n} mean=${mean}`;
        const plain = both(() => layerNorm(x), "wasm.layerNorm");
        assertAllClose(plain.fast, plain.ref, { rtol: 1e-5, atol: 1e-6, label });
        const affine = both(() => layerNorm(x, w, b, { eps: 1e-12 }), "wasm.layerNorm");
        assertAllClose(affine.fast, affine.ref, {
          rtol: 1e-5,
          atol: 1e-6,
          label: `${label} affine`,
        });
      }
    }
  },
});

Deno.test({
  name: "wasm rmsNorm matches the float64 reference",
  ignore: !available,
  fn() {
    for (const n of [1, 3, 4, 13, 768, 4096]) {
      for (const mean of [0, 1000]) {
        const x = cpu(values(2 * n, 3 * n, mean), [2, n]);
        const w = cpu(values(n, n + 5, 1, 0.5), [n]);
        const label = `n=${n} mean=${mean}`;
        const plain = both(() => rmsNorm(x), "wasm.rmsNorm");
        assertAllClose(plain.fast, plain.ref, { rtol: 1e-5, atol: 1e-6, label });
        const scaled = both(() => rmsNorm(x, w), "wasm.rmsNorm");
        assertAllClose(scaled.fast, scaled.ref, { rtol: 1e-5, atol: 1e-6, label: `${label} w` });
      }
    }
  },
});

Deno.test({
  name: "wasm norms read strided weights and decline what they cannot run",
  ignore: !available,
  fn() {
    const x = cpu(values(2 * 6, 1), [2, 6]);
    // A weight read every other element of a longer vector.
    const w = cpu(values(12, 2), [12]).slice(0, 0, undefined, 2);
    const b = cpu(values(12, 3), [12]).slice(0, 0, undefined, 2);
    const strided = both(() => layerNorm(x, w, b), "wasm.layerNorm");
    assertAllClose(strided.fast, strided.ref, { label: "strided weight" });
    // A transposed input: the reference kernel runs.
    const before = cpuKernelCounts()["wasm.layerNorm"];
    layerNorm(cpu(values(12, 4), [6, 2]).transpose(0, 1)).dataSync();
    assertEquals(cpuKernelCounts()["wasm.layerNorm"], before);
    // Not float32.
    const view = { data: new Float64Array(4), shape: [2, 2], strides: [2, 1], offset: 0 };
    const out = new Float64Array(4).fill(7);
    assertEquals(
      wasmLayerNorm({ ...view, dtype: "float64" }, undefined, undefined, out, 1e-5),
      false,
    );
    assertEquals(wasmRmsNorm({ ...view, dtype: "float64" }, undefined, out, 1e-6), false);
    assertEquals(Array.from(out), [7, 7, 7, 7]);
  },
});
