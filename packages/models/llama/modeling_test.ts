import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  autoClass,
  causalLmLoss,
  manualSeed,
  ModelRegistry,
  type PretrainedConfig,
  type Tensor,
  tensor,
} from "@denoformers/core";
import { assertAllClose, testBackends, testRng } from "@denoformers/core/testing";
import { gradientCheckpointingEnable } from "@denoformers/checkpoint";
import { DynamicCache } from "../cache.ts";
import { runConformance } from "../_testing/conformance.ts";
import { llama, LlamaConfig, LlamaForCausalLM, LlamaModel } from "./mod.ts";

const tiny = (overrides: Record<string, unknown> = {}): LlamaConfig =>
  new LlamaConfig({
    vocab_size: 32,
    hidden_size: 16,
    intermediate_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 64,
    eos_token_id: null,
    ...overrides,
  });

const LAYER_KEYS = [
  "self_attn.q_proj.weight",
  "self_attn.k_proj.weight",
  "self_attn.v_proj.weight",
  "self_attn.o_proj.weight",
  "mlp.gate_proj.weight",
  "mlp.up_proj.weight",
  "mlp.down_proj.weight",
  "input_layernorm.weight",
  "post_attention_layernorm.weight",
];
const BASE_KEYS = [
  "embed_tokens.weight",
  ...[0, 1].flatMap((i) => LAYER_KEYS.map((k) => `layers.${i}.${k}`)),
  "norm.weight",
];

runConformance({
  name: "Llama",
  plugin: llama,
  config: (overrides) => tiny(overrides),
  dropoutKeys: ["attention_dropout"],
  expectedKeys: BASE_KEYS,
  lmHead: (config) => new LlamaForCausalLM(config),
  decoder: true,
});

// ---- configuration ------------------------------------------------------------------------------

Deno.test("LlamaConfig has Hugging Face's defaults", () => {
  const c = new LlamaConfig();
  assertEquals(
    [c.model_type, c.vocab_size, c.hidden_size, c.intermediate_size, c.num_hidden_layers],
    ["llama", 32000, 4096, 11008, 32],
  );
  assertEquals([c.num_attention_heads, c.num_key_value_heads, c.head_dim], [32, 32, 128]);
  assertEquals([c.hidden_act, c.max_position_embeddings, c.initializer_range], [
    "silu",
    2048,
    0.02,
  ]);
  assertEquals([c.rms_norm_eps, c.use_cache, c.tie_word_embeddings], [1e-6, true, false]);
  assertEquals([c.pad_token_id, c.bos_token_id, c.eos_token_id], [null, 1, 2]);
  assertEquals([c.attention_bias, c.attention_dropout, c.mlp_bias], [false, 0, false]);
  assertEquals([c.rope_theta, c.rope_parameters], [10000, {
    rope_type: "default",
    rope_theta: 10000,
  }]);
});

Deno.test("LlamaConfig renames rope_scaling, standardises and validates rope parameters", () => {
  const legacy = new LlamaConfig({ rope_theta: 500000, rope_scaling: { type: "yarn", factor: 4 } });
  assertEquals(legacy.rope_parameters, {
    type: "yarn",
    rope_type: "yarn",
    factor: 4,
    rope_theta: 500000,
    original_max_position_embeddings: 2048,
  });
  assert(!("rope_scaling" in legacy.toDict()));
  const modern = new LlamaConfig({
    rope_parameters: { rope_type: "linear", factor: 2, rope_theta: 100 },
  });
  assertEquals(modern.rope_theta, 100);
  assertEquals(new LlamaConfig(modern.toDict()).toDict(), modern.toDict());
  assertThrows(
    () => new LlamaConfig({ rope_parameters: { rope_type: "llama3", factor: 8 } }),
    TypeError,
    "missing required keys",
  );
  assertThrows(() => new LlamaConfig({ hidden_size: 0 }), RangeError, "hidden_size");
  assertThrows(
    () => new LlamaConfig({ num_attention_heads: 4, num_key_value_heads: 3 }),
    RangeError,
    "multiple of num_key_value_heads",
  );
});

