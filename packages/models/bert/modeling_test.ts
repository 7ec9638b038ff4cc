import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  autoClass,
  AutoModel,
  manualSeed,
  ModelRegistry,
  noGrad,
  type PretrainedConfig,
  type Tensor,
  tensor,
  tidy,
} from "@denoformers/core";
import { assertAllClose, testBackends, testRng } from "@denoformers/core/testing";
import { runConformance } from "../_testing/conformance.ts";
import { bert, BertConfig, BertForMaskedLM, BertLayer, BertModel } from "./mod.ts";

const tiny = (overrides: Record<string, unknown> = {}): BertConfig =>
  new BertConfig({
    vocab_size: 32,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 64,
    max_position_embeddings: 16,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    ...overrides,
  });

const int = (rows: number[][]): Tensor => tensor(rows, { dtype: "int32" });
const flat = async (t: Tensor): Promise<number[]> => Array.from(await t.data());

runConformance({
  name: "BERT",
  plugin: bert,
  config: (overrides) => tiny(overrides),
  dropoutKeys: ["hidden_dropout_prob", "attention_probs_dropout_prob"],
  expectedKeys: [
    "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight",
    "embeddings.LayerNorm.weight",
    "encoder.layer.0.attention.self.query.weight",
    "encoder.layer.0.attention.self.value.bias",
    "encoder.layer.0.attention.output.dense.weight",
    "encoder.layer.0.attention.output.LayerNorm.weight",
    "encoder.layer.0.intermediate.dense.weight",
    "encoder.layer.0.output.dense.bias",
    "encoder.layer.1.output.LayerNorm.bias",
    "pooler.dense.weight",
  ],
  lmHead: (config: PretrainedConfig) => new BertForMaskedLM(config as BertConfig),
  decoder: false,
});

Deno.test("BertForMaskedLM state-dict keys are Hugging Face's; buffers are not saved", () => {
  const keys = Object.keys(new BertForMaskedLM(tiny()).stateDict());
  for (
    const k of [
      "bert.embeddings.word_embeddings.weight",
      "bert.encoder.layer.0.attention.self.query.weight",
      "cls.predictions.transform.dense.weight",
      "cls.predictions.transform.LayerNorm.weight",
      "cls.predictions.decoder.weight",
      "cls.predictions.bias",
    ]
  ) assert(keys.includes(k), k);
  assert(!keys.some((k) => k.includes("pooler") || k.includes("position_ids")), keys.join());
  const mlm = new BertForMaskedLM(tiny());
  assert(mlm.cls.predictions.decoder.weight === mlm.bert.embeddings.word_embeddings.weight);
  assert(mlm.cls.predictions.decoder.bias === null);
  const untied = new BertForMaskedLM(tiny({ tie_word_embeddings: false }));
  assert(untied.cls.predictions.decoder.weight !== untied.bert.embeddings.word_embeddings.weight);
});

Deno.test("BertConfig has Hugging Face's defaults and round-trips through toDict", () => {
  const c = new BertConfig();
  assertEquals(
    [c.vocab_size, c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.intermediate_size],
    [30522, 768, 12, 12, 3072],
  );
  assertEquals([c.hidden_act, c.hidden_dropout_prob, c.attention_probs_dropout_prob], [
    "gelu",
    0.1,
    0.1,
  ]);
  assertEquals(
    [c.max_position_embeddings, c.type_vocab_size, c.initializer_range, c.layer_norm_eps],
    [512, 2, 0.02, 1e-12],
  );
  assertEquals([c.pad_token_id, c.position_embedding_type, c.use_cache, c.classifier_dropout], [
    0,
    "absolute",
    true,
    null,
  ]);
  assertEquals(c.model_type, "bert");
  assertEquals(new BertConfig(c.toDict()).toDict(), c.toDict());
});

// ---- A 1-layer model with hand-set weights against a plain-JS computation ----

type Weights = Record<string, number[]>;

