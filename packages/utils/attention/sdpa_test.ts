import { assert, assertEquals, assertThrows } from "@std/assert";
import { DTypeError, manualSeed, tensor, zeros } from "@denoformers/core";
import { eagerAttentionForward } from "./eager.ts";
import { sdpaAttentionForward } from "./sdpa.ts";
import {
  assertAllClose,
  checkGradients,
  masks,
  randomTensor,
  seededRandom,
  testBackends,
} from "./_test_util.ts";

const evalModule = { training: false };

testBackends("sdpaAttentionForward() decides the causal flag as Hugging Face does", async () => {
  const random = seededRandom(10);
  const q = randomTensor([1, 2, 3, 4], random);
  const k = randomTensor([1, 2, 3, 4], random);
  const v = randomTensor([1, 2, 3, 4], random);
  const causal = masks([1, 3, 3], (_b, q, k) => k <= q).additive;
  const eagerCausal = await eagerAttentionForward(evalModule, q, k, v, causal, {}).output.data();
  const eagerFull = await eagerAttentionForward(evalModule, q, k, v, null, {}).output.data();
  const run = (module: { training: boolean; isCausal?: boolean }, isCausal?: boolean) =>
    sdpaAttentionForward(module, q, k, v, null, { isCausal }).output.data();
  assertAllClose(await run(evalModule), eagerCausal, { label: "default: causal" });
  assertAllClose(await run({ training: false, isCausal: false }), eagerFull, {
    label: "module.isCausal false",
  });
  assertAllClose(await run({ training: false, isCausal: false }, true), eagerCausal, {
    label: "the option overrides the module",
  });
  assertAllClose(await run(evalModule, false), eagerFull, { label: "option false" });
  // Any explicit mask turns the flag off: an all-true mask means full attention.
  const allTrue = masks([1, 3, 3], () => true).bool;
  const explicit = sdpaAttentionForward(evalModule, q, k, v, allTrue, { isCausal: true });
  assertAllClose(await explicit.output.data(), eagerFull, { label: "explicit mask" });
});

testBackends(
  "sdpaAttentionForward() never treats one query as causal; Q≠K is top-left",
  async () => {
    const random = seededRandom(11);
    const k = randomTensor([1, 1, 4, 2], random);
    const v = randomTensor([1, 1, 4, 2], random);
    const one = randomTensor([1, 1, 1, 2], random);
    assertAllClose(
      await sdpaAttentionForward(evalModule, one, k, v, null, { isCausal: true }).output.data(),
      await eagerAttentionForward(evalModule, one, k, v, null, {}).output.data(),
      { label: "Q = 1 sees every key" },
    );
    // Two queries over four keys with the flag: query i sees keys 0..i (top-left alignment).
    const two = randomTensor([1, 1, 2, 2], random);
    const topLeft = masks([1, 2, 4], (_b, q, k) => k <= q).additive;
    assertAllClose(
      await sdpaAttentionForward(evalModule, two, k, v, null, {}).output.data(),
      await eagerAttentionForward(evalModule, two, k, v, topLeft, {}).output.data(),
    );
  },
);

testBackends("sdpaAttentionForward() adds a float mask as is and rejects int32 masks", async () => {
  const random = seededRandom(12);
  const q = randomTensor([2, 2, 3, 4], random);
  const k = randomTensor([2, 2, 3, 4], random);
  const v = randomTensor([2, 2, 3, 4], random);
  const additive = masks([2, 3, 3], (b, q, k) => k <= q && k >= b).additive;
  assertAllClose(
    await sdpaAttentionForward(evalModule, q, k, v, additive, {}).output.data(),
    await eagerAttentionForward(evalModule, q, k, v, additive, {}).output.data(),
  );
  assertThrows(
    () => sdpaAttentionForward(evalModule, q, k, v, additive.cast("int32"), {}),
    DTypeError,
    "Cannot apply attention mask of dtype int32 in sdpaAttentionForward",
  );
});

testBackends("sdpaAttentionForward() applies dropout only in training mode", async () => {
  const random = seededRandom(13);
  const q = randomTensor([1, 2, 4, 4], random);
  const k = randomTensor([1, 2, 4, 4], random);
  const v = randomTensor([1, 2, 4, 4], random);
  const options = { dropout: 0.5 };
  const plain = await sdpaAttentionForward(evalModule, q, k, v, null, {}).output.data();
  const evaluated = await sdpaAttentionForward(evalModule, q, k, v, null, options).output.data();
  assertEquals(evaluated, plain);
  // The same seed draws the same mask over the probabilities in both implementations.
  manualSeed(5);
  const sdpa = await sdpaAttentionForward({ training: true }, q, k, v, null, options).output.data();
  const causal = masks([1, 4, 4], (_b, q, k) => k <= q).additive;
  manualSeed(5);
  const eager = await eagerAttentionForward({ training: true }, q, k, v, causal, options).output
    .data();
  assertAllClose(sdpa, eager, { label: "same dropout mask" });
  assert(sdpa.some((x, i) => Math.abs(x - plain[i]) > 1e-4), "dropout changed the output");
});

Deno.test("sdpaAttentionForward() gradients match finite differences (float64, GQA)", () => {
  const random = seededRandom(14);
  const rand = (n: number) => Float64Array.from({ length: n }, () => 2 * random() - 1);
  const [b, h, kvh, n, d] = [2, 2, 1, 3, 2];
  const probe = tensor(rand(b * n * h * d), { shape: [b, n, h, d], dtype: "float64" });
  const padded = masks([b, n, n], (bi, q, k) => k <= q && k < [3, 2][bi]).bool;
  for (const mask of [null, padded]) {
    checkGradients(
      ([q, k, v]) => sdpaAttentionForward(evalModule, q, k, v, mask, {}).output.mul(probe).sum(),
      [
        { values: rand(b * h * n * d), shape: [b, h, n, d] },
        { values: rand(b * kvh * n * d), shape: [b, kvh, n, d] },
        { values: rand(b * kvh * n * d), shape: [b, kvh, n, d] },
      ],
    );
  }
});

Deno.test("sdpaAttentionForward() returns no weights and warns once when asked for them", () => {
  const q = zeros([1, 1, 2, 2], { backend: "cpu" });
  const warn = console.warn;
  const messages: unknown[][] = [];
  console.warn = (...args: unknown[]) => messages.push(args);
  try {
    for (let i = 0; i < 2; i++) {
      const out = sdpaAttentionForward(evalModule, q, q, q, null, { outputAttentions: true });
      assertEquals(out.weights, null);
    }
  } finally {
    console.warn = warn;
  }
  assertEquals(messages.length, 1);
  assert(String(messages[0][0]).includes("cannot return attention weights"));
});
