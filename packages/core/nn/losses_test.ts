import { assert, assertEquals, assertThrows } from "@std/assert";
import { tensor, zeros } from "../creation.ts";
import { grad } from "../autograd.ts";
import { DTypeError, ShapeError } from "../errors.ts";
import type { Tensor } from "../tensor.ts";
import { assertAllClose, testBackends, testRng } from "../_testing/backends.ts";
import {
  bceWithLogits,
  causalLmLoss,
  crossEntropy,
  mseLoss,
  nllLoss,
  shiftLabels,
} from "./losses.ts";

const cpu = { backend: "cpu" } as const;
const f64 = { dtype: "float64", backend: "cpu" } as const;
const ints = (v: number[] | number[][]) => tensor(v, { dtype: "int32" });

// ---- independent float64 references in plain JS ----------------------------------------------

interface RefOptions {
  ignoreIndex?: number;
  reduction?: "mean" | "sum" | "none";
  weight?: number[];
  smoothing?: number;
  numItems?: number;
}

function logSoftmaxRow(row: number[]): number[] {
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
  return row.map((v) => v - lse);
}

/** Cross-entropy of rows `[N][C]`, written from torch's documented formula. */
function refCrossEntropy(
  rows: number[][],
  target: number[],
  o: RefOptions = {},
): number[] | number {
  const { ignoreIndex = -100, reduction = "mean", smoothing = 0 } = o;
  const c = rows[0].length;
  const w = o.weight ?? Array(c).fill(1);
  let total = 0;
  let denom = 0;
  const each = rows.map((row, i) => {
    const t = target[i];
    if (t === ignoreIndex) return 0;
    const lp = logSoftmaxRow(row);
    const smooth = -lp.reduce((s, v, k) => s + w[k] * v, 0);
    const loss = (1 - smoothing) * -w[t] * lp[t] + (smoothing / c) * smooth;
    total += loss;
    denom += w[t];
    return loss;
  });
  if (o.numItems !== undefined) return total / o.numItems;
  return reduction === "none" ? each : reduction === "sum" ? total : total / denom;
}

function softplusRef(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function refBce(x: number[], y: number[], posWeight?: number[], weight?: number[]): number[] {
  return x.map((xi, i) => {
    const p = posWeight ? posWeight[i % posWeight.length] : 1;
    // -log σ(x) = softplus(-x) and -log(1 - σ(x)) = softplus(x), evaluated without cancellation.
    const l = p * y[i] * softplusRef(-xi) + (1 - y[i]) * softplusRef(xi);
    return l * (weight ? weight[i % weight.length] : 1);
  });
}

function randomRows(rng: () => number, n: number, c: number): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: c }, () => rng() * 4 - 2));
}

const read = async (t: Tensor) => Array.from(await t.data());

// ---- exact values -----------------------------------------------------------------------------

testBackends(
  "crossEntropy() of all-zero logits is ln C, ignoring ignoreIndex targets",
  async () => {
    const logits = zeros([3, 5]);
    const lnC = Math.log(5);
    assertAllClose([await crossEntropy(logits, ints([0, 4, 2])).item()], [lnC]);
    assertAllClose([await crossEntropy(logits, ints([1, -100, 3])).item()], [lnC]);
    assertAllClose(await read(crossEntropy(logits, ints([1, -100, 3]), { reduction: "none" })), [
      lnC,
      0,
      lnC,
    ]);
    assertAllClose(
      [await crossEntropy(logits, ints([1, -100, 3]), { reduction: "sum" }).item()],
      [2 * lnC],
    );
    const custom = crossEntropy(logits, ints([2, 2, 3]), { ignoreIndex: 2, reduction: "sum" });
    assertAllClose([await custom.item()], [lnC]);
  },
);

testBackends("crossEntropy() of all-ignored targets is NaN for mean and 0 for sum", async () => {
  const logits = zeros([2, 3]);
  const target = ints([-100, -100]);
  assert(Number.isNaN(await crossEntropy(logits, target).item()));
  assertEquals(await crossEntropy(logits, target, { reduction: "sum" }).item(), 0);
  assertEquals(await crossEntropy(logits, target, { numItemsInBatch: 4 }).item(), 0);
});