/** Loads deterministic values into every state-dict tensor (tied tensors once) and returns them. */
function setWeights(model: BertModel | BertForMaskedLM, seed: number): Weights {
  const rng = testRng(seed);
  const byTensor = new Map<Tensor, number[]>();
  const values: Weights = {};
  const src: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(model.stateDict())) {
    if (!byTensor.has(t)) {
      byTensor.set(t, Array.from({ length: t.size }, () => (rng() - 0.5) * 0.8));
    }
    values[name] = byTensor.get(t)!;
    src[name] = tensor(values[name], { shape: t.shape, backend: "cpu" });
  }
  model.loadStateDict(src);
  return values;
}

function erf(x: number): number {
  if (Math.abs(x) >= 4) return Math.sign(x);
  let sum = 0;
  let term = x; // x^(2n+1) (-1)^n / n!
  for (let n = 0; n < 60; n++) {
    sum += term / (2 * n + 1);
    term *= -x * x / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

function linear(x: number[], w: number[], b: number[] | null): number[] {
  const n = x.length;
  return Array.from({ length: w.length / n }, (_, o) => {
    let s = b ? b[o] : 0;
    for (let i = 0; i < n; i++) s += x[i] * w[o * n + i];
    return s;
  });
}

function layerNorm(x: number[], g: number[], b: number[], eps: number): number[] {
  const mean = x.reduce((a, v) => a + v, 0) / x.length;
  const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * g[i] + b[i]);
}

/** BERT by hand: returns per row `[S][H]` hidden states, `[H]` pooled output, `[S][V]` MLM logits. */
function reference(
  w: Weights,
  c: BertConfig,
  ids: number[][],
  mask: number[][],
  types: number[][],
): { hidden: number[][][]; pooled: number[][]; logits: number[][][] } {
  const H = c.hidden_size;
  const heads = c.num_attention_heads;
  const D = H / heads;
  const eps = c.layer_norm_eps;
  const row = (name: string, i: number) => w[name].slice(i * H, (i + 1) * H);
  const p = (name: string) => w[`encoder.layer.0.${name}`];
  const hidden: number[][][] = [];
  const pooled: number[][] = [];
  const logits: number[][][] = [];
  ids.forEach((seq, b) => {
    const x = seq.map((id, s) => {
      const e = row("embeddings.word_embeddings.weight", id).map((v, j) =>
        v + row("embeddings.token_type_embeddings.weight", types[b][s])[j] +
        row("embeddings.position_embeddings.weight", s)[j]
      );
      return layerNorm(e, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps);
    });
    const q = x.map((v) =>
      linear(v, p("attention.self.query.weight"), p("attention.self.query.bias"))
    );
    const k = x.map((v) => linear(v, p("attention.self.key.weight"), p("attention.self.key.bias")));
    const v = x.map((u) =>
      linear(u, p("attention.self.value.weight"), p("attention.self.value.bias"))
    );
    const context = x.map((_, i) => {
      const out = new Array(H).fill(0);
      for (let h = 0; h < heads; h++) {
        const scores = k.map((kj, j) => {
          if (!mask[b][j]) return -Infinity;
          let s = 0;
          for (let d = 0; d < D; d++) s += q[i][h * D + d] * kj[h * D + d];
          return s / Math.sqrt(D);
        });
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, u) => a + u, 0);
        e.forEach((ej, j) => {
          for (let d = 0; d < D; d++) out[h * D + d] += (ej / z) * v[j][h * D + d];
        });
      }
      return out;
    });
    const attn = context.map((ctx, i) =>
      layerNorm(
        linear(ctx, p("attention.output.dense.weight"), p("attention.output.dense.bias"))
          .map((u, j) => u + x[i][j]),
        p("attention.output.LayerNorm.weight"),
        p("attention.output.LayerNorm.bias"),
        eps,
      )
    );
    const out = attn.map((a) => {
      const inter = linear(a, p("intermediate.dense.weight"), p("intermediate.dense.bias")).map(
        gelu,
      );
      const o = linear(inter, p("output.dense.weight"), p("output.dense.bias")).map((u, j) =>
        u + a[j]
      );
      return layerNorm(o, p("output.LayerNorm.weight"), p("output.LayerNorm.bias"), eps);
    });
    hidden.push(out);
    if (w["pooler.dense.weight"]) {
      pooled.push(linear(out[0], w["pooler.dense.weight"], w["pooler.dense.bias"]).map(Math.tanh));
    }
    if (w["cls.predictions.bias"]) {
      logits.push(out.map((h) => {
        const t = linear(
          h,
          w["cls.predictions.transform.dense.weight"],
          w["cls.predictions.transform.dense.bias"],
        )
          .map(gelu);
        const n = layerNorm(
          t,
          w["cls.predictions.transform.LayerNorm.weight"],
          w["cls.predictions.transform.LayerNorm.bias"],
          eps,
        );
        return linear(n, w["cls.predictions.decoder.weight"], w["cls.predictions.bias"]);
      }));
    }
  });
  return { hidden, pooled, logits };
}

