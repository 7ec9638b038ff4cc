import { assertEquals, assertThrows } from "@std/assert";
import { memory, tensor, zeros } from "@denoformers/core";
import { maskRows, testBackends } from "./_test_util.ts";
import {
  createBidirectionalMask,
  createBidirectionalSlidingWindowMask,
} from "./create_bidirectional_masks.ts";
import { createCausalMask, createChunkedCausalMask } from "./create_masks.ts";
import type { MaskFunction } from "./mask_functions.ts";

const MIN32 = -3.4028234663852886e38;
const sdpa = { _attn_implementation: "sdpa" };
const eager = { _attn_implementation: "eager" };

testBackends("createBidirectionalMask() masks only padded keys", async () => {
  const inputsEmbeds = zeros([2, 2, 2]);
  assertEquals(createBidirectionalMask({ config: sdpa, inputsEmbeds }), null);
  assertEquals(createBidirectionalMask({ config: eager, inputsEmbeds }), null);
  const attentionMask = tensor([[1, 1], [0, 1]]);
  const mask = createBidirectionalMask({ config: eager, inputsEmbeds, attentionMask })!;
  assertEquals(await mask.toArray(), [[[[0, 0], [0, 0]]], [[[MIN32, 0], [MIN32, 0]]]]);
});

testBackends("createBidirectionalMask() sizes cross-attention by the encoder states", async () => {
  const inputsEmbeds = zeros([1, 2, 2]);
  const encoderHiddenStates = zeros([1, 3, 2], { dtype: "float16" });
  const options = { config: eager, inputsEmbeds, encoderHiddenStates };
  const mask = createBidirectionalMask({
    ...options,
    andMaskFunction: (_b, _h, _q, kv) => kv.ne(1),
  })!;
  assertEquals([mask.shape, mask.dtype], [[1, 1, 2, 3], "float16"]);
  assertEquals(await mask.toArray(), [[[[0, -65504, 0], [0, -65504, 0]]]]);
});

testBackends("or/and functions disable the bidirectional skip", async () => {
  const firstKeyOnly: MaskFunction = (_b, _h, _q, kv) => kv.eq(0);
  const inputsEmbeds = zeros([1, 2, 2]);
  const mask = createBidirectionalMask({
    config: sdpa,
    inputsEmbeds,
    andMaskFunction: firstKeyOnly,
  })!;
  assertEquals(await maskRows(mask), [["10", "10"]]);
  const all = createBidirectionalMask({
    config: sdpa,
    inputsEmbeds,
    orMaskFunction: firstKeyOnly,
  })!;
  assertEquals(await maskRows(all), [["11", "11"]]);
});

testBackends("createBidirectionalSlidingWindowMask() keeps |q - kv| <= window", async () => {
  const config = { ...sdpa, sliding_window: 1 };
  const mask = createBidirectionalSlidingWindowMask({ config, inputsEmbeds: zeros([1, 4, 2]) })!;
  assertEquals(await maskRows(mask), [["1100", "1110", "0111", "0011"]]);
  // A window at least as long as the keys cannot exclude anything: skipped.
  const wide = { ...sdpa, sliding_window: 5 };
  assertEquals(
    createBidirectionalSlidingWindowMask({ config: wide, inputsEmbeds: zeros([1, 4, 2]) }),
    null,
  );
});

Deno.test("createBidirectionalSlidingWindowMask() requires config.sliding_window", () => {
  assertThrows(
    () =>
      createBidirectionalSlidingWindowMask({
        config: sdpa,
        inputsEmbeds: zeros([1, 2, 2], { backend: "cpu" }),
      }),
    TypeError,
    "Cannot create a bidirectional sliding-window mask: the config has no `sliding_window`",
  );
});

testBackends("the builders leave no intermediate tensors behind", (backend) => {
  const inputsEmbeds = zeros([2, 3, 2]);
  const attentionMask = tensor([[0, 1, 1], [1, 1, 1]]);
  const positionIds = tensor([[0, 1, 0], [0, 1, 2]], { dtype: "int32" });
  const cpuMask = tensor([[0, 1, 1], [1, 1, 1]], { backend: "cpu" });
  const config = { ...eager, attention_chunk_size: 2 };
  const before = memory(backend).liveTensors;
  const masks = [
    createCausalMask({ config, inputsEmbeds, attentionMask }),
    createCausalMask({ config, inputsEmbeds, positionIds }),
    createChunkedCausalMask({ config, inputsEmbeds, attentionMask: cpuMask }),
    createBidirectionalMask({ config, inputsEmbeds, attentionMask }),
  ];
  assertEquals(memory(backend).liveTensors - before, masks.length);
  for (const m of masks) m!.dispose();
});
