import { assert, assertEquals, assertThrows } from "@std/assert";
import { manualSeed } from "../rng.ts";
import { tensor, zeros } from "../creation.ts";
import { assertAllClose, testBackends } from "../_testing/backends.ts";
import { Linear } from "./linear.ts";
import { Embedding } from "./embedding.ts";
import { LayerNorm, RMSNorm } from "./norm.ts";
import { Dropout } from "./dropout.ts";
import { ACT2FN, getActivation } from "./activations.ts";
import { initWeights } from "./init.ts";
import { Module } from "./module.ts";
import type { Tensor } from "../tensor.ts";
import { traceOps } from "../trace.ts";

testBackends("Linear computes x·Wᵀ + b with PyTorch's default init range", async () => {
  manualSeed(0);
  const fc = new Linear(3, 2);
  const w = Array.from(await fc.weight.data());
  assert(w.every((v) => Math.abs(v) <= 1 / Math.sqrt(3)));
  fc.loadStateDict({ weight: tensor([[1, 0, -1], [2, 1, 0]]), bias: tensor([0.5, -0.5]) });
  assertEquals(await fc.call(tensor([[1, 2, 3], [0, 0, 1]])).toArray(), [[-1.5, 3.5], [
    -0.5,
    -0.5,
  ]]);
  assertEquals(fc.call(zeros([5, 7, 3])).shape, [5, 7, 2]);
  const noBias = new Linear(3, 2, { bias: false });
  assertEquals(noBias.bias, null);
  assertEquals(Object.keys(noBias.stateDict()), ["weight"]);
});

testBackends(
  "Embedding looks up rows; the padding row starts at zero and gets no gradient",
  async () => {
    const emb = new Embedding(5, 3, { paddingIdx: 1 });
    assertEquals((await emb.weight.toArray() as number[][])[1], [0, 0, 0]);
    emb.loadStateDict({ weight: tensor([[0, 0, 0], [9, 9, 9], [1, 2, 3], [4, 5, 6], [7, 8, 9]]) });
    const ids = tensor([[2, 1], [1, 4]], { dtype: "int32" });
    const out = emb.call(ids);
    assertEquals(await out.toArray(), [[[1, 2, 3], [9, 9, 9]], [[9, 9, 9], [7, 8, 9]]]);
    out.sum().backward();
    assertEquals(await emb.weight.grad!.toArray(), [[0, 0, 0], [0, 0, 0], [1, 1, 1], [0, 0, 0], [
      1,
      1,
      1,
    ]]);
    assertThrows(() => new Embedding(3, 2, { paddingIdx: 3 }), RangeError, "paddingIdx 3");
  },
);

testBackends("LayerNorm and RMSNorm give known values and gradients flow", async () => {
  const ln = new LayerNorm(4, { eps: 1e-5 });
  const x = tensor([[1, 2, 3, 4], [2, 2, 2, 2]], { requiresGrad: true });
  const mean = 2.5;
  const std = Math.sqrt(1.25 + 1e-5);
  assertAllClose(await ln.call(x).data(), [
    ...[1, 2, 3, 4].map((v) => (v - mean) / std),
    0,
    0,
    0,
    0,
  ]);
  ln.call(x).mul(tensor([1, 0, 0, 0])).sum().backward();
  assert(ln.weight!.grad && ln.bias!.grad && x.grad);
  const rms = new RMSNorm(2, { eps: 1e-6 });
  assertAllClose(await rms.call(tensor([[3, 4]])).data(), [
    3 / Math.sqrt(12.5 + 1e-6),
    4 / Math.sqrt(12.5 + 1e-6),
  ]);
  assertEquals(
    rms.call(tensor([[3, 4]], { dtype: "float16" }).cast("float16")).dtype,
    "float32",
    "weight is float32",
  );
});

