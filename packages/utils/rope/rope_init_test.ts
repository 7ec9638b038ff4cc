import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import type { Tensor } from "@denoformers/core";
import { ROPE_INIT_FUNCTIONS, yarnCorrectionRange } from "./rope_init.ts";
import type { RopeConfig, RopeParameters } from "./rope_parameters.ts";
import { assertAllClose, testBackends } from "./_test_util.ts";

/** `P[i] = base^(2i / dim)` in float64. */
function powers(dim: number, base: number): number[] {
  return Array.from({ length: dim / 2 }, (_, i) => Math.pow(base, (2 * i) / dim));
}

/** The §6 test configuration: head dim 128, base 1e4, 2048 positions. */
function config128(params: RopeParameters, extra: Partial<RopeConfig> = {}): RopeConfig {
  return { head_dim: 128, max_position_embeddings: 2048, rope_parameters: params, ...extra };
}

const values = async (t: Tensor): Promise<number[]> => Array.from(await t.data());

testBackends("ROPE_INIT_FUNCTIONS.default is 1 / 10000^(2i/dim)", async (backend) => {
  const { invFreq, attentionFactor } = ROPE_INIT_FUNCTIONS.default(config128({}));
  assertEquals([invFreq.shape, invFreq.dtype, invFreq.backend], [[64], "float32", backend]);
  assertEquals(attentionFactor, 1);
  assertAllClose(await values(invFreq), powers(128, 10000).map((p) => 1 / p), { rtol: 1e-7 });
});

testBackends("ROPE_INIT_FUNCTIONS.default honours partial_rotary_factor", async () => {
  const config = { head_dim: 16, partial_rotary_factor: 0.5, rope_theta: 100 };
  const { invFreq } = ROPE_INIT_FUNCTIONS.default(config);
  assertAllClose(await values(invFreq), powers(8, 100).map((p) => 1 / p), { rtol: 1e-7 });
});

testBackends("ROPE_INIT_FUNCTIONS.linear divides the default frequencies by factor", async () => {
  const { invFreq, attentionFactor } = ROPE_INIT_FUNCTIONS.linear(
    config128({ rope_type: "linear", factor: 4 }),
  );
  assertEquals(attentionFactor, 1);
  assertAllClose(await values(invFreq), powers(128, 10000).map((p) => 1 / p / 4), { rtol: 1e-7 });
});

testBackends("ROPE_INIT_FUNCTIONS.dynamic equals default at seqLen = mpe", async () => {
  const config = config128({ rope_type: "dynamic", factor: 3 });
  const reference = powers(128, 10000).map((p) => 1 / p);
  for (const seqLen of [undefined, 10, 2048]) {
    const { invFreq, attentionFactor } = ROPE_INIT_FUNCTIONS.dynamic(config, { seqLen });
    assertEquals(attentionFactor, 1);
    assertAllClose(await values(invFreq), reference, { rtol: 1e-7, label: `seqLen ${seqLen}` });
  }
  // NTK-aware base at 4096 positions: 1e4 · (3 · 2 − 2)^(128/126).
  const grown = ROPE_INIT_FUNCTIONS.dynamic(config, { seqLen: 4096 }).invFreq;
  const base = 1e4 * Math.pow(4, 128 / 126);
  assertAllClose(await values(grown), powers(128, base).map((p) => 1 / p), { rtol: 1e-7 });
});

testBackends("ROPE_INIT_FUNCTIONS.yarn blends over the range low = 16, high = 41", async () => {
  const config = config128({ rope_type: "yarn", factor: 10 });
  assertEquals(yarnCorrectionRange(config), { low: 16, high: 41 });
  const { invFreq, attentionFactor } = ROPE_INIT_FUNCTIONS.yarn(config);
  assertAlmostEquals(attentionFactor, 0.1 * Math.log(10) + 1, 1e-15);
  const expected = powers(128, 10000).map((p, i) => {
    if (i <= 16) return 1 / p; // high frequencies keep their value
    if (i >= 41) return 1 / (10 * p); // low frequencies are interpolated
    const ramp = (i - 16) / 25;
    return ramp / (10 * p) + (1 - ramp) / p;
  });
  assertAllClose(await values(invFreq), expected, { rtol: 1e-6 });
});