Deno.test("LlamaConfig reads Hugging Face config.json files of v4 and v5", () => {
  const v4 = new LlamaConfig({
    architectures: ["LlamaForCausalLM"],
    head_dim: 8,
    hidden_size: 32,
    num_attention_heads: 4,
    pretraining_tp: 1,
    rope_scaling: null,
    rope_theta: 10000.0,
    torch_dtype: "float32",
    transformers_version: "4.57.1",
  });
  assertEquals(v4.rope_parameters, { rope_type: "default", rope_theta: 10000 });
  assertEquals([v4.pretraining_tp, v4.torch_dtype], [1, "float32"]);
  const v5 = new LlamaConfig({
    dtype: "float32",
    max_position_embeddings: 8,
    rope_parameters: { factor: 2.0, rope_theta: 10000.0, rope_type: "dynamic" },
  });
  assertEquals(v5.rope_parameters, { factor: 2, rope_theta: 10000, rope_type: "dynamic" });
  assertEquals(JSON.parse(v5.toJsonString()).rope_parameters, v5.rope_parameters);
});

// ---- hand-computed forward ---------------------------------------------------------------------

/** A 1-layer Llama computed with plain arrays in float64. */
function referenceForward(
  c: LlamaConfig,
  w: Record<string, number[]>,
  ids: number[],
): { hidden: number[][]; logits: number[][] } {
  const C = c.hidden_size;
  const H = c.num_attention_heads;
  const KVH = c.num_key_value_heads;
  const D = c.head_dim;
  const matvec = (name: string, x: number[], out: number): number[] => {
    const W = w[`${name}.weight`];
    const b = w[`${name}.bias`];
    return Array.from({ length: out }, (_, o) => {
      let s = b ? b[o] : 0;
      for (let i = 0; i < x.length; i++) s += W[o * x.length + i] * x[i];
      return s;
    });
  };
  const rms = (x: number[], name: string): number[] => {
    const ms = x.reduce((a, v) => a + v * v, 0) / x.length;
    return x.map((v, i) => w[`${name}.weight`][i] * v / Math.sqrt(ms + c.rms_norm_eps));
  };
  const rope = (v: number[], pos: number): number[] => {
    const half = D / 2;
    return v.map((x, i) => {
      const j = i % half;
      const angle = pos / c.rope_theta ** (2 * j / D);
      const rotated = i < half ? -v[i + half] : v[i - half];
      return x * Math.cos(angle) + rotated * Math.sin(angle);
    });
  };
  const x = ids.map((id) => w["model.embed_tokens.weight"].slice(id * C, (id + 1) * C));
  const h = x.map((r) => rms(r, "model.layers.0.input_layernorm"));
  const q = h.map((r) => matvec("model.layers.0.self_attn.q_proj", r, H * D));
  const k = h.map((r) => matvec("model.layers.0.self_attn.k_proj", r, KVH * D));
  const v = h.map((r) => matvec("model.layers.0.self_attn.v_proj", r, KVH * D));
  const attn = ids.map((_, t) => {
    const out: number[] = [];
    for (let head = 0; head < H; head++) {
      const g = Math.floor(head / (H / KVH));
      const qh = rope(q[t].slice(head * D, (head + 1) * D), t);
      const scores = Array.from({ length: t + 1 }, (_, s) => {
        const kh = rope(k[s].slice(g * D, (g + 1) * D), s);
        return qh.reduce((a, qi, i) => a + qi * kh[i], 0) / Math.sqrt(D);
      });
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let d = 0; d < D; d++) {
        out.push(e.reduce((a, p, s) => a + p / z * v[s][g * D + d], 0));
      }
    }
    return out;
  });
  const x1 = x.map((r, t) =>
    matvec("model.layers.0.self_attn.o_proj", attn[t], C).map((o, i) => r[i] + o)
  );
  const x2 = x1.map((r) => {
    const n = rms(r, "model.layers.0.post_attention_layernorm");
    const gate = matvec("model.layers.0.mlp.gate_proj", n, c.intermediate_size);
    const up = matvec("model.layers.0.mlp.up_proj", n, c.intermediate_size);
    const act = gate.map((g, i) => g / (1 + Math.exp(-g)) * up[i]);
    return matvec("model.layers.0.mlp.down_proj", act, C).map((o, i) => r[i] + o);
  });
  const hidden = x2.map((r) => rms(r, "model.norm"));
  return { hidden, logits: hidden.map((r) => matvec("lm_head", r, c.vocab_size)) };
}

