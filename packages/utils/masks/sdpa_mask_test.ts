import { assert, assertEquals, assertThrows } from "@std/assert";
import { DTypeError, ShapeError, tensor, zeros } from "@denoformers/core";
import { maskRows, testBackends } from "./_test_util.ts";
import { chunkedCausalMaskFunction } from "./lookup_mask_functions.ts";
import { bidirectionalMaskFunction, slidingWindowCausalMaskFunction } from "./mask_functions.ts";
import { eagerMask, flashAttentionMask, minFiniteValue, sdpaMask } from "./sdpa_mask.ts";

const MIN32 = -3.4028234663852886e38;
const square5 = { batchSize: 1, qLength: 5, kvLength: 5 };

testBackends("sdpaMask() skips a plain causal mask (§5.9)", () => {
  assertEquals(sdpaMask(square5), null);
});

testBackends("sdpaMask() without the skip is lower-triangular (§5.9)", async () => {
  const mask = sdpaMask({ ...square5, allowIsCausalSkip: false })!;
  assertEquals([mask.shape, mask.dtype], [[1, 1, 5, 5], "bool"]);
  assertEquals(await maskRows(mask), [["10000", "11000", "11100", "11110", "11111"]]);
});

testBackends("sdpaMask() builds the §5.9 sliding-window-3 rows", async () => {
  const maskFunction = slidingWindowCausalMaskFunction(3);
  // localSize is what keeps a window mask from being skipped as plain causal.
  assertEquals(sdpaMask({ ...square5, maskFunction }), null);
  const mask = sdpaMask({ ...square5, maskFunction, localSize: 3 })!;
  assertEquals(await maskRows(mask), [["10000", "11000", "11100", "01110", "00111"]]);
});

testBackends("sdpaMask() builds the §5.9 chunk-3 rows", async () => {
  const maskFunction = chunkedCausalMaskFunction(3, zeros([1], { dtype: "int32" }));
  const mask = sdpaMask({ ...square5, maskFunction, allowIsCausalSkip: false })!;
  assertEquals(await maskRows(mask), [["10000", "11000", "11100", "00010", "00011"]]);
});

testBackends("left padding [[0, 1, 1]] gives the §5.9 eager and sdpa masks", async () => {
  const options = { batchSize: 1, qLength: 3, kvLength: 3, attentionMask: tensor([[0, 1, 1]]) };
  const eager = eagerMask(options)!;
  assertEquals([eager.shape, eager.dtype], [[1, 1, 3, 3], "float32"]);
  assertEquals(await eager.toArray(), [[[[MIN32, MIN32, MIN32], [MIN32, 0, MIN32], [
    MIN32,
    0,
    0,
  ]]]]);
  const sdpa = sdpaMask(options);
  assert(sdpa !== null, "padding must prevent the causal skip");
  assertEquals(await maskRows(sdpa!), [["000", "010", "011"]]);
});

testBackends("decoding after 4 cached tokens: sdpa skips, eager is zeros (§5.9)", async () => {
  const options = { batchSize: 1, qLength: 1, kvLength: 5, qOffset: 4 };
  assertEquals(sdpaMask(options), null);
  const eager = eagerMask(options)!;
  assertEquals(eager.shape, [1, 1, 1, 5]);
  assertEquals(await eager.toArray(), [[[[0, 0, 0, 0, 0]]]]);
});

testBackends("eagerMask() uses the dtype's most negative finite value", async () => {
  const mask = eagerMask({ batchSize: 1, qLength: 2, kvLength: 2, dtype: "float16" })!;
  assertEquals(mask.dtype, "float16");
  assertEquals(await mask.toArray(), [[[[0, -65504], [0, 0]]]]);
});

testBackends("sdpaMask() offsets the grid and pads a short 2-D mask with false", async () => {
  // Queries 2..3 against keys 1..4; the mask covers positions 0..3, so key 4 is padding.
  const mask = sdpaMask({
    batchSize: 2,
    qLength: 2,
    kvLength: 4,
    qOffset: 2,
    kvOffset: 1,
    attentionMask: tensor([[1, 1, 1, 1], [1, 0, 1, 1]]),
  })!;
  assertEquals(await maskRows(mask), [["1100", "1110"], ["0100", "0110"]]);
});

