import { assert, assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import { arange, ShapeError, tensor, zeros } from "@denoformers/core";
import { maskRows, testBackends } from "./_test_util.ts";
import {
  createCausalMask,
  createChunkedCausalMask,
  createSlidingWindowCausalMask,
} from "./create_masks.ts";
import type { MaskFunction } from "./mask_functions.ts";
import { AttentionMaskInterface } from "./mask_interface.ts";
import type { MaskCache } from "./types.ts";

/** Cache sizes of a dynamic cache (§5.6); `windows[i]` is layer i's sliding window or null. */
class DynamicCacheSizes implements MaskCache {
  constructor(
    readonly seen: number,
    readonly windows: readonly (number | null)[] = [null],
    readonly isCompileable = false,
  ) {}
  get isSliding(): boolean[] {
    return this.windows.map((w) => w !== null);
  }
  getSeqLength(): number {
    return this.seen;
  }
  getMaskSizes(qLength: number, layerIdx: number): [number, number] {
    const w = this.windows[layerIdx] ?? null;
    if (w === null) return [this.seen + qLength, 0];
    const c = this.seen;
    return c >= w ? [w - 1 + qLength, Math.max(c - w + 1, 0)] : [c + qLength, 0];
  }
}

const MIN32 = -3.4028234663852886e38;
const sdpa = { _attn_implementation: "sdpa" };
const eager = { _attn_implementation: "eager" };
const embeds = (batch: number, q: number) => zeros([batch, q, 2]);

testBackends("createCausalMask() follows the §5.9 examples through the config", async () => {
  assertEquals(createCausalMask({ config: sdpa, inputsEmbeds: embeds(1, 5) }), null);
  const attentionMask = tensor([[0, 1, 1]], { dtype: "int32" });
  const mask = createCausalMask({ config: eager, inputsEmbeds: embeds(1, 3), attentionMask })!;
  assertEquals(await mask.toArray(), [[[[MIN32, MIN32, MIN32], [MIN32, 0, MIN32], [MIN32, 0, 0]]]]);
});

testBackends("createCausalMask() sizes decoding from the cache (§5.9)", async () => {
  const pastKeyValues = new DynamicCacheSizes(4);
  const options = { inputsEmbeds: embeds(1, 1), pastKeyValues };
  assertEquals(createCausalMask({ ...options, config: sdpa }), null);
  const mask = createCausalMask({ ...options, config: eager })!;
  assertEquals(mask.shape, [1, 1, 1, 5]);
  assertEquals(await mask.toArray(), [[[[0, 0, 0, 0, 0]]]]);
});

testBackends("createSlidingWindowCausalMask() uses the §5.6 cache window", async () => {
  // Window 4, 8 tokens cached, 1 new token: keys 5..8, query 8. Key 6 is padding.
  const pastKeyValues = new DynamicCacheSizes(8, [4]);
  const attentionMask = tensor([[1, 1, 1, 1, 1, 1, 0, 1, 1]]);
  const config = { ...sdpa, sliding_window: 4 };
  const options = { config, inputsEmbeds: embeds(1, 1), pastKeyValues };
  assertEquals(await maskRows(createSlidingWindowCausalMask({ ...options, attentionMask })!), [[
    "1011",
  ]]);
  // kvLength 4 reaches the window, so even without padding the mask is built.
  assertEquals(await maskRows(createSlidingWindowCausalMask(options)!), [["1111"]]);
});

Deno.test("hybrid caches size each builder by the matching layer type", () => {
  const pastKeyValues = new DynamicCacheSizes(8, [4, null]);
  const config = { ...eager, sliding_window: 4 };
  const inputsEmbeds = zeros([1, 1, 2], { backend: "cpu" });
  assertEquals(createCausalMask({ config, inputsEmbeds, pastKeyValues })!.shape, [1, 1, 1, 9]);
  const sliding = createSlidingWindowCausalMask({ config, inputsEmbeds, pastKeyValues })!;
  assertEquals(sliding.shape, [1, 1, 1, 4]);
});

testBackends("createChunkedCausalMask() counts chunks from each row's first token", async () => {
  const config = { ...sdpa, attention_chunk_size: 3 };
  assertEquals(await maskRows(createChunkedCausalMask({ config, inputsEmbeds: embeds(1, 5) })!), [[
    "10000",
    "11000",
    "11100",
    "00010",
    "00011",
  ]]);
  // Row 1 has 2 left-padding tokens: its chunks are {2, 3, 4}.
  const attentionMask = tensor([[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]]);
  const mask = createChunkedCausalMask({ config, inputsEmbeds: embeds(2, 5), attentionMask })!;
  assertEquals((await maskRows(mask))[1], ["00000", "00000", "00100", "00110", "00111"]);
});

testBackends("createCausalMask() ANDs packed sequences found in positionIds", async () => {
  const positionIds = tensor([[0, 1, 0, 1, 2]], { dtype: "int32" });
  const mask = createCausalMask({ config: sdpa, inputsEmbeds: embeds(1, 5), positionIds })!;
  assertEquals(await maskRows(mask), [["10000", "11000", "00100", "00110", "00111"]]);
});

Deno.test("packed detection: consecutive positions, a mask or a cache leave the skip on", () => {
  const inputsEmbeds = zeros([2, 3, 2], { backend: "cpu" });
  const positionIds = arange(0, 3, 1, { backend: "cpu" }).reshape([1, 3]);
  assertEquals(createCausalMask({ config: sdpa, inputsEmbeds, positionIds }), null);
  const flat = arange(4, 7, 1, { backend: "cpu" });
  assertEquals(createCausalMask({ config: sdpa, inputsEmbeds, positionIds: flat }), null);
  const packed = tensor([[0, 1, 0], [0, 0, 1]], { dtype: "int32", backend: "cpu" });
  const attentionMask = tensor([[1, 1, 1], [1, 1, 1]], { backend: "cpu" });
  assertEquals(
    createCausalMask({ config: sdpa, inputsEmbeds, attentionMask, positionIds: packed }),
    null,
  );
  const pastKeyValues = new DynamicCacheSizes(0);
  assertEquals(
    createCausalMask({ config: sdpa, inputsEmbeds, pastKeyValues, positionIds: packed }),
    null,
  );
});

testBackends("or/and mask functions are combined first and disable the skip", async () => {
  const seeKey4: MaskFunction = (_b, _h, _q, kv) => kv.eq(4);
  const notKey0: MaskFunction = (_b, _h, _q, kv) => kv.ne(0);
  const mask = createCausalMask({
    config: sdpa,
    inputsEmbeds: embeds(1, 5),
    orMaskFunction: seeKey4,
    andMaskFunction: notKey0,
  })!;
  assertEquals(await maskRows(mask), [["00001", "01001", "01101", "01111", "01111"]]);
});

Deno.test("createCausalMask() passes 4-D masks through and skips unregistered implementations", () => {
  const inputsEmbeds = zeros([1, 2, 2], { backend: "cpu" });
  const prepared = zeros([1, 1, 2, 2], { backend: "cpu" });
  assertStrictEquals(
    createCausalMask({ config: sdpa, inputsEmbeds, attentionMask: prepared }),
    prepared,
  );
  const attentionMask = tensor([[0, 1]], { backend: "cpu" });
  for (const _attn_implementation of ["my_kernel", null, undefined]) {
    assertEquals(
      createCausalMask({ config: { _attn_implementation }, inputsEmbeds, attentionMask }),
      null,
    );
  }
  // Registered only locally on an instance: not a global key, so still no mask.
  assert(!AttentionMaskInterface.isRegistered("my_kernel"));
});

Deno.test("createCausalMask() takes the kv length from a longer 2-D mask, and honours compileable caches", () => {
  const inputsEmbeds = zeros([1, 2, 2], { backend: "cpu" });
  const attentionMask = tensor([[1, 1, 1, 1]], { backend: "cpu" });
  assertEquals(createCausalMask({ config: eager, inputsEmbeds, attentionMask })!.shape, [
    1,
    1,
    2,
    4,
  ]);
  const pastKeyValues = new DynamicCacheSizes(0, [null], true);
  assert(createCausalMask({ config: sdpa, inputsEmbeds, pastKeyValues }) !== null);
});

Deno.test("createCausalMask() with is_causal false builds a bidirectional mask", async () => {
  const inputsEmbeds = zeros([1, 2, 2], { backend: "cpu" });
  const config = { ...eager, is_causal: false };
  assertEquals(createCausalMask({ config, inputsEmbeds }), null);
  const attentionMask = tensor([[1, 0]], { backend: "cpu" });
  const padded = createCausalMask({ config, inputsEmbeds, attentionMask })!;
  assertEquals(await padded.toArray(), [[[[0, MIN32], [0, MIN32]]]]);
  const sliding = createSlidingWindowCausalMask({
    config: { ...config, sliding_window: 1 },
    inputsEmbeds,
  });
  assertEquals(await sliding!.toArray(), [[[[0, 0], [0, 0]]]]);
});

Deno.test("the builders reject configs and masks they cannot use", () => {
  const inputsEmbeds = zeros([1, 4, 2], { backend: "cpu" });
  assertThrows(
    () => createSlidingWindowCausalMask({ config: sdpa, inputsEmbeds }),
    TypeError,
    "Cannot create a sliding-window mask: the config has no `sliding_window`",
  );
  assertThrows(
    () => createSlidingWindowCausalMask({ config: { ...sdpa, sliding_window: 0 }, inputsEmbeds }),
    RangeError,
    "Cannot create a sliding-window mask: `sliding_window` must be a positive integer, got 0",
  );
  assertThrows(
    () => createChunkedCausalMask({ config: sdpa, inputsEmbeds }),
    TypeError,
    "Cannot create a chunked mask: the config has no `attention_chunk_size`",
  );
  const flash = { _attn_implementation: "flash_attention_2", attention_chunk_size: 3 };
  assertThrows(
    () => createChunkedCausalMask({ config: flash, inputsEmbeds }),
    RangeError,
    'Cannot create a chunked mask for "flash_attention_2": the key/value length 4 exceeds the chunk size 3',
  );
  assertThrows(
    () =>
      createCausalMask({
        config: sdpa,
        inputsEmbeds,
        attentionMask: zeros([1, 4, 4], { backend: "cpu" }),
      }),
    ShapeError,
    "Cannot create an attention mask: expected a 2-D padding mask or a prepared 4-D mask, got shape [1, 4, 4]",
  );
  // Unregistered implementations exit before the config is read.
  assertEquals(
    createChunkedCausalMask({ config: { _attn_implementation: "x" }, inputsEmbeds }),
    null,
  );
});

testBackends("flash_attention_2 gets the 2-D mask, or null without padding", async () => {
  const config = { _attn_implementation: "flash_attention_2" };
  const inputsEmbeds = embeds(1, 3);
  // A CPU mask is read on the host before it moves, so "no padding" is known on every backend.
  const full = tensor([[1, 1, 1]], { backend: "cpu" });
  assertEquals(createCausalMask({ config, inputsEmbeds, attentionMask: full }), null);
  const mask = createCausalMask({ config, inputsEmbeds, attentionMask: tensor([[0, 1, 1]]) })!;
  assertEquals(await mask.toArray(), [[false, true, true]]);
});