testBackends("crossEntropy() with numItemsInBatch divides the sum by it", async () => {
  const logits = zeros([3, 5]);
  const target = ints([1, -100, 3]);
  const expected = (2 * Math.log(5)) / 4;
  assertAllClose([await crossEntropy(logits, target, { numItemsInBatch: 4 }).item()], [expected]);
  const asInt = tensor(4, { dtype: "int32" });
  assertAllClose([await crossEntropy(logits, target, { numItemsInBatch: asInt }).item()], [
    expected,
  ]);
  const asFloat = tensor([4]);
  assertAllClose([await crossEntropy(logits, target, { numItemsInBatch: asFloat }).item()], [
    expected,
  ]);
});

testBackends("causalLmLoss() follows the §8.2 shift example", async () => {
  const labels = ints([[5, 7, -100, 2]]);
  assertEquals(await shiftLabels(labels).toArray(), [[7, -100, 2, -100]]);
  const logits = zeros([1, 4, 10]);
  const lnV = Math.log(10);
  assertAllClose([await causalLmLoss(logits, labels).item()], [lnV]);
  assertAllClose([await causalLmLoss(logits, labels, { numItemsInBatch: 4 }).item()], [
    (2 * lnV) / 4,
  ]);
  const given = ints([[7, 7, 7, -100]]);
  const viaShift = causalLmLoss(logits, null, { shiftLabels: given, numItemsInBatch: 4 });
  assertAllClose([await viaShift.item()], [(3 * lnV) / 4]);
});

testBackends("shiftLabels() handles a custom fill and a length-1 sequence", async () => {
  assertEquals(await shiftLabels(ints([[1, 2], [3, 4]]), 9).toArray(), [[2, 9], [4, 9]]);
  assertEquals(await shiftLabels(ints([[1]])).toArray(), [[-100]]);
});

testBackends(
  "crossEntropy() matches a float64 reference (weights, smoothing, [N, C, d])",
  async () => {
    const rng = testRng(7);
    const rows = randomRows(rng, 6, 4);
    const target = [3, -100, 0, 2, 1, -100];
    const weight = [0.5, 2, 1, 1.5];
    const logits = tensor(rows);
    const t = ints(target);
    const w = tensor(weight);
    const cases: [RefOptions, Parameters<typeof crossEntropy>[2]][] = [
      [{}, {}],
      [{ reduction: "none" }, { reduction: "none" }],
      [{ weight }, { weight: w }],
      [{ weight, reduction: "sum" }, { weight: w, reduction: "sum" }],
      [{ smoothing: 0.1 }, { labelSmoothing: 0.1 }],
      [{ smoothing: 0.2, weight }, { labelSmoothing: 0.2, weight: w }],
      [{ smoothing: 0.2, weight, reduction: "none" }, {
        labelSmoothing: 0.2,
        weight: w,
        reduction: "none",
      }],
      [{ numItems: 7, smoothing: 0.1 }, { numItemsInBatch: 7, labelSmoothing: 0.1 }],
    ];
    for (const [ref, opts] of cases) {
      const expected = [refCrossEntropy(rows, target, ref)].flat();
      assertAllClose(await read(crossEntropy(logits, t, opts)), expected, {
        label: JSON.stringify(ref),
      });
    }
    // [N, C, d] with class dim 1 equals the [N·d, C] layout.
    const nd = logits.reshape([3, 2, 4]).transpose(1, 2);
    const ndTarget = ints([[3, -100], [0, 2], [1, -100]]);
    assertAllClose(
      await read(crossEntropy(nd, ndTarget, { reduction: "none" })),
      [
        refCrossEntropy(rows, target, { reduction: "none" }),
      ].flat(),
    );
  },
);

