// The WebAssembly SIMD elementwise, GELU and softmax kernels against the TypeScript reference
// kernels (setCpuKernels({ wasm: false })), on the CPU backend's own ops.
//
// add/sub/mul/div must agree bit for bit: the reference computes in float64 and rounds once, and
// for these four operations on float32 operands that double rounding gives the correctly rounded
// float32 result, which is what f32x4 arithmetic computes. exp, sigmoid and GELU are polynomial
// approximations in float32 (see elementwise.wat): measured against the float64 reference their
// error stays under 1e-6 relative, far inside the op tests' 1e-5.
import { assert, assertEquals } from "@std/assert";
import { tensor } from "../creation.ts";
import type { Tensor } from "../tensor.ts";
import { assertAllClose, testRng } from "../_testing/backends.ts";
import { cpuKernelCounts, setCpuKernels } from "../backends/cpu_kernels.ts";
import {
  wasmBinary,
  wasmElementwiseAvailable,
  wasmSoftmax,
  wasmUnary,
} from "./wasm_elementwise.ts";

const available = wasmElementwiseAvailable();
const SPECIAL = [0, -0, 1, -1, NaN, Infinity, -Infinity, 1e-40, -1e-40, 3.4e38, -3.4e38, 1e-30];

function values(n: number, seed: number, scale = 4): Float32Array {
  const next = testRng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() * 2 - 1) * scale;
  for (let i = 0; i < Math.min(n, SPECIAL.length); i++) out[(i * 7919) % n] = SPECIAL[i];
  return out;
}

const cpu = (data: Float32Array, shape: number[]) => tensor(data, { shape, backend: "cpu" });

/** Runs `f` with the WebAssembly kernels on and off; returns both results and the kernel counts. */
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

function assertSameBits(actual: Float32Array, expected: Float32Array, label: string): void {
  assertEquals(actual.length, expected.length, label);
  for (let i = 0; i < actual.length; i++) {
    if (Number.isNaN(expected[i]) && Number.isNaN(actual[i])) continue;
    assert(
      Object.is(actual[i], expected[i]),
      `${label}: element ${i} is ${actual[i]}, expected ${expected[i]}`,
    );
  }
}

const BROADCASTS: [string, number[], number[]][] = [
  ["same shape", [3, 5, 7], [3, 5, 7]],
  ["bias row", [2, 9, 13], [13]],
  ["per-row scale", [2, 9, 13], [2, 9, 1]],
  ["scalar right", [4, 6], []],
  ["scalar left", [], [4, 6]],
  ["attention mask", [2, 3, 5, 5], [2, 1, 1, 5]],
  ["outer product", [6, 1], [1, 10]],
  ["one element", [1], [1]],
  ["middle broadcast", [4, 1, 6], [4, 5, 6]],
];

for (const op of ["add", "sub", "mul", "div"] as const) {
  Deno.test({
    name: `wasm ${op} equals the reference bit for bit under broadcasting`,
    ignore: !available,
    fn() {
      for (const [label, sa, sb] of BROADCASTS) {
        const na = sa.reduce((n, d) => n * d, 1), nb = sb.reduce((n, d) => n * d, 1);
        const a = cpu(values(na, 1), sa), b = cpu(values(nb, 2), sb);
        const { fast, ref } = both(() => a[op](b), `wasm.${op}`);
        assertSameBits(fast, ref, `${op} ${label}`);
      }
    },
  });
}

Deno.test({
  name: "wasm binary reads offset views and declines layouts it does not handle",
  ignore: !available,
  fn() {
    const big = cpu(values(4 * 6, 3), [4, 6]);
    const window = big.slice(0, 1, 3).slice(1, 2, 5); // offset and row stride 6
    const row = cpu(values(3, 4), [3]);
    const { fast, ref } = both(() => window.mul(row), "wasm.mul");
    assertSameBits(fast, ref, "window · row");
    // A transposed operand is gathered densely first; four dimensions that do not merge fall back.
    const before = cpuKernelCounts()["wasm.add"];
    const t = big.transpose(0, 1);
    const bias = cpu(values(4, 8), [4]);
    const { fast: tt, ref: tr } = both(() => t.add(bias), "wasm.add");
    assertSameBits(tt, tr, "transposed");
    const x = cpu(values(2 * 3 * 4 * 5, 5), [2, 3, 4, 5]), z = cpu(values(2 * 4, 7), [2, 1, 4, 1]);
    const counted = cpuKernelCounts()["wasm.add"];
    x.add(z).dataSync();
    assertEquals(
      cpuKernelCounts()["wasm.add"],
      counted,
      "[2, 3, 4, 5] + [2, 1, 4, 1] stays in TypeScript",
    );
    assert(counted > before);
  },
});

// The tanh form's rtol is the suite's 1e-5: its exponent 2u = 1.6·(x + 0.045·x³) is formed in
// float32, and e^(2u) magnifies that rounding by |2u| (up to ~90 before underflow), ~5e-6 at worst.
// GELU's atol: where GELU is tiny (x very negative) the float64 reference loses relative accuracy
// to cancellation in 1 + erf / 1 + tanh, about |x|·1e-16 absolute; the kernel computes erfc(-z) and
// 2·sigmoid(2u) directly, so it is the more accurate of the two there.
const UNARY: [string, (x: Tensor) => Tensor, string, number, number][] = [
  ["exp", (x) => x.exp(), "wasm.exp", 1e-6, 1e-37],
  ["sigmoid", (x) => x.sigmoid(), "wasm.sigmoid", 1e-6, 1e-37],
  ["gelu", (x) => x.gelu(), "wasm.gelu", 1e-6, 1e-13],
  ["gelu tanh", (x) => x.gelu("tanh"), "wasm.gelu", 1e-5, 1e-13],
  ["erf", (x) => x.erf(), "wasm.erf", 1e-6, 1e-37],
  ["neg", (x) => x.neg(), "wasm.neg", 0, 0],
];