/** Strips `bert.` so the MLM's weights read like the base model's. */
const unprefix = (w: Weights): Weights =>
  Object.fromEntries(Object.entries(w).map(([k, v]) => [k.replace(/^bert\./, ""), v]));

const HAND = {
  ids: [[1, 3, 2, 0], [4, 5, 1, 6]],
  mask: [[1, 1, 1, 0], [1, 1, 1, 1]],
  types: [[0, 0, 1, 1], [0, 1, 1, 0]],
};
const handConfig = () =>
  tiny({
    vocab_size: 7,
    hidden_size: 4,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 8,
    max_position_embeddings: 6,
    attn_implementation: "eager",
  });

testBackends("BertModel and BertForMaskedLM match a plain-JS computation", async (b) => {
  const c = handConfig();
  const model = new BertModel(c).eval();
  const w = setWeights(model, 7);
  const want = reference(w, c, HAND.ids, HAND.mask, HAND.types);
  const opts = {
    attentionMask: tensor(HAND.mask, { dtype: "int32", backend: b }),
    tokenTypeIds: tensor(HAND.types, { dtype: "int32", backend: b }),
  };
  const ids = tensor(HAND.ids, { dtype: "int32", backend: b });
  const out = model.call(ids, opts);
  assertAllClose(await flat(out.lastHiddenState), want.hidden.flat(2), { atol: 1e-5 });
  assertAllClose(await flat(out.poolerOutput!), want.pooled.flat(), { atol: 1e-5 });

  const mlm = new BertForMaskedLM(handConfig()).eval();
  const wm = unprefix(setWeights(mlm, 8));
  const wantLm = reference(wm, c, HAND.ids, HAND.mask, HAND.types);
  const lm = mlm.call(ids, opts);
  assertAllClose(await flat(lm.logits), wantLm.logits.flat(2), { atol: 1e-5 });
});

Deno.test("the masked LM loss is the cross-entropy of non-ignored labels, unshifted", async () => {
  manualSeed(11);
  const mlm = new BertForMaskedLM(tiny()).eval();
  const ids = int([[5, 3, 9, 2, 7], [1, 4, 4, 8, 0]]);
  const labels = [[-100, 3, -100, -100, 7], [1, -100, -100, 8, -100]];
  const out = mlm.call(ids, { labels: int(labels) });
  const V = 32;
  const logits = await flat(out.logits);
  const terms: number[] = [];
  labels.flat().forEach((y, i) => {
    if (y === -100) return;
    const row = logits.slice(i * V, (i + 1) * V);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    terms.push(lse - row[y]);
  });
  const sum = terms.reduce((a, v) => a + v, 0);
  assertAllClose([await out.loss!.item()], [sum / terms.length], { atol: 1e-5 });
  const scaled = mlm.call(ids, { labels: int(labels), numItemsInBatch: 10 });
  assertAllClose([await scaled.loss!.item()], [sum / 10], { atol: 1e-5 });
});