/** A Hugging Face-named state dict of random values (norm weights near 1). */
function handStateDict(model: LlamaForCausalLM, seed: number): Record<string, number[]> {
  const rng = testRng(seed);
  const out: Record<string, number[]> = {};
  for (const [name, t] of Object.entries(model.stateDict())) {
    out[name] = Array.from(
      { length: t.size },
      () => name.endsWith("norm.weight") ? 0.5 + rng() : rng() - 0.5,
    );
  }
  return out;
}

testBackends("LlamaForCausalLM matches a plain-JS forward with hand-set weights", async (b) => {
  const config = tiny({ num_hidden_layers: 1, attention_bias: true, rope_theta: 100 });
  const lm = new LlamaForCausalLM(config);
  const values = handStateDict(lm, 7);
  assert("model.layers.0.self_attn.q_proj.bias" in values);
  const own = lm.stateDict();
  const stateDict = Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, tensor(v, { shape: own[k].shape, backend: "cpu" })]),
  );
  assertEquals(lm.loadStateDictWithPrefix(stateDict), { missingKeys: [], unexpectedKeys: [] });
  const ids = [3, 17, 5, 9, 30];
  const want = referenceForward(config, values, ids);
  const out = lm.call(tensor([ids], { dtype: "int32", backend: b }), { outputHiddenStates: true });
  assertAllClose(await out.hiddenStates!.at(-1)!.data(), want.hidden.flat(), { atol: 1e-5 });
  assertAllClose(await out.logits.data(), want.logits.flat(), { atol: 1e-5 });

  // The same weights load into the bare model (the "model." prefix is stripped).
  const base = new LlamaModel(config);
  const info = base.loadStateDictWithPrefix(stateDict);
  assertEquals(info, { missingKeys: [], unexpectedKeys: ["lm_head.weight"] });
  const hidden = base.call(tensor([ids], { dtype: "int32", backend: b }), {}).lastHiddenState;
  assertAllClose(await hidden.data(), want.hidden.flat(), { atol: 1e-5 });
});

Deno.test("LlamaForCausalLM has Hugging Face's state-dict keys; tied weights are shared", () => {
  const lm = new LlamaForCausalLM(tiny());
  assertEquals(Object.keys(lm.stateDict()), [
    ...BASE_KEYS.map((k) => `model.${k}`),
    "lm_head.weight",
  ]);
  const tied = new LlamaForCausalLM(tiny({ tie_word_embeddings: true }));
  assert(tied.lm_head.weight === tied.model.embed_tokens.weight);
  assertEquals(tied.parameters().length, lm.parameters().length - 1);
  assertEquals(Object.keys(new LlamaModel(tiny()).rotary_emb.stateDict()), []);
});

// ---- inputs, loss, rope variants ---------------------------------------------------------------

Deno.test("LlamaModel takes exactly one of inputIds and inputsEmbeds", async () => {
  manualSeed(11);
  const model = new LlamaModel(tiny()).eval();
  const ids = tensor([[4, 8, 15]], { dtype: "int32", backend: "cpu" });
  const embeds = model.embed_tokens.call(ids);
  assertThrows(() => model.call(null, {}), TypeError, "exactly one of inputIds");
  assertThrows(() => model.call(ids, { inputsEmbeds: embeds }), TypeError, "exactly one");
  const a = await model.call(ids, { useCache: false }).lastHiddenState.data();
  const b = await model.call(null, { inputsEmbeds: embeds, useCache: false }).lastHiddenState
    .data();
  assertAllClose(b, a);
});

testBackends("the causal LM loss equals causalLmLoss of the logits", async (b) => {
  manualSeed(12);
  const lm = new LlamaForCausalLM(tiny());
  const ids = tensor([[5, 3, 9, 2, 7], [1, 4, 4, 8, 0]], { dtype: "int32", backend: b });
  const labels = tensor([[5, 3, 9, 2, 7], [1, 4, 4, -100, -100]], { dtype: "int32", backend: b });
  const out = lm.call(ids, { labels });
  assertAllClose([await out.loss!.item()], [await causalLmLoss(out.logits, labels).item()]);
  const summed = lm.call(ids, { labels, numItemsInBatch: 3 }).loss!;
  const want = causalLmLoss(out.logits, labels, { numItemsInBatch: 3 });
  assertAllClose([await summed.item()], [await want.item()], { rtol: 1e-5 });
  const last = lm.call(ids, { logitsToKeep: 1 }).logits;
  assertEquals(last.shape, [2, 1, 32]);
  assertAllClose(await last.data(), await out.logits.narrow(1, 4, 1).data(), { atol: 1e-6 });
});

