import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { tensor } from "../creation.ts";
import type { Tensor } from "../tensor.ts";
import { assertAllClose, testBackends } from "../_testing/backends.ts";
import { clipGradNorm, clipGradValue } from "./clip_grad.ts";

function withGrad(values: number[]): Tensor {
  const p = tensor(values.map(() => 0), { requiresGrad: true });
  p.grad = tensor(values);
  return p;
}

testBackends(
  "clipGradNorm() returns the total norm and scales by maxNorm / (total + 1e-6)",
  async () => {
    const a = withGrad([3, 4]);
    const b = withGrad([12]);
    const none = tensor([1], { requiresGrad: true });
    const total = clipGradNorm([a, none, b], 6.5);
    assertAllClose([await total.item()], [13]);
    const coef = 6.5 / (13 + 1e-6);
    assertAllClose(await a.grad!.data(), [3 * coef, 4 * coef]);
    assertAllClose(await b.grad!.data(), [12 * coef]);
    assertEquals(none.grad, null);
  },
);

testBackends("clipGradNorm() leaves gradients alone below maxNorm", async () => {
  const a = withGrad([0.3, -0.4]);
  const g = a.grad;
  assertAllClose([await clipGradNorm(a, 1).item()], [0.5]);
  assert(a.grad === g, "the grad object is kept");
  assertEquals(Array.from(await a.grad!.data()), Array.from(new Float32Array([0.3, -0.4])));
});

testBackends("clipGradNorm() supports normType 1, 3 and Infinity", async () => {
  const cases: [number, number][] = [[1, 19], [3, Math.cbrt(27 + 64 + 1728)], [Infinity, 12]];
  for (const [normType, expected] of cases) {
    const a = withGrad([3, -4]);
    const b = withGrad([-12]);
    assertAllClose([await clipGradNorm([a, b], 100, { normType }).item()], [expected], {
      label: `p = ${normType}`,
    });
    const c = withGrad([3, -4]);
    const d = withGrad([-12]);
    clipGradNorm([c, d], 2, { normType });
    const coef = 2 / (expected + 1e-6);
    assertAllClose(await d.grad!.data(), [-12 * coef], { label: `p = ${normType}` });
  }
});

testBackends(
  "clipGradNorm() with errorIfNonfinite rejects and leaves gradients alone",
  async () => {
    const a = withGrad([NaN, 1]);
    await assertRejects(
      () => clipGradNorm([a], 1, { errorIfNonfinite: true }),
      RangeError,
      "the total norm of order 2 is NaN",
    );
    assertEquals((await a.grad!.toArray() as number[])[1], 1);
    const ok = withGrad([6, 8]);
    const total = await clipGradNorm([ok], 5, { errorIfNonfinite: true });
    assertAllClose([await total.item()], [10]);
    assertAllClose(await ok.grad!.data(), [3, 4], { rtol: 1e-6 });
  },
);

testBackends("clipGradNorm() of parameters without gradients is 0", async () => {
  assertEquals(await clipGradNorm([tensor([1])], 1).item(), 0);
});

testBackends("clipGradValue() clamps every gradient in place", async () => {
  const a = withGrad([3, -0.5, -7]);
  const g = a.grad;
  clipGradValue([a], 2);
  assert(a.grad === g);
  assertEquals(await a.grad!.toArray(), [2, -0.5, -2]);
});

Deno.test("clipGradNorm() and clipGradValue() reject bad arguments", () => {
  const a = tensor([1], { backend: "cpu" });
  assertThrows(
    () => clipGradNorm([a], -1),
    RangeError,
    "Cannot clip gradients: maxNorm is -1, expected a non-negative number",
  );
  assertThrows(() => clipGradNorm([a], 1, { normType: 0 }), RangeError, "normType is 0");
  assertThrows(() => clipGradValue([a], -2), RangeError, "clipValue is -2");
});