Deno.test("yarnCorrectionRange() honours truncate, betas and the clamps", () => {
  const exact = (r: number) => (128 * Math.log(2048 / (r * 2 * Math.PI))) / (2 * Math.log(1e4));
  const loose = yarnCorrectionRange(config128({ rope_type: "yarn", factor: 10, truncate: false }));
  assertAlmostEquals(loose.low, exact(32), 1e-12);
  assertAlmostEquals(loose.high, exact(1), 1e-12);
  const betas = yarnCorrectionRange(
    config128({ rope_type: "yarn", factor: 10, beta_fast: 8, beta_slow: 2 }),
  );
  assertEquals(betas, { low: Math.floor(exact(8)), high: Math.ceil(exact(2)) });
  // Falsy betas fall back to the defaults.
  const zeros = yarnCorrectionRange(config128({ rope_type: "yarn", beta_fast: 0, beta_slow: 0 }));
  assertEquals(zeros, { low: 16, high: 41 });
  const clamped = yarnCorrectionRange(config128({ rope_type: "yarn", beta_fast: 1e6 }, {
    max_position_embeddings: 1e9,
  }));
  assertEquals(clamped.high, 127, "high is at most dim - 1");
  assertEquals(yarnCorrectionRange(config128({ rope_type: "yarn", beta_fast: 1e9 })).low, 0);
});

testBackends(
  "ROPE_INIT_FUNCTIONS.yarn attention factor defaults and the low == high guard",
  async () => {
    const mscaled = ROPE_INIT_FUNCTIONS.yarn(
      config128({ rope_type: "yarn", factor: 40, mscale: 0.707, mscale_all_dim: 0.707 }),
    );
    assertEquals(mscaled.attentionFactor, 1, "equal mscales cancel");
    const deepseek = ROPE_INIT_FUNCTIONS.yarn(
      config128({ rope_type: "yarn", factor: 40, mscale: 1, mscale_all_dim: 0.5 }),
    );
    const m = (s: number, k: number) => 0.1 * k * Math.log(s) + 1;
    assertAlmostEquals(deepseek.attentionFactor, m(40, 1) / m(40, 0.5), 1e-15);
    const explicit = ROPE_INIT_FUNCTIONS.yarn(
      config128({ rope_type: "yarn", factor: 40, attention_factor: 0.25 }),
    );
    assertEquals(explicit.attentionFactor, 0.25);
    const implicit = ROPE_INIT_FUNCTIONS.yarn(
      config128({ rope_type: "yarn", original_max_position_embeddings: 512 }),
    );
    assertAlmostEquals(
      implicit.attentionFactor,
      0.1 * Math.log(4) + 1,
      1e-15,
      "factor = 2048 / 512",
    );
    // Equal betas give low == high: the ramp still has a finite slope.
    const config = config128({ rope_type: "yarn", factor: 10, beta_fast: 4, beta_slow: 4 });
    const { low, high } = yarnCorrectionRange(config);
    assertEquals(low + 1, high);
    const truncated = config128({
      rope_type: "yarn",
      factor: 10,
      beta_fast: 4,
      beta_slow: 4,
      truncate: false,
    });
    const range = yarnCorrectionRange(truncated);
    assertEquals(range.low, range.high);
    const inv = await values(ROPE_INIT_FUNCTIONS.yarn(truncated).invFreq);
    assert(inv.every(Number.isFinite));
    const P = powers(128, 10000);
    const cut = Math.ceil(range.low);
    assertAllClose(inv.slice(0, cut), P.slice(0, cut).map((p) => 1 / p), { rtol: 1e-6 });
    assertAllClose(inv.slice(cut + 1), P.slice(cut + 1).map((p) => 1 / (10 * p)), { rtol: 1e-6 });
  },
);

