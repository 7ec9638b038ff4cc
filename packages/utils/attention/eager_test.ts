import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { DTypeError, manualSeed, memory, ShapeError, tensor, zeros } from "@denoformers/core";
import { eagerAttentionForward } from "./eager.ts";
import {
  assertAllClose,
  checkGradients,
  masks,
  MIN_FLOAT32,
  randomTensor,
  seededRandom,
  testBackends,
} from "./_test_util.ts";

const evalModule = { training: false };

testBackends(
  "eagerAttentionForward() gives a uniform row, not NaN, when every key is masked",
  async () => {
    const random = seededRandom(1);
    const q = randomTensor([1, 2, 3, 4], random);
    const k = randomTensor([1, 2, 5, 4], random).mul(30); // large scores: masking must still win
    const v = randomTensor([1, 2, 5, 4], random);
    // Query 0 sees nothing; query 1 sees keys 0..1; query 2 sees everything.
    const mask = masks([1, 3, 5], (_b, q, k) => q === 2 || (q === 1 && k < 2)).additive;
    const { output, weights } = eagerAttentionForward(evalModule, q, k, v, mask, {});
    const w = await weights!.toArray() as number[][][][];
    for (const head of w[0]) {
      assertAllClose(head[0], [0.2, 0.2, 0.2, 0.2, 0.2], { label: "fully masked row" });
      assertEquals(head[1].slice(2), [0, 0, 0]);
      assertAlmostEquals(head[1][0] + head[1][1], 1, 1e-6);
    }
    const out = await output.data();
    assert(out.every(Number.isFinite));
    const meanV = await v.mean(2).data(); // [1, 2, 4]: what a uniform row yields, per head
    assertAllClose(Array.from(out).slice(0, 8), meanV, { label: "query 0 output" });
  },
);

testBackends("eagerAttentionForward() defaults scaling to D^-0.5 and applies softcap", async () => {
  const random = seededRandom(2);
  const q = randomTensor([1, 1, 2, 4], random).mul(4);
  const k = randomTensor([1, 1, 3, 4], random);
  const v = randomTensor([1, 1, 3, 4], random);
  const byDefault = eagerAttentionForward(evalModule, q, k, v, null, {}).weights!;
  const explicit = eagerAttentionForward(evalModule, q, k, v, null, { scaling: 0.5 }).weights!;
  assertAllClose(await byDefault.data(), await explicit.data());
  const capped = eagerAttentionForward(evalModule, q, k, v, null, { scaling: 1, softcap: 2 });
  const scores = q.matmul(k.transpose(2, 3)).div(2).tanh().mul(2);
  assertAllClose(await capped.weights!.data(), await scores.softmax(-1).data());
});

testBackends("eagerAttentionForward() applies dropout only in training mode", async () => {
  const random = seededRandom(3);
  const q = randomTensor([1, 2, 4, 4], random);
  const k = randomTensor([1, 2, 4, 4], random);
  const v = randomTensor([1, 2, 4, 4], random);
  const plain = await eagerAttentionForward(evalModule, q, k, v, null, {}).weights!.data();
  const evaluated = await eagerAttentionForward(evalModule, q, k, v, null, { dropout: 0.5 })
    .weights!.data();
  assertEquals(evaluated, plain);
  manualSeed(0);
  const trained = await eagerAttentionForward({ training: true }, q, k, v, null, { dropout: 0.5 })
    .weights!.data();
  const dropped = trained.filter((w) => w === 0).length;
  assert(dropped > 0 && dropped < trained.length, `${dropped} of ${trained.length} dropped`);
  trained.forEach((w, i) => assert(w === 0 || Math.abs(w - 2 * plain[i]) < 1e-6));
});

Deno.test("eagerAttentionForward() gradients match finite differences (float64, GQA, padding)", () => {
  const random = seededRandom(4);
  const rand = (n: number) => Float64Array.from({ length: n }, () => 2 * random() - 1);
  const [b, h, kvh, n, d] = [2, 2, 1, 3, 2];
  const mask = masks([b, n, n], (bi, q, k) => k <= q && k < [3, 2][bi]).additive.cast("float64");
  const probe = tensor(rand(b * n * h * d), { shape: [b, n, h, d], dtype: "float64" });
  checkGradients(
    ([q, k, v]) => eagerAttentionForward(evalModule, q, k, v, mask, {}).output.mul(probe).sum(),
    [
      { values: rand(b * h * n * d), shape: [b, h, n, d] },
      { values: rand(b * kvh * n * d), shape: [b, kvh, n, d] },
      { values: rand(b * kvh * n * d), shape: [b, kvh, n, d] },
    ],
  );
});

Deno.test("eagerAttentionForward() rejects bad input before queueing any op", () => {
  const q = zeros([1, 4, 2, 8], { backend: "cpu" });
  const kv = zeros([1, 2, 3, 8], { backend: "cpu" });
  const bool = tensor([[[[true, true, false]]]], { backend: "cpu" });
  const wideMask = zeros([1, 1, 2, 4], { backend: "cpu" });
  const narrowKey = zeros([1, 2, 3, 4], { backend: "cpu" });
  const q3 = q.reshape([4, 2, 8]);
  // deno-lint-ignore no-explicit-any
  const cases: [() => unknown, new (...args: any[]) => Error, string][] = [
    [
      () => eagerAttentionForward(evalModule, q, kv, kv, bool, {}),
      DTypeError,
      "Cannot apply attention mask of dtype bool in eagerAttentionForward: expected an additive float mask",
    ],
    [
      () => eagerAttentionForward(evalModule, q, kv, kv, wideMask, {}),
      ShapeError,
      "Cannot apply attention mask of shape [1, 1, 2, 4] in eagerAttentionForward: " +
      "it does not broadcast to the scores' shape [B, H, Q, K] = [1, 4, 2, 3]",
    ],
    [
      () => eagerAttentionForward({ training: false, numKeyValueGroups: 3 }, q, kv, kv, null, {}),
      ShapeError,
      "4 query heads are not 3 groups of 2 key/value heads",
    ],
    [
      () => eagerAttentionForward(evalModule, q, narrowKey, kv, null, {}),
      ShapeError,
      "query and key head dimensions differ",
    ],
    [() => eagerAttentionForward(evalModule, q3, kv, kv, null, {}), ShapeError, "must be 4-D"],
    [
      () => eagerAttentionForward(evalModule, q, kv, kv, null, { dropout: 1.5 }),
      RangeError,
      "Cannot apply attention dropout 1.5 in eagerAttentionForward",
    ],
    [
      () => eagerAttentionForward(evalModule, q, kv, kv, null, { softcap: -1 }),
      RangeError,
      "Cannot soft-cap attention scores with softcap -1",
    ],
  ];
  for (const [call, type, message] of cases) {
    const live = memory("cpu").liveTensors;
    assertThrows(call, type, message);
    assertEquals(memory("cpu").liveTensors, live, `nothing was created before "${message}"`);
  }
  assertEquals(MIN_FLOAT32, -new Float32Array([3.4028234663852886e38])[0]);
});