const ROPE_VARIANTS: Record<string, Record<string, unknown>> = {
  linear: { rope_scaling: { rope_type: "linear", factor: 2 } },
  yarn: { rope_scaling: { rope_type: "yarn", factor: 4, original_max_position_embeddings: 16 } },
  llama3: {
    rope_scaling: {
      rope_type: "llama3",
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 16,
    },
  },
  // Dynamic NTK changes the frequencies with the length, so a cache only matches a full forward
  // while the length stays within max_position_embeddings.
  dynamic: { rope_scaling: { rope_type: "dynamic", factor: 2 } },
};

for (const [name, overrides] of Object.entries(ROPE_VARIANTS)) {
  testBackends(`rope_scaling ${name}: incremental decoding equals a full forward`, async (b) => {
    manualSeed(13);
    const lm = new LlamaForCausalLM(tiny(overrides)).eval();
    const full = tensor([[5, 3, 9, 2, 7, 1]], { dtype: "int32", backend: b });
    const want = await lm.call(full, { useCache: false }).logits.data();
    const cache = new DynamicCache();
    const steps = [lm.call(full.narrow(1, 0, 4), { pastKeyValues: cache }).logits];
    for (const at of [4, 5]) {
      steps.push(lm.call(full.narrow(1, at, 1), { pastKeyValues: cache }).logits);
    }
    const got = (await Promise.all(steps.map((s) => s.data()))).flatMap((a) => Array.from(a));
    assertAllClose(got, want, { atol: 1e-5 });
    cache.dispose();
  });
}

testBackends(
  "dynamic rope grows with the length the model knows (no read of positions)",
  async (b) => {
    manualSeed(14);
    const config = tiny({
      max_position_embeddings: 4,
      rope_scaling: { rope_type: "dynamic", factor: 2 },
    });
    const model = new LlamaModel(config).eval();
    const ids = tensor([[1, 2, 3, 4, 5, 6]], { dtype: "int32", backend: b });
    const long = await model.call(ids, { useCache: false }).lastHiddenState.data();
    assertEquals(model.rotary_emb.maxSeqLenCached, 6);
    model.call(ids.narrow(1, 0, 3), { useCache: false });
    assertEquals(
      model.rotary_emb.maxSeqLenCached,
      4,
      "short inputs restore the original frequencies",
    );
    const again = await model.call(ids, { useCache: false }).lastHiddenState.data();
    assertAllClose(again, long, { atol: 1e-6 });
  },
);

// ---- generation -------------------------------------------------------------------------------

testBackends("greedy generate equals argmax of repeated full forwards", async (b) => {
  manualSeed(15);
  const lm = new LlamaForCausalLM(tiny()).eval();
  const prompt = [[5, 3, 9], [2, 7, 7]];
  const got = await lm.generate(tensor(prompt, { dtype: "int32", backend: b }), {
    maxNewTokens: 4,
  });
  const rows = prompt.map((r) => [...r]);
  for (let step = 0; step < 4; step++) {
    const logits =
      lm.call(tensor(rows, { dtype: "int32", backend: b }), { useCache: false }).logits;
    const S = rows[0].length;
    const next = await logits.narrow(1, S - 1, 1).argmax(-1).data();
    rows.forEach((r, i) => r.push(next[i]));
  }
  assertEquals(await got.toArray(), rows);
});

testBackends("generate on a left-padded batch equals each prompt alone", async (b) => {
  manualSeed(17);
  const lm = new LlamaForCausalLM(tiny({ pad_token_id: 0 })).eval();
  const int = (v: number[][]) => tensor(v, { dtype: "int32", backend: b });
  const batch = await lm.generate(int([[0, 0, 5, 3], [4, 9, 2, 7]]), {
    maxNewTokens: 3,
    attentionMask: int([[0, 0, 1, 1], [1, 1, 1, 1]]),
  });
  const alone = await lm.generate(int([[5, 3]]), { maxNewTokens: 3 });
  const rows = (await batch.toArray()) as number[][];
  assertEquals(rows[0].slice(2), ((await alone.toArray()) as number[][])[0]);
});