testBackends("nllLoss(), mseLoss() and bceWithLogits() match float64 references", async () => {
  const rng = testRng(11);
  const rows = randomRows(rng, 4, 3).map(logSoftmaxRow);
  const target = [2, 0, -100, 1];
  const nll = -(rows[0][2] + rows[1][0] + rows[3][1]);
  assertAllClose([await nllLoss(tensor(rows), ints(target)).item()], [nll / 3]);
  assertAllClose([await nllLoss(tensor(rows), ints(target), { reduction: "sum" }).item()], [nll]);
  const w = [1, 2, 3];
  const wNll = -(3 * rows[0][2] + rows[1][0] + 2 * rows[3][1]);
  assertAllClose([await nllLoss(tensor(rows), ints(target), { weight: tensor(w) }).item()], [
    wNll / 6,
  ]);

  const x = [0, 1.5, -2, 30, -30, 0.25];
  const y = [1, 0, 0.3, 0, 1, 1];
  assertAllClose([await mseLoss(tensor(x), tensor(y)).item()], [
    x.reduce((s, v, i) => s + (v - y[i]) ** 2, 0) / 6,
  ]);
  assertAllClose(await read(mseLoss(tensor(x), tensor(y), { reduction: "none" })), [
    ...x.map((v, i) => (v - y[i]) ** 2),
  ]);
  const bce = refBce(x, y);
  assertAllClose([await bceWithLogits(tensor(x), tensor(y)).item()], [
    bce.reduce((a, b) => a + b) / 6,
  ]);
  const xs = tensor(x).reshape([2, 3]);
  const ys = tensor(y).reshape([2, 3]);
  const pw = [2, 0.5, 1];
  const wt = [1, 3, 0.5];
  assertAllClose(
    await read(
      bceWithLogits(xs, ys, { reduction: "none", posWeight: tensor(pw), weight: tensor(wt) }),
    ),
    refBce(x, y, pw, wt),
    { rtol: 1e-5, atol: 1e-5 },
  );
});

// ---- gradients against central finite differences (CPU, float64) ------------------------------

function checkGradient(
  shape: number[],
  values: number[],
  loss: (x: Tensor) => Tensor,
  label: string,
): Float64Array {
  const x = tensor(Float64Array.from(values), { ...f64, shape, requiresGrad: true });
  const [g] = grad(loss(x), [x]);
  const analytic = g!.dataSync() as Float64Array;
  const h = 1e-6;
  const numeric = values.map((_, i) => {
    const at = (d: number) => {
      const v = Float64Array.from(values);
      v[i] += d;
      return loss(tensor(v, { ...f64, shape })).dataSync()[0];
    };
    return (at(h) - at(-h)) / (2 * h);
  });
  assertAllClose(analytic, numeric, { rtol: 1e-6, atol: 1e-8, label });
  return analytic;
}

Deno.test("crossEntropy() gradients match finite differences, zero on ignored rows", () => {
  const rows = randomRows(testRng(3), 4, 3);
  const flat = rows.flat();
  const target = tensor([2, -100, 0, 1], { dtype: "int32", ...cpu });
  const weight = tensor([0.5, 2, 1.5], f64);
  const variants: [string, Parameters<typeof crossEntropy>[2]][] = [
    ["mean", {}],
    ["sum", { reduction: "sum" }],
    ["numItemsInBatch", { numItemsInBatch: 5 }],
    ["weight", { weight }],
    ["smoothing", { labelSmoothing: 0.3, weight }],
  ];
  for (const [label, opts] of variants) {
    const g = checkGradient([4, 3], flat, (x) => crossEntropy(x, target, opts), label);
    assertEquals(Array.from(g.slice(3, 6)), [0, 0, 0], `${label}: ignored row`);
  }
  const none = checkGradient(
    [4, 3],
    flat,
    (x) => crossEntropy(x, target, { reduction: "none" }).mul(tensor([1, 2, 3, 4], f64)).sum(),
    "none",
  );
  assertEquals(Array.from(none.slice(3, 6)), [0, 0, 0]);
  // The all-ignored mean is NaN, but no NaN reaches the logits.
  const allIgnored = tensor([-100, -100, -100, -100], { dtype: "int32", ...cpu });
  const x = tensor(Float64Array.from(flat), { ...f64, shape: [4, 3], requiresGrad: true });
  const loss = crossEntropy(x, allIgnored);
  assert(Number.isNaN(loss.dataSync()[0]));
  assertEquals(Array.from(grad(loss, [x])[0]!.dataSync()), Array(12).fill(0));
});

Deno.test("causalLmLoss() gradients match finite differences, the last position gets none", () => {
  const flat = randomRows(testRng(5), 4, 3).flat();
  const labels = tensor([[0, 2, -100, 1]], { dtype: "int32", ...cpu });
  for (const numItemsInBatch of [undefined, 4]) {
    const g = checkGradient(
      [1, 4, 3],
      flat,
      (x) => causalLmLoss(x, labels, { numItemsInBatch }),
      `numItemsInBatch ${numItemsInBatch}`,
    );
    // Shifted labels are [2, -100, 1, -100]: positions 1 and 3 carry no gradient.
    assertEquals(Array.from(g.slice(3, 6)), [0, 0, 0]);
    assertEquals(Array.from(g.slice(9, 12)), [0, 0, 0]);
  }
});