testBackends("ROPE_INIT_FUNCTIONS.longrope picks short or long factors by seqLen", async () => {
  const short = Array.from({ length: 4 }, (_, i) => 1 + i / 10);
  const long = Array.from({ length: 4 }, (_, i) => 2 + i);
  const config = {
    head_dim: 8,
    max_position_embeddings: 131072,
    original_max_position_embeddings: 4096,
    rope_parameters: { rope_type: "longrope", short_factor: short, long_factor: long },
  };
  const P = powers(8, 10000);
  const at = (seqLen?: number) => ROPE_INIT_FUNCTIONS.longrope(config, { seqLen });
  for (const seqLen of [undefined, 0, 100, 4096]) {
    const expected = P.map((p, i) => 1 / (short[i] * p));
    assertAllClose(await values(at(seqLen).invFreq), expected, { rtol: 1e-6 });
  }
  const { invFreq, attentionFactor } = at(4097);
  assertAllClose(await values(invFreq), P.map((p, i) => 1 / (long[i] * p)), { rtol: 1e-6 });
  // factor = 131072 / 4096 = 32.
  assertAlmostEquals(attentionFactor, Math.sqrt(1 + Math.log(32) / Math.log(4096)), 1e-15);
  const unscaled = { ...config, max_position_embeddings: 4096 };
  assertEquals(ROPE_INIT_FUNCTIONS.longrope(unscaled).attentionFactor, 1, "factor <= 1");
  const explicit = {
    ...config,
    original_max_position_embeddings: undefined,
    rope_parameters: {
      ...config.rope_parameters,
      factor: 8,
      original_max_position_embeddings: 1024,
    },
  };
  const eight = ROPE_INIT_FUNCTIONS.longrope(explicit).attentionFactor;
  assertAlmostEquals(eight, Math.sqrt(1 + Math.log(8) / Math.log(1024)), 1e-15);
  assertThrows(
    () => ROPE_INIT_FUNCTIONS.longrope({ ...config, head_dim: 16 }),
    RangeError,
    "expected rope_parameters.short_factor to be a list of 8 numbers, got 4 entries",
  );
});

testBackends("ROPE_INIT_FUNCTIONS.llama3 keeps, blends and divides by regime", async () => {
  const config = {
    head_dim: 128,
    max_position_embeddings: 131072,
    rope_parameters: {
      rope_type: "llama3",
      rope_theta: 500000,
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    },
  };
  const { invFreq, attentionFactor } = ROPE_INIT_FUNCTIONS.llama3(config);
  assertEquals(attentionFactor, 1);
  const actual = await values(invFreq);
  const seen = { high: 0, medium: 0, low: 0 };
  powers(128, 500000).forEach((p, i) => {
    const wavelen = 2 * Math.PI * p;
    let expected: number;
    if (wavelen < 8192 / 4) {
      seen.high++;
      expected = 1 / p;
    } else if (wavelen > 8192 / 1) {
      seen.low++;
      expected = 1 / p / 8;
    } else {
      seen.medium++;
      const smooth = (8192 / wavelen - 1) / (4 - 1);
      expected = ((1 - smooth) / 8 + smooth) / p;
    }
    assertAllClose([actual[i]], [expected], { rtol: 1e-6, label: `index ${i}` });
  });
  assert(seen.high > 0 && seen.medium > 0 && seen.low > 0, JSON.stringify(seen));
});

Deno.test("ROPE_INIT_FUNCTIONS reject missing numeric parameters", () => {
  assertThrows(
    () => ROPE_INIT_FUNCTIONS.linear({ head_dim: 4, rope_parameters: { rope_type: "linear" } }),
    TypeError,
    'Cannot compute rope frequencies for rope_type "linear": expected a number in rope_parameters.factor, got undefined',
  );
  assertThrows(
    () => ROPE_INIT_FUNCTIONS.dynamic({ head_dim: 4, rope_parameters: { factor: 2 } }),
    TypeError,
    "config.max_position_embeddings",
  );
  assertThrows(
    () => ROPE_INIT_FUNCTIONS.llama3(config128({ rope_type: "llama3", factor: 8 })),
    TypeError,
    "rope_parameters.low_freq_factor",
  );
});