for (const [name, f, kernel, rtol, atol] of UNARY) {
  Deno.test({
    name: `wasm ${name} is within ${rtol} relative of the float64 reference`,
    ignore: !available,
    fn() {
      for (const [n, scale] of [[1, 4], [7, 4], [4096, 12], [1001, 120]]) {
        const x = cpu(values(n, 11 + n, scale), [n]);
        const { fast, ref } = both(() => f(x), kernel);
        assertAllClose(fast, ref, {
          rtol,
          atol,
          label: `${name} n=${n} scale=${scale}`,
        });
      }
    },
  });
}

Deno.test({
  name: "wasm exp is exact at the edges: 0 → 1, underflow → 0, overflow → ∞, NaN → NaN",
  ignore: !available,
  fn() {
    const x = cpu(new Float32Array([0, -0, -104, -1e30, -Infinity, 89, 1e30, Infinity, NaN]), [9]);
    const { fast } = both(() => x.exp(), "wasm.exp");
    assertEquals(Array.from(fast), [1, 1, 0, 0, 0, Infinity, Infinity, Infinity, NaN]);
    const y = cpu(new Float32Array([88.5, -87.5, -100]), [3]);
    const { fast: e, ref } = both(() => y.exp(), "wasm.exp");
    assertAllClose(e, ref, { rtol: 1e-6, atol: 0, label: "near the float32 limits" });
  },
});

Deno.test({
  name: "wasm softmax and logSoftmax match the reference, masked rows included",
  ignore: !available,
  fn() {
    const FLT_MAX = 3.4028234663852886e38;
    for (const n of [1, 3, 4, 13, 128]) {
      const data = values(5 * n, 20 + n, 8).map((v) => Number.isFinite(v) ? v : 0);
      data.fill(-FLT_MAX, 2 * n, 3 * n); // a fully masked row is uniform
      data[4 * n] = -Infinity; // one masked entry
      const x = cpu(data, [5, n]);
      for (const log of [false, true]) {
        const name = log ? "logSoftmax" : "softmax";
        const { fast, ref } = both(() => log ? x.logSoftmax(-1) : x.softmax(-1), `wasm.${name}`);
        assertAllClose(fast, ref, { rtol: 1e-6, atol: 1e-7, label: `${name} n=${n}` });
      }
    }
    // Not the last dimension: the reference kernel runs.
    const before = cpuKernelCounts()["wasm.softmax"];
    cpu(values(12, 9), [3, 4]).softmax(0).dataSync();
    assertEquals(cpuKernelCounts()["wasm.softmax"], before);
  },
});

Deno.test({
  name: "wasm kernels decline non-float32 outputs and leave them untouched",
  ignore: !available,
  fn() {
    const x = {
      data: new Float32Array([1, 2]),
      shape: [2],
      strides: [1],
      offset: 0,
      dtype: "float32" as const,
    };
    const out = new Float64Array([7, 7]);
    assertEquals(wasmUnary("exp", x, out), false);
    assertEquals(wasmBinary("add", x, x, out, [2]), false);
    assertEquals(wasmSoftmax(x, out, 0, false), false);
    assertEquals(Array.from(out), [7, 7]);
    const i32 = cpu(new Float32Array([1, 2]), [2]).cast("int32");
    assertEquals(Array.from(i32.add(i32).dataSync()), [2, 4]);
  },
});

Deno.test({
  name: "wasm where equals the reference bit for bit under broadcasting, for float32 and int32",
  ignore: !available,
  fn() {
    const bools = (n: number, seed: number) => {
      const next = testRng(seed);
      return Uint8Array.from({ length: n }, () => (next() < 0.5 ? 1 : 0));
    };
    const shapes: [string, number[], number[], number[]][] = [
      ["causal mask, scalar fill", [7, 9], [2, 3, 7, 9], []],
      ["row condition", [9], [5, 9], [5, 9]],
      ["column condition", [5, 1], [5, 9], [9]],
      ["same shapes", [3, 4, 5], [3, 4, 5], [3, 4, 5]],
    ];
    for (const [label, sc, sa, sb] of shapes) {
      const size = (s: number[]) => s.reduce((n, d) => n * d, 1);
      const c = tensor(bools(size(sc), 3), { shape: sc, dtype: "bool", backend: "cpu" });
      const a = cpu(values(size(sa), 4), sa), b = cpu(values(size(sb), 5), sb);
      const { fast, ref } = both(() => a.where(c, b), "wasm.where");
      assertSameBits(fast, ref, `where ${label}`);
      const ai = a.cast("int32"), bi = b.cast("int32");
      const before = cpuKernelCounts()["wasm.where"];
      const fi = ai.where(c, bi).dataSync();
      assertEquals(cpuKernelCounts()["wasm.where"], before + 1, `${label}: int32 WASM path`);
      const previous = setCpuKernels({ wasm: false });
      try {
        assertEquals(fi, ai.where(c, bi).dataSync(), `where int32 ${label}`);
      } finally {
        setCpuKernels(previous);
      }
    }
  },
});
