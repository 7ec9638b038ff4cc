import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import type { Tensor } from "@denoformers/core";
import { dynamicRopeUpdate } from "./dynamic_rope_update.ts";
import { ROPE_INIT_FUNCTIONS } from "./rope_init.ts";
import type { RopeConfig } from "./rope_parameters.ts";
import { RotaryEmbedding } from "./rotary_embedding.ts";
import { assertAllClose, testBackends } from "./_test_util.ts";

const values = async (t: Tensor): Promise<number[]> => Array.from(await t.data());

const DYNAMIC: RopeConfig = {
  head_dim: 8,
  max_position_embeddings: 64,
  rope_parameters: { rope_type: "dynamic", factor: 4 },
};

const LONGROPE: RopeConfig = {
  head_dim: 8,
  max_position_embeddings: 256,
  original_max_position_embeddings: 32,
  rope_parameters: {
    rope_type: "longrope",
    short_factor: [1, 1.5, 2, 2.5],
    long_factor: [4, 5, 6, 7],
  },
};

testBackends(
  "dynamicRopeUpdate: a short input after a long one restores the original frequencies",
  async (backend) => {
    const rope = new RotaryEmbedding(DYNAMIC);
    const [initial, original] = [rope.inv_freq, rope.original_inv_freq];
    dynamicRopeUpdate(rope, 64);
    assert(rope.inv_freq === initial && rope.maxSeqLenCached === 64, "seqLen = mpe: no change");
    dynamicRopeUpdate(rope, 200);
    assertEquals(rope.maxSeqLenCached, 200);
    const grown = ROPE_INIT_FUNCTIONS.dynamic(DYNAMIC, { seqLen: 200, backend }).invFreq;
    assertAllClose(await values(rope.inv_freq), await values(grown), { atol: 0 });
    const afterGrowth = rope.inv_freq;
    dynamicRopeUpdate(rope, 100);
    assert(rope.inv_freq === afterGrowth, "shorter than the cache but above mpe: kept");
    dynamicRopeUpdate(rope, 64);
    assert(rope.inv_freq === afterGrowth, "seqLen = mpe triggers no reset");
    dynamicRopeUpdate(rope, 10);
    assert(rope.inv_freq === original, "reset to the original buffer");
    assert(afterGrowth.isDisposed, "the replaced frequencies are released");
    assertEquals(rope.maxSeqLenCached, 64);
    const defaults = ROPE_INIT_FUNCTIONS.default(DYNAMIC, { backend }).invFreq;
    assertAllClose(await values(rope.inv_freq), await values(defaults), { rtol: 1e-7 });
  },
);

testBackends("dynamicRopeUpdate switches longrope between short and long factors", async () => {
  const rope = new RotaryEmbedding(LONGROPE);
  const scaling = rope.attentionScaling;
  assertAlmostEquals(scaling, Math.sqrt(1 + Math.log(8) / Math.log(32)), 1e-15);
  const P = [0, 1, 2, 3].map((i) => Math.pow(10000, (2 * i) / 8));
  const short = [1, 1.5, 2, 2.5];
  const long = [4, 5, 6, 7];
  assertAllClose(await values(rope.inv_freq), P.map((p, i) => 1 / (short[i] * p)), { rtol: 1e-6 });
  dynamicRopeUpdate(rope, 32);
  assert(rope.inv_freq === rope.original_inv_freq, "seqLen = omp keeps the short factors");
  dynamicRopeUpdate(rope, 33);
  const longFreq = rope.inv_freq;
  assertAllClose(await values(longFreq), P.map((p, i) => 1 / (long[i] * p)), { rtol: 1e-6 });
  assertEquals(rope.attentionScaling, scaling, "the switch leaves attentionScaling alone");
  dynamicRopeUpdate(rope, 5);
  assert(rope.inv_freq === rope.original_inv_freq);
  dynamicRopeUpdate(rope, 200);
  assert(rope.inv_freq === longFreq && !longFreq.isDisposed, "long frequencies are cached");
});

Deno.test("dynamicRopeUpdate leaves other rope types alone", () => {
  const rope = new RotaryEmbedding({
    head_dim: 4,
    max_position_embeddings: 8,
    rope_parameters: { rope_type: "yarn", factor: 2 },
  }, { backend: "cpu" });
  const before = [rope.inv_freq, rope.attentionScaling, rope.maxSeqLenCached];
  dynamicRopeUpdate(rope, 1000);
  assertEquals([rope.inv_freq, rope.attentionScaling, rope.maxSeqLenCached], before);
});