Deno.test("nllLoss(), mseLoss() and bceWithLogits() gradients match finite differences", () => {
  const flat = randomRows(testRng(9), 3, 4).flat();
  const target = tensor([3, -100, 1], { dtype: "int32", ...cpu });
  checkGradient(
    [3, 4],
    flat,
    (x) => nllLoss(x, target, { weight: tensor([1, 2, 3, 4], f64) }),
    "nll",
  );
  const y = tensor([0.2, 1, 0, 0.7, 0.5, 0, 1, 1, 0.1, 0.9, 0, 0.4], { ...f64, shape: [3, 4] });
  checkGradient([3, 4], flat, (x) => mseLoss(x, y), "mse");
  const withZero = [0, ...flat.slice(1)];
  checkGradient([3, 4], withZero, (x) => bceWithLogits(x, y), "bce");
  const posWeight = tensor([2, 0.5, 1, 3], f64);
  const weight = tensor([1, 0.5, 2, 1], f64);
  checkGradient(
    [3, 4],
    withZero,
    (x) => bceWithLogits(x, y, { posWeight, weight, reduction: "sum" }),
    "bce posWeight",
  );
  // At x = 0 the gradient is sigmoid(0) - y, divided by the 12 elements of the mean.
  const x = tensor(Float64Array.from(withZero), { ...f64, shape: [3, 4], requiresGrad: true });
  const g0 = grad(bceWithLogits(x, y), [x])[0]!.dataSync()[0];
  assertAllClose([g0], [(0.5 - 0.2) / 12], { rtol: 1e-12 });
});

Deno.test("crossEntropy() keeps float64, upcasts float16 and accepts a single [C] row", () => {
  const t = tensor([1], { dtype: "int32", ...cpu });
  assertEquals(crossEntropy(zeros([1, 3], f64), t).dtype, "float64");
  const half = crossEntropy(zeros([1, 3], { dtype: "float16", ...cpu }), t);
  assertEquals(half.dtype, "float32");
  assertAllClose(half.dataSync(), [Math.log(3)]);
  // A single [C] row with a scalar target, like torch.
  const row = crossEntropy(zeros([4], cpu), tensor(2, { dtype: "int32", ...cpu }));
  assertEquals(row.shape, []);
  assertAllClose(row.dataSync(), [Math.log(4)]);
});

Deno.test("losses reject bad input with std-style errors", () => {
  const logits = zeros([2, 3], cpu);
  const t = tensor([0, 1], { dtype: "int32", ...cpu });
  assertThrows(() => crossEntropy(logits, tensor([0, 1], cpu)), DTypeError, "expected int32");
  assertThrows(
    () => crossEntropy(logits, tensor([0, 1, 2], { dtype: "int32", ...cpu })),
    ShapeError,
    "does not match input shape [2, 3]",
  );
  assertThrows(
    () => crossEntropy(logits, t, { reduction: "avg" as "mean" }),
    RangeError,
    'reduction is "avg"',
  );
  assertThrows(() => crossEntropy(logits, t, { labelSmoothing: 1.5 }), RangeError, "[0, 1]");
  assertThrows(
    () => crossEntropy(logits, t, { weight: zeros([2], cpu) }),
    ShapeError,
    "weight shape [2] is not [3]",
  );
  assertThrows(
    () => crossEntropy(logits, t, { numItemsInBatch: 2, reduction: "none" }),
    RangeError,
    "numItemsInBatch",
  );
  assertThrows(() => causalLmLoss(zeros([1, 2, 3], cpu), null), TypeError, "pass labels");
  assertThrows(
    () => causalLmLoss(zeros([1, 2, 3], cpu), tensor([[1, 2, 3]], { dtype: "int32", ...cpu })),
    ShapeError,
  );
  assertThrows(() => mseLoss(zeros([2], cpu), zeros([2, 1], cpu)), ShapeError, "differs");
  assertThrows(() => shiftLabels(zeros([2], cpu)), DTypeError);
});