testBackends(
  "LayerNorm and RMSNorm run one fused kernel; several trailing dims and mixed dtypes keep the composite's results",
  async () => {
    const ln = new LayerNorm(3);
    const rms = new RMSNorm(3);
    const x = tensor([[1, 5, -2], [0.5, 0.25, 4]]);
    const { trace } = traceOps(() => [ln.call(x), rms.call(x)]);
    assertEquals(trace.ops, ["layerNorm [2, 3] float32", "rmsNorm [2, 3] float32"]);
    // The same normalisation as a 2-D normalized shape over [1, 3] rows (the composite path).
    const ln2 = new LayerNorm([1, 3]);
    assertAllClose(await ln2.call(x.unsqueeze(1)).data(), await ln.call(x).data());
    // float16 input, float32 parameters: float32 output (PyTorch's promotion), as before.
    const half = x.cast("float16");
    assertEquals(ln.call(half).dtype, "float32");
    assertEquals(rms.call(half).dtype, "float32");
    assertAllClose(await ln.call(half).data(), await ln.call(x).data(), { rtol: 2e-3, atol: 2e-3 });
    // float16 parameters keep float16.
    const lnHalf = new LayerNorm(3, { dtype: "float16" });
    assertEquals(lnHalf.call(half).dtype, "float16");
  },
);

testBackends("Dropout follows training mode", async () => {
  const d = new Dropout(0.5);
  const x = tensor([1, 1, 1, 1, 1, 1, 1, 1]);
  const y = Array.from(await d.call(x).data());
  assert(y.every((v) => v === 0 || v === 2));
  d.eval();
  assertEquals(await d.call(x).toArray(), [1, 1, 1, 1, 1, 1, 1, 1]);
  assertThrows(() => new Dropout(2), RangeError, "p = 2");
});

testBackends("activations match their Hugging Face definitions", async () => {
  const x = tensor([-2, -0.5, 0, 0.5, 3]);
  const v = [-2, -0.5, 0, 0.5, 3];
  const erf = (z: number) => {
    // Abramowitz–Stegun 7.1.26 is too coarse; use a Maclaurin series (converges for |z| < 3).
    let term = z, sum = z;
    for (let n = 1; n < 60; n++) {
      term *= (-z * z) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  };
  const tanhGelu = (z: number) =>
    0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z ** 3)));
  const expected: Record<string, (z: number) => number> = {
    gelu: (z) => 0.5 * z * (1 + erf(z / Math.SQRT2)),
    gelu_new: tanhGelu,
    gelu_pytorch_tanh: tanhGelu,
    gelu_fast: (z) => 0.5 * z * (1 + Math.tanh(0.7978845608 * z * (1 + 0.044715 * z * z))),
    quick_gelu: (z) => z / (1 + Math.exp(-1.702 * z)),
    relu: (z) => Math.max(z, 0),
    relu6: (z) => Math.min(Math.max(z, 0), 6),
    silu: (z) => z / (1 + Math.exp(-z)),
    swish: (z) => z / (1 + Math.exp(-z)),
    tanh: Math.tanh,
    sigmoid: (z) => 1 / (1 + Math.exp(-z)),
    linear: (z) => z,
  };
  assertEquals(Object.keys(ACT2FN).sort(), Object.keys(expected).sort());
  for (const [name, f] of Object.entries(expected)) {
    assertAllClose(await getActivation(name)(x).data(), v.map(f), { label: name });
  }
  assertThrows(() => getActivation("nope"), RangeError, '"quick_gelu"');
});

testBackends("initWeights applies Hugging Face's _init_weights", async () => {
  manualSeed(1);
  class Tiny extends Module {
    emb = new Embedding(200, 50, { paddingIdx: 0 });
    fc = new Linear(50, 50);
    norm = new LayerNorm(50);
    rms = new RMSNorm(50);
    forward(x: Tensor) {
      return x;
    }
  }
  const m = initWeights(new Tiny(), 0.02);
  const w = Array.from(await m.fc.weight.data());
  const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  assert(Math.abs(std - 0.02) < 0.002, `std ${std}`);
  assertEquals(new Set(await m.fc.bias!.data()), new Set([0]));
  assertEquals((await m.emb.weight.toArray() as number[][])[0].every((v) => v === 0), true);
  assertEquals(new Set(await m.norm.weight!.data()), new Set([1]));
  assertEquals(new Set(await m.rms.weight.data()), new Set([1]));
});
