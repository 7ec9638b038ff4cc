import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { arange, ShapeError, type Tensor, tensor, tidy, zeros } from "@denoformers/core";
import type { RopeConfig } from "./rope_parameters.ts";
import { dynamicRopeUpdate } from "./dynamic_rope_update.ts";
import { RotaryEmbedding, seqLenFromPositionIds } from "./rotary_embedding.ts";
import { assertAllClose, testBackends } from "./_test_util.ts";

const values = async (t: Tensor): Promise<number[]> => Array.from(await t.data());
const ids = (rows: number[][]): Tensor => tensor(rows, { dtype: "int32" });

const DYNAMIC: RopeConfig = {
  head_dim: 8,
  max_position_embeddings: 64,
  rope_parameters: { rope_type: "dynamic", factor: 4 },
};

testBackends(
  "RotaryEmbedding holds inv_freq and original_inv_freq as non-persistent buffers",
  async (backend) => {
    const rope = new RotaryEmbedding({ head_dim: 8, max_position_embeddings: 16 });
    assertEquals(Object.keys(rope.stateDict()), []);
    assertEquals(rope.namedBuffers().map(([name]) => name), ["inv_freq", "original_inv_freq"]);
    assert(rope.inv_freq !== rope.original_inv_freq, "the original is a copy");
    assertEquals([rope.inv_freq.shape, rope.inv_freq.dtype, rope.inv_freq.backend], [
      [4],
      "float32",
      backend,
    ]);
    assertEquals(
      [rope.ropeType, rope.attentionScaling, rope.maxSeqLenCached, rope.originalMaxSeqLen],
      ["default", 1, 16, 16],
    );
    assertAllClose(await values(rope.original_inv_freq), await values(rope.inv_freq), { atol: 0 });
  },
);

testBackends("RotaryEmbedding.forward() returns cos/sin of concat(freqs, freqs)", async () => {
  const config = { head_dim: 4, max_position_embeddings: 32, rope_theta: 100 };
  const rope = new RotaryEmbedding(config);
  const x = zeros([1]);
  const { cos, sin } = rope.call(x, ids([[0, 1, 2], [5, 7, 30]]));
  assertEquals([cos.shape, sin.shape, cos.dtype], [[2, 3, 4], [2, 3, 4], "float32"]);
  const positions = [0, 1, 2, 5, 7, 30];
  const freqs = [1, 0.1];
  const angles = positions.flatMap((p) => [...freqs, ...freqs].map((f) => p * f));
  assertAllClose(await values(cos), angles.map(Math.cos), { atol: 1e-5 });
  assertAllClose(await values(sin), angles.map(Math.sin), { atol: 1e-5 });
});

testBackends("RotaryEmbedding.forward() scales cos/sin by the attention factor", async () => {
  const config = {
    head_dim: 8,
    max_position_embeddings: 2048,
    rope_parameters: { rope_type: "yarn", factor: 10 },
  };
  const rope = new RotaryEmbedding(config);
  assertAlmostEquals(rope.attentionScaling, 0.1 * Math.log(10) + 1, 1e-15);
  const { cos } = rope.call(zeros([1]), ids([[0]]));
  assertAllClose(await values(cos), new Array(8).fill(rope.attentionScaling), { rtol: 1e-6 });
});

Deno.test("RotaryEmbedding.forward() casts cos/sin to the dtype of x", () => {
  const rope = new RotaryEmbedding({ head_dim: 4, max_position_embeddings: 8 }, { backend: "cpu" });
  const x = zeros([1], { dtype: "float64", backend: "cpu" });
  const positions = tensor([[0, 1]], { dtype: "int32", backend: "cpu" });
  const { cos, sin } = rope.call(x, positions);
  assertEquals([cos.dtype, sin.dtype], ["float64", "float64"]);
});

testBackends(
  "linear scaling at factor 10 makes position 10·x equal the original position x",
  async () => {
    const base = { head_dim: 16, max_position_embeddings: 128 };
    const plain = new RotaryEmbedding(base);
    const linear = new RotaryEmbedding({
      ...base,
      rope_parameters: { rope_type: "linear", factor: 10 },
    });
    const x = zeros([1]);
    const near = plain.call(x, ids([[0, 1, 2, 3, 7]]));
    const far = linear.call(x, ids([[0, 10, 20, 30, 70]]));
    assertAllClose(await values(far.cos), await values(near.cos), { atol: 1e-5 });
    assertAllClose(await values(far.sin), await values(near.sin), { atol: 1e-5 });
  },
);

testBackends("RotaryEmbedding.forward() applies the dynamic update first", async (backend) => {
  const rope = new RotaryEmbedding(DYNAMIC);
  const x = zeros([1]);
  const long = arange(0, 100).reshape([1, 100]);
  if (backend === "cpu") {
    rope.call(x, long); // read from the CPU position ids
  } else {
    assertThrows(() => rope.call(x, long), Error, "pass { seqLen }");
    rope.call(x, long, { seqLen: 100 });
  }
  assertEquals(rope.maxSeqLenCached, 100);
  // Inside tidy the new frequencies survive the scope.
  tidy(() => void rope.call(x, long, { seqLen: 120 }));
  assert(!rope.inv_freq.isDisposed);
  const { cos } = rope.call(x, ids([[1]]), { seqLen: 2 });
  const expected = (await values(rope.original_inv_freq)).map(Math.cos);
  assertAllClose(await values(cos), [...expected, ...expected], { atol: 1e-6 });
});

testBackends("seqLenFromPositionIds() is max(position_ids) + 1", async () => {
  assertEquals(await seqLenFromPositionIds(ids([[0, 1, 2], [4, 9, 3]])), 10);
});

Deno.test("RotaryEmbedding rejects bad configs and inputs", () => {
  assertThrows(
    () =>
      new RotaryEmbedding({
        head_dim: 4,
        max_position_embeddings: 8,
        rope_scaling: { type: "ntk" },
      }),
    RangeError,
    'Cannot build RotaryEmbedding: unknown rope_type "ntk", expected one of "default", "linear"',
  );
  assertThrows(
    () => new RotaryEmbedding({ head_dim: 4 }),
    TypeError,
    "Cannot build RotaryEmbedding: config.max_position_embeddings must be a positive integer, got undefined",
  );
  const rope = new RotaryEmbedding({ head_dim: 4, max_position_embeddings: 8 }, { backend: "cpu" });
  const x = zeros([1], { backend: "cpu" });
  assertThrows(
    () => rope.call(x, tensor([0, 1], { dtype: "int32", backend: "cpu" })),
    ShapeError,
    "Cannot compute rotary embeddings: expected position ids of shape [B, S], got [2]",
  );
  assertThrows(() => dynamicRopeUpdate(rope, -1), RangeError, "got -1");
  assertThrows(() => dynamicRopeUpdate(rope, 1.5), RangeError);
});