Deno.test("sampled generate is reproducible with manualSeed and stops at eos", async () => {
  manualSeed(16);
  const lm = new LlamaForCausalLM(tiny({ eos_token_id: 2 })).eval();
  const prompt = tensor([[5, 3, 9]], { dtype: "int32", backend: "cpu" });
  const sample = async (seed: number) => {
    manualSeed(seed);
    return await (await lm.generate(prompt, { doSample: true, maxNewTokens: 8, eosTokenId: [] }))
      .toArray();
  };
  assertEquals(await sample(3), await sample(3));
  const greedy =
    (await lm.generate(prompt, { maxNewTokens: 8 }).then((t) => t.toArray())) as number[][];
  const stop = greedy[0].indexOf(2, 3);
  assert(stop === -1 || greedy[0].length === stop + 1, "generation ends at the eos token");
});

// ---- checkpointing and registry ---------------------------------------------------------------

Deno.test("config.gradient_checkpointing enables checkpointing at construction", () => {
  const lm = new LlamaForCausalLM(tiny({ gradient_checkpointing: true }));
  assert(lm.model.layers.every((l) => l.gradientCheckpointing));
  assertEquals(lm.config.gradient_checkpointing, undefined);
  gradientCheckpointingEnable(new LlamaModel(tiny()));
});

Deno.test("an unknown attention implementation is rejected at construction", () => {
  assertThrows(
    () => new LlamaModel(tiny({ attn_implementation: "flash" })),
    RangeError,
    '"flash"',
  );
  assertEquals(new LlamaModel(tiny()).config._attn_implementation, "sdpa");
});

// ---- Hugging Face fixtures ----------------------------------------------------------------------

interface Expected {
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
  last_hidden_state: number[];
  logits: number[];
  loss: number;
  grads: Record<string, number[]>;
}

const TESTDATA = new URL("./testdata/", import.meta.url);
const FIXTURE_SCRIPT = "scripts/fixtures/make_llama_fixtures.py";

for (const variant of ["default", "dynamic"]) {
  const dir = new URL(`${variant}/`, TESTDATA);
  let present = false;
  try {
    present = Deno.statSync(new URL("expected.json", dir)).isFile;
  } catch {
    present = false;
  }
  const name = present
    ? `LlamaForCausalLM matches transformers on testdata/${variant} (outputs, loss, gradients)`
    : `LlamaForCausalLM matches transformers on testdata/${variant} ` +
      `(skipped: no fixture; run ${FIXTURE_SCRIPT})`;
  Deno.test({ name, ignore: !present }, async () => {
    const expected = JSON.parse(await Deno.readTextFile(new URL("expected.json", dir))) as Expected;
    const registry = new ModelRegistry().register(llama);
    const path = decodeURIComponent(dir.pathname);
    const lm = await autoClass("causalLm").fromPretrained(path, {
      registry,
      backend: "cpu",
    }) as LlamaForCausalLM;
    assert(lm instanceof LlamaForCausalLM);
    assertEquals(lm.loadingInfo, { missingKeys: [], unexpectedKeys: [] });
    (lm.config as PretrainedConfig)._attn_implementation = "eager";
    lm.eval();
    const int = (v: number[][]) => tensor(v, { dtype: "int32", backend: "cpu" });
    const out = lm.call(int(expected.input_ids), {
      attentionMask: int(expected.attention_mask),
      labels: int(expected.labels),
      outputHiddenStates: true,
      useCache: false,
    });
    const last = out.hiddenStates!.at(-1)!;
    assertAllClose(await last.data(), expected.last_hidden_state, { atol: 1e-4, label: "hidden" });
    assertAllClose(await out.logits.data(), expected.logits, { atol: 1e-4, label: "logits" });
    assertAllClose([await out.loss!.item()], [expected.loss], { atol: 1e-4, label: "loss" });
    out.loss!.backward();
    const params = Object.fromEntries(lm.namedParameters()) as Record<string, Tensor>;
    for (const [key, want] of Object.entries(expected.grads)) {
      assertAllClose(await params[key].grad!.data(), want, { rtol: 1e-3, atol: 1e-6, label: key });
    }
  });
}