// ---- Pruning ----

const IDS = [[5, 3, 9, 2, 7, 1], [1, 4, 4, 8, 0, 0]];
const MASK = [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]];

Deno.test("pruneHeads keeps the right heads, survives save/load and is idempotent", async () => {
  manualSeed(21);
  const config = tiny({ attn_implementation: "eager" });
  const model = new BertModel(config).eval();
  const reference = new BertModel(tiny({ attn_implementation: "eager" })).eval();
  reference.loadStateDict(model.stateDict());
  model.pruneHeads({ 0: [1, 2, 3], [-1]: [0] });

  const [l0, l1] = model.encoder.layer.map((l) => l.attention);
  assertEquals([l0.self.numAttentionHeads, l1.self.numAttentionHeads], [1, 3]);
  assertEquals([l0.self.query.weight.shape, l0.output.dense.weight.shape], [[8, 32], [32, 8]]);
  assertEquals([l1.self.value.weight.shape, l1.output.dense.weight.shape], [[24, 32], [32, 24]]);
  assertEquals(config.pruned_heads, { 0: [1, 2, 3], 1: [0] });

  // A pruned head contributes nothing: zero its input columns of attention.output.dense.
  noGrad(() => {
    for (const [layer, cols] of [[0, [8, 32]], [1, [0, 8]]] as const) {
      const dense = reference.encoder.layer[layer].attention.output.dense;
      const keep = Array.from({ length: 32 }, (_, j) => (j >= cols[0] && j < cols[1] ? 0 : 1));
      dense.weight.assign(dense.weight.mul(tensor([keep])));
    }
  });
  const opts = { attentionMask: int(MASK), outputAttentions: true };
  const got = model.call(int(IDS), opts);
  const want = reference.call(int(IDS), opts);
  assertAllClose(await flat(got.lastHiddenState), await flat(want.lastHiddenState), { atol: 1e-5 });
  assertAllClose(await flat(got.poolerOutput!), await flat(want.poolerOutput!), { atol: 1e-5 });
  assertAllClose(
    await flat(got.attentions![0]),
    await flat(want.attentions![0].narrow(1, 0, 1)),
    { atol: 1e-6 },
  );
  assertAllClose(
    await flat(got.attentions![1]),
    await flat(want.attentions![1].narrow(1, 1, 3)),
    { atol: 1e-6 },
  );

  const before = await flat(got.lastHiddenState);
  model.pruneHeads({ 0: [1], 1: [0] });
  assertEquals([l0.self.numAttentionHeads, l1.self.numAttentionHeads], [1, 3]);
  assertEquals(config.pruned_heads, { 0: [1, 2, 3], 1: [0] });
  assertAllClose(await flat(model.call(int(IDS), opts).lastHiddenState), before);
  assertThrows(() => model.pruneHeads({ 0: [0] }), RangeError, "remove all 1 remaining heads");
  assertThrows(() => model.pruneHeads({ 2: [0] }), RangeError, "the model has 2 layers");

  const dir = await Deno.makeTempDir();
  try {
    await model.savePretrained(dir);
    const saved = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    assertEquals(saved.pruned_heads, { "0": [1, 2, 3], "1": [0] });
    const registry = new ModelRegistry().register(bert);
    const again = await AutoModel.fromPretrained(dir, { registry }) as BertModel;
    assertEquals(again.loadingInfo, { missingKeys: [], unexpectedKeys: [] });
    assertEquals(again.encoder.layer[0].attention.self.key.weight.shape, [8, 32]);
    assertEquals(again.encoder.layer[1].attention.prunedHeads, new Set([0]));
    again.eval();
    assertAllClose(await flat(again.call(int(IDS), opts).lastHiddenState), before, { atol: 1e-6 });
    const mlm = await autoClass("maskedLm").fromPretrained(dir, { registry }) as BertForMaskedLM;
    assertEquals(mlm.bert.encoder.layer[0].attention.self.numAttentionHeads, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- Chunked feed-forward, token types, loading quirks ----

Deno.test("chunk_size_feed_forward > 0 gives the same outputs and gradients as 0", async () => {
  manualSeed(31);
  const plain = new BertForMaskedLM(tiny());
  const chunked = new BertForMaskedLM(tiny({ chunk_size_feed_forward: 2 }));
  chunked.loadStateDict(plain.stateDict());
  assertEquals(chunked.bert.encoder.layer[0].chunkSizeFeedForward, 2);
  const run = async (m: BertForMaskedLM) => {
    const out = m.call(int(IDS), { attentionMask: int(MASK), labels: int(IDS) });
    tidy(() => out.loss!.backward());
    const grads = await Promise.all(m.parameters().map((p) => flat(p.grad!)));
    return { logits: await flat(out.logits), loss: await out.loss!.item(), grads };
  };
  const a = await run(plain);
  const b = await run(chunked);
  assertAllClose(b.logits, a.logits, { atol: 1e-5 });
  assertAllClose([b.loss], [a.loss], { rtol: 1e-6 });
  a.grads.forEach((g, i) => assertAllClose(b.grads[i], g, { rtol: 1e-4, atol: 1e-7 }));
});

Deno.test("token type ids change the output; the default is all zeros", async () => {
  manualSeed(41);
  const model = new BertModel(tiny()).eval();
  const ids = int(IDS);
  const none = await flat(model.call(ids, {}).lastHiddenState);
  const zeros = await flat(
    model.call(ids, { tokenTypeIds: int(IDS.map((r) => r.map(() => 0))) })
      .lastHiddenState,
  );
  const ones = await flat(
    model.call(ids, { tokenTypeIds: int(IDS.map((r) => r.map(() => 1))) })
      .lastHiddenState,
  );
  assertAllClose(zeros, none);
  assert(ones.some((v, i) => Math.abs(v - none[i]) > 1e-3), "token types had no effect");
});

Deno.test("loading ignores embeddings.position_ids and pooler weights where Hugging Face does", () => {
  manualSeed(51);
  const base = new BertModel(tiny());
  const state: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(base.stateDict())) state[`bert.${k}`] = v;
  state["bert.embeddings.position_ids"] = tensor([[0, 1, 2, 3]], { dtype: "int32" });
  const again = new BertModel(tiny());
  assertEquals(again.loadStateDictWithPrefix(state), { missingKeys: [], unexpectedKeys: [] });
  const mlm = new BertForMaskedLM(tiny());
  const info = mlm.loadStateDictWithPrefix(state);
  assertEquals(info.unexpectedKeys, []);
  assertEquals(info.missingKeys.filter((k) => k.startsWith("bert.")), []);
  const bias = tensor(Array.from({ length: 32 }, (_, i) => i));
  const old = mlm.loadStateDictWithPrefix({ ...state, "cls.predictions.decoder.bias": bias });
  assertEquals(old.unexpectedKeys, []);
  assertEquals(mlm.cls.predictions.bias.dataSync()[5], 5);
});

Deno.test("BertModel rejects caches and unsupported configs; sdpa still returns attentions", () => {
  manualSeed(61);
  const model = new BertModel(tiny());
  assertThrows(
    () => model.call(int(IDS), { pastKeyValues: {} as never }),
    TypeError,
    "keeps no key/value cache",
  );
  assertEquals(model.config._attn_implementation, "sdpa");
  const out = model.call(int(IDS), { attentionMask: int(MASK), outputAttentions: true });
  assertEquals(out.attentions!.map((a) => a.shape), [[2, 4, 6, 6], [2, 4, 6, 6]]);
  assertThrows(
    () => new BertModel(tiny({ position_embedding_type: "relative_key" })),
    RangeError,
    "relative_key",
  );
  assertThrows(() => new BertModel(tiny({ is_decoder: true })), RangeError, "is_decoder");
  assertThrows(() => new BertModel(tiny({ hidden_size: 30 })), RangeError, "not a multiple");
  assertThrows(() => model.call(int([Array(17).fill(1)])), RangeError, "max_position_embeddings");
  assertThrows(() => model.call(null), TypeError, "exactly one of inputIds and inputsEmbeds");
});

Deno.test("the plugin builds BERT models and config.gradient_checkpointing enables checkpointing", () => {
  const registry = new ModelRegistry().register(bert);
  const config = bert.parseConfig({ ...tiny().toDict(), gradient_checkpointing: true });
  const mlm = autoClass("maskedLm").fromConfig(config, { registry }) as BertForMaskedLM;
  assert(mlm instanceof BertForMaskedLM && mlm.baseModelPrefix === "bert");
  assert(mlm.bert.encoder.layer.every((l) => l.gradientCheckpointing));
  assertEquals("gradient_checkpointing" in config, false);
  assert(bert.checkpointLayers!(mlm.bert.encoder.layer[0]) && !bert.checkpointLayers!(mlm.bert));
  assert(AutoModel.fromConfig(tiny(), { registry }) instanceof BertModel);
  assert(mlm.bert.encoder.layer[0] instanceof BertLayer);
});

// ---- Golden fixture from Hugging Face transformers (scripts/fixtures/make_bert_fixtures.py) ----

const TESTDATA = new URL("./testdata/", import.meta.url).pathname;
const fixture = await Deno.readTextFile(`${TESTDATA}expected.json`).then(JSON.parse, () => null);

Deno.test({
  name: fixture
    ? "BERT matches the Hugging Face fixture in testdata/"
    : "BERT matches the Hugging Face fixture in testdata/ (ignored: testdata/expected.json is absent; run scripts/fixtures/make_bert_fixtures.py where torch and transformers are installed)",
  ignore: !fixture,
  async fn() {
    const registry = new ModelRegistry().register(bert);
    const opts = {
      attentionMask: int(fixture.attention_mask),
      tokenTypeIds: int(fixture.token_type_ids),
    };
    const ids = int(fixture.input_ids);
    const base = await AutoModel.fromPretrained(TESTDATA, { registry }) as BertModel;
    assertEquals(base.loadingInfo!.missingKeys, []);
    base.config._attn_implementation = "eager";
    base.eval();
    const out = base.call(ids, opts);
    assertAllClose(await flat(out.lastHiddenState), fixture.last_hidden_state.flat(Infinity), {
      atol: 1e-4,
      rtol: 0,
      label: "last_hidden_state",
    });
    assertAllClose(await flat(out.poolerOutput!), fixture.pooler_output.flat(Infinity), {
      atol: 1e-4,
      rtol: 0,
      label: "pooler_output",
    });

    const mlm = await autoClass("maskedLm").fromPretrained(TESTDATA, {
      registry,
    }) as BertForMaskedLM;
    assertEquals(mlm.loadingInfo!.missingKeys, []);
    mlm.config._attn_implementation = "eager";
    mlm.eval();
    const lm = mlm.call(ids, { ...opts, labels: int(fixture.labels) });
    assertAllClose(await flat(lm.logits), fixture.logits.flat(Infinity), {
      atol: 1e-4,
      rtol: 0,
      label: "logits",
    });
    assertAllClose([await lm.loss!.item()], [fixture.loss], { atol: 1e-4, rtol: 0, label: "loss" });
    tidy(() => lm.loss!.backward());
    const params = Object.fromEntries(mlm.namedParameters());
    for (const [name, want] of Object.entries(fixture.grads as Record<string, number[]>)) {
      const expected = want.flat(Infinity) as number[];
      const scale = Math.max(...expected.map(Math.abs));
      assertAllClose(await flat(params[name].grad!), expected, {
        rtol: 1e-3,
        atol: 1e-3 * scale,
        label: `grad ${name}`,
      });
    }
  },
});