Deno.test("sdpaMask() skips when the 2-D mask has no padding in the kv window", () => {
  const attentionMask = tensor([[0, 1, 1, 1]], { backend: "cpu" });
  const options = { batchSize: 1, qLength: 3, kvLength: 3, kvOffset: 1, backend: "cpu" } as const;
  assertEquals(sdpaMask({ ...options, attentionMask }), null);
  assert(sdpaMask({ ...options, kvOffset: 0, attentionMask }) !== null);
});

Deno.test("sdpaMask() never skips once the kv length reaches localSize", () => {
  const options = { ...square5, backend: "cpu" } as const;
  assertEquals(sdpaMask({ ...options, localSize: 6 }), null);
  assert(sdpaMask({ ...options, localSize: 5 }) !== null);
  assert(sdpaMask({ batchSize: 1, qLength: 2, kvLength: 5, backend: "cpu" }) !== null);
});

testBackends("the bidirectional skip needs allowIsBidirectionalSkip and no padding", async () => {
  const options = { ...square5, maskFunction: bidirectionalMaskFunction, allowIsCausalSkip: false };
  assertEquals(sdpaMask({ ...options, allowIsBidirectionalSkip: true }), null);
  assertEquals(eagerMask({ ...options, allowIsBidirectionalSkip: true }), null);
  const full = sdpaMask(options)!;
  assertEquals(await maskRows(full), [["11111", "11111", "11111", "11111", "11111"]]);
});

testBackends(
  "sdpaMask() moves a CPU mask to the target backend, keeping skips exact",
  async (backend) => {
    const options = { batchSize: 1, qLength: 2, kvLength: 2, backend };
    assertEquals(
      sdpaMask({ ...options, attentionMask: tensor([[1, 1]], { backend: "cpu" }) }),
      null,
    );
    const mask = sdpaMask({ ...options, attentionMask: tensor([[0, 1]], { backend: "cpu" }) })!;
    assertEquals(mask.backend, backend);
    assertEquals(await maskRows(mask), [["00", "01"]]);
  },
);

testBackends(
  "flashAttentionMask() keeps the last K columns, or null without padding",
  async (backend) => {
    const attentionMask = tensor([[0, 1, 1, 1], [1, 1, 1, 1]], { backend: "cpu" });
    const options = { batchSize: 2, qLength: 1, attentionMask, backend };
    assertEquals(flashAttentionMask({ ...options, kvLength: 3 }), null);
    assertEquals(flashAttentionMask({ batchSize: 2, qLength: 1, kvLength: 3 }), null);
    const mask = flashAttentionMask({ ...options, kvLength: 4 })!;
    assertEquals(mask.backend, backend);
    assertEquals(await mask.toArray(), [[false, true, true, true], [true, true, true, true]]);
  },
);

testBackends("a mask that cannot be read synchronously is built, not skipped", async (backend) => {
  const mask = sdpaMask({ batchSize: 1, qLength: 2, kvLength: 2, attentionMask: tensor([[1, 1]]) });
  if (backend === "cpu") {
    assertEquals(mask, null);
  } else {
    // Same attention pattern as the skip: plain causal.
    assertEquals(await maskRows(mask!), [["10", "11"]]);
  }
});

Deno.test("sdpaMask() rejects bad sizes and masks", () => {
  assertThrows(
    () => sdpaMask({ batchSize: 1, qLength: -1, kvLength: 2, backend: "cpu" }),
    RangeError,
    "Cannot build an attention mask: qLength must be a non-negative integer, got -1",
  );
  assertThrows(
    () =>
      sdpaMask({ ...square5, attentionMask: tensor([[1, 1]], { backend: "cpu" }), batchSize: 2 }),
    ShapeError,
    "Cannot build an attention mask: the 2-D mask has shape [1, 2], expected [2, length]",
  );
});

Deno.test("eagerMask() rejects non-float dtypes", () => {
  assertThrows(
    () => eagerMask({ ...square5, dtype: "int32", backend: "cpu" }),
    DTypeError,
    "Cannot build an additive mask of dtype int32: expected a float dtype",
  );
  assertEquals([minFiniteValue("float32"), minFiniteValue("float64")], [MIN32, -Number.MAX_VALUE]);
});
