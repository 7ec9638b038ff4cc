import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  AutoModel,
  loadSafetensors,
  manualSeed,
  ModelRegistry,
  noGrad,
  type Tensor,
  tensor,
  tidy,
} from "@denoformers/core";
import { assertAllClose, testBackends, testRng } from "@denoformers/core/testing";
import { isGradientCheckpointing } from "@denoformers/checkpoint";
import { runConformance } from "../_testing/conformance.ts";
import { DynamicCache } from "../cache.ts";
import { gpt2, GPT2Config, GPT2LMHeadModel, GPT2Model } from "./mod.ts";

/** The tiny config every test starts from (dropout off unless asked). */
function tiny(overrides: Record<string, unknown> = {}): GPT2Config {
  return new GPT2Config({
    vocab_size: 32,
    n_positions: 16,
    n_embd: 16,
    n_layer: 2,
    n_head: 4,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    ...overrides,
  });
}

const ids = (rows: number[][]): Tensor => tensor(rows, { dtype: "int32" });

runConformance({
  name: "GPT-2",
  plugin: gpt2,
  config: tiny,
  dropoutKeys: ["resid_pdrop", "embd_pdrop", "attn_pdrop"],
  expectedKeys: [
    "wte.weight",
    "wpe.weight",
    "h.0.ln_1.weight",
    "h.0.ln_1.bias",
    "h.0.attn.c_attn.weight",
    "h.0.attn.c_attn.bias",
    "h.0.attn.c_proj.weight",
    "h.0.attn.c_proj.bias",
    "h.0.ln_2.weight",
    "h.0.mlp.c_fc.weight",
    "h.0.mlp.c_fc.bias",
    "h.0.mlp.c_proj.weight",
    "h.1.mlp.c_proj.bias",
    "ln_f.weight",
    "ln_f.bias",
  ],
  lmHead: (config) => new GPT2LMHeadModel(config as GPT2Config),
  decoder: true,
});

// ---- configuration ---------------------------------------------------------------------------

Deno.test("GPT2Config has Hugging Face's defaults and attribute map", () => {
  const c = new GPT2Config();
  assertEquals(
    [c.vocab_size, c.n_positions, c.n_embd, c.n_layer, c.n_head, c.n_inner],
    [50257, 1024, 768, 12, 12, null],
  );
  assertEquals([c.activation_function, c.resid_pdrop, c.embd_pdrop, c.attn_pdrop], [
    "gelu_new",
    0.1,
    0.1,
    0.1,
  ]);
  assertEquals([c.layer_norm_epsilon, c.initializer_range, c.bos_token_id, c.eos_token_id], [
    1e-5,
    0.02,
    50256,
    50256,
  ]);
  assertEquals(
    [c.scale_attn_weights, c.scale_attn_by_inverse_layer_idx, c.reorder_and_upcast_attn],
    [true, false, false],
  );
  assertEquals(
    [c.summary_type, c.summary_use_proj, c.summary_activation, c.summary_proj_to_labels],
    ["cls_index", true, null, true],
  );
  assertEquals([c.summary_first_dropout, c.use_cache, c.tie_word_embeddings, c.model_type], [
    0.1,
    true,
    true,
    "gpt2",
  ]);
  assertEquals(
    [c.hidden_size, c.num_attention_heads, c.num_hidden_layers, c.max_position_embeddings],
    [768, 12, 12, 1024],
  );
  c.num_hidden_layers = 3;
  assertEquals(c.n_layer, 3);
  const again = new GPT2Config(JSON.parse(c.toJsonString()));
  assertEquals(again.toDict(), c.toDict());
  assert(!("num_hidden_layers" in c.toDict()));
  assertThrows(() => new GPT2Config({ n_head: 2.5 }), RangeError, '"n_head"');
  assertThrows(() => new GPT2Config({ vocab_size: "10" }), TypeError, '"vocab_size"');
});

Deno.test("GPT-2 rejects bad shapes of the config and the inputs", () => {
  assertThrows(() => new GPT2Model(tiny({ n_head: 3 })), RangeError, "not divisible by n_head 3");
  assertThrows(() => new GPT2Model(tiny({ add_cross_attention: true })), RangeError, "cross");
  const model = new GPT2Model(tiny());
  assertThrows(() => model.call(null, {}), TypeError, "exactly one of inputIds");
  assertThrows(() => model.pruneHeads({ 2: [0] }), RangeError, "layer 2");
});

// ---- initialisation, embeddings, checkpointing back-compat ------------------------------------

Deno.test("GPT-2 initialisation scales c_proj by 1/sqrt(2·n_layer); attn impl defaults to sdpa", async () => {
  manualSeed(7);
  const config = tiny({ n_embd: 64, n_layer: 8, n_head: 4 });
  const model = new GPT2Model(config);
  assertEquals(config._attn_implementation, "sdpa");
  const std = async (t: Tensor) => Math.sqrt(await t.pow(2).mean().item());
  const attn = model.h[3].attn;
  const near = (v: number, want: number) =>
    assert(Math.abs(v / want - 1) < 0.08, `${v} vs ${want}`);
  near(await std(attn.c_attn.weight), 0.02);
  near(await std(model.h[3].mlp.c_fc.weight), 0.02);
  near(await std(model.wte.weight), 0.02);
  near(await std(attn.c_proj.weight), 0.02 / 4);
  near(await std(model.h[0].mlp.c_proj.weight), 0.02 / 4);
  assertEquals(await attn.c_attn.bias.abs().max().item(), 0);
  assertEquals(await model.ln_f.weight!.min().item(), 1);
});

Deno.test("GPT-2 inputsEmbeds give the same output as inputIds; token types add wte rows", async () => {
  manualSeed(8);
  const model = new GPT2Model(tiny()).eval();
  const x = ids([[3, 1, 4, 1, 5]]);
  const a = await model.call(x, { useCache: false }).lastHiddenState.data();
  const embeds = model.getInputEmbeddings().call(x);
  const b = await model.call(null, { inputsEmbeds: embeds, useCache: false }).lastHiddenState
    .data();
  assertAllClose(b, a);
  const types = ids([[2, 2, 2, 2, 2]]);
  const c = await model.call(x, { tokenTypeIds: types, useCache: false }).lastHiddenState.data();
  const shifted = embeds.add(model.wte.call(types));
  const d = await model.call(null, { inputsEmbeds: shifted, useCache: false }).lastHiddenState
    .data();
  assertAllClose(c, d, { atol: 1e-5 });
});

Deno.test("config.gradient_checkpointing enables checkpointing and is consumed", () => {
  const lm = new GPT2LMHeadModel(tiny({ gradient_checkpointing: true }));
  assert(isGradientCheckpointing(lm));
  assertEquals("gradient_checkpointing" in lm.config, false);
});

testBackends("GPT-2 accepts ids, positions, token types, mask and labels on the CPU", async (b) => {
  manualSeed(9);
  const lm = new GPT2LMHeadModel(tiny()).eval();
  const rows = [[5, 3, 9, 2], [1, 4, 4, 8]];
  const mask = [[1, 1, 1, 1], [0, 1, 1, 1]];
  const run = (on: "cpu" | typeof b) => {
    const t = (v: number[][]) => tensor(v, { dtype: "int32", backend: on });
    return lm.call(t(rows), {
      attentionMask: t(mask),
      positionIds: t([[0, 1, 2, 3], [0, 0, 1, 2]]),
      tokenTypeIds: t([[1, 1, 2, 2], [1, 1, 2, 2]]),
      labels: t(rows),
      useCache: false,
    });
  };
  const [cpu, here] = [run("cpu"), run(b)];
  assertEquals(cpu.logits.backend, b);
  assertAllClose(await cpu.logits.data(), await here.logits.data());
  assertAllClose([await cpu.loss!.item()], [await here.loss!.item()]);
});

Deno.test("GPT-2 reorder_and_upcast_attn with float16 weights gives float16 outputs close to float32", async () => {
  manualSeed(11);
  const config = tiny({ attn_implementation: "eager", reorder_and_upcast_attn: true });
  const lm = new GPT2LMHeadModel(config).eval();
  const x = ids([[5, 3, 9, 2, 7]]);
  const want = await lm.call(x, { useCache: false, outputAttentions: true }).logits.data();
  lm.castFloats("float16");
  const out = lm.call(x, { useCache: false, outputAttentions: true });
  assertEquals([out.logits.dtype, out.attentions![0].dtype], ["float16", "float16"]);
  assertAllClose(await out.logits.cast("float32").data(), want, { atol: 2e-3, rtol: 1e-2 });
});

// ---- a hand-set model against a plain-JS computation --------------------------------------------

type Weights = Record<string, number[]>;

const add = (a: number[], b: number[]): number[] => a.map((v, i) => v + b[i]);

function layerNorm(x: number[], g: number[], b: number[], eps: number): number[] {
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * g[i] + b[i]);
}

/** `b + x·W` with W stored `[nx, nf]` row-major. */
function conv1d(x: number[], w: number[], b: number[]): number[] {
  const nf = b.length;
  const y = [...b];
  x.forEach((xi, i) => {
    for (let j = 0; j < nf; j++) y[j] += xi * w[i * nf + j];
  });
  return y;
}

const geluNew = (x: number): number =>
  0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/**
 * GPT-2 written out in float64 loops: hidden states after `ln_f` and tied-head logits per real
 * position (left-padded query rows, which see no key, are left as `null`).
 */
function reference(w: Weights, c: GPT2Config, rows: number[][], mask: number[][]) {
  const E = c.n_embd;
  const D = E / c.n_head;
  const eps = c.layer_norm_epsilon;
  const row = (name: string, r: number) => w[name].slice(r * E, (r + 1) * E);
  return rows.map((seq, b) => {
    let xs = seq.map((t, s) =>
      add(row("transformer.wte.weight", t), row("transformer.wpe.weight", s))
    );
    for (let l = 0; l < c.n_layer; l++) {
      const p = (k: string) => w[`transformer.h.${l}.${k}`];
      const qkv = xs.map((x) =>
        conv1d(
          layerNorm(x, p("ln_1.weight"), p("ln_1.bias"), eps),
          p("attn.c_attn.weight"),
          p("attn.c_attn.bias"),
        )
      );
      let scaling = c.scale_attn_weights ? D ** -0.5 : 1;
      if (c.scale_attn_by_inverse_layer_idx) scaling /= l + 1;
      const attended = qkv.map((q, i) => {
        const out = new Array(E).fill(0);
        const keys = seq.map((_, j) => j).filter((j) => j <= i && mask[b][j] === 1);
        for (let h = 0; h < c.n_head; h++) {
          const scores = keys.map((j) => {
            let s = 0;
            for (let d = 0; d < D; d++) s += q[h * D + d] * qkv[j][E + h * D + d];
            return s * scaling;
          });
          const max = Math.max(...scores);
          const e = scores.map((s) => Math.exp(s - max));
          const z = e.reduce((s, v) => s + v, 0);
          keys.forEach((j, n) => {
            for (let d = 0; d < D; d++) out[h * D + d] += (e[n] / z) * qkv[j][2 * E + h * D + d];
          });
        }
        return conv1d(out, p("attn.c_proj.weight"), p("attn.c_proj.bias"));
      });
      xs = xs.map((x, i) => add(x, attended[i]));
      xs = xs.map((x) => {
        const inner = conv1d(
          layerNorm(x, p("ln_2.weight"), p("ln_2.bias"), eps),
          p("mlp.c_fc.weight"),
          p("mlp.c_fc.bias"),
        );
        return add(x, conv1d(inner.map(geluNew), p("mlp.c_proj.weight"), p("mlp.c_proj.bias")));
      });
    }
    return xs.map((x, i) => {
      if (mask[b][i] === 0 && !mask[b].slice(0, i).includes(1)) return null;
      const hidden = layerNorm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps);
      const logits = Array.from({ length: c.vocab_size }, (_, v) => {
        const e = row("transformer.wte.weight", v);
        return hidden.reduce((s, h, k) => s + h * e[k], 0);
      });
      return { hidden, logits };
    });
  });
}

/** Causal LM loss of the reference logits: labels shifted left, -100 (padding) ignored. */
function referenceLoss(out: ReturnType<typeof reference>, labels: number[][]): number {
  let total = 0;
  let n = 0;
  out.forEach((positions, b) =>
    positions.forEach((pos, t) => {
      const label = labels[b][t + 1];
      if (label === undefined || label === -100 || !pos) return;
      const max = Math.max(...pos.logits);
      const lse = max + Math.log(pos.logits.reduce((s, v) => s + Math.exp(v - max), 0));
      total += lse - pos.logits[label];
      n++;
    })
  );
  return total / n;
}

/** Sets every weight of `lm` to deterministic float32 values; returns them by name. */
function setWeights(lm: GPT2LMHeadModel, seed: number): Weights {
  const r = testRng(seed);
  const weights: Weights = {};
  const sd: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(lm.stateDict())) {
    if (name === "lm_head.weight") continue; // tied to transformer.wte.weight
    const isNormScale = /ln_(1|2|f)\.weight$/.test(name);
    const values = Array.from(
      { length: t.size },
      () => Math.fround(isNormScale ? 1 + 0.4 * (r() - 0.5) : r() - 0.5),
    );
    weights[name] = values;
    sd[name] = tensor(values, { backend: "cpu" }).reshape(t.shape);
  }
  lm.loadStateDict(sd, { strict: false });
  return weights;
}

testBackends(
  "GPT-2: hand-set models match a plain-JS computation (eager, sdpa, flags)",
  async (b) => {
    const rows = [[5, 3, 9, 2, 7], [0, 0, 4, 8, 1]];
    const mask = [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]];
    // A left-padded query sees no key (its output depends on the implementation), so the first
    // real token of row 1, which that query would predict, is not a label.
    const labels = [[5, 3, 9, 2, 7], [-100, -100, -100, 8, 1]];
    const cases: Record<string, unknown>[] = [
      { n_layer: 1, attn_implementation: "eager" },
      { n_layer: 1, attn_implementation: "sdpa" },
      {
        n_layer: 2,
        n_inner: 24,
        scale_attn_weights: false,
        scale_attn_by_inverse_layer_idx: true,
        attn_implementation: "eager",
      },
    ];
    for (const [k, overrides] of cases.entries()) {
      const config = tiny({ n_embd: 8, n_head: 2, vocab_size: 12, ...overrides });
      const lm = new GPT2LMHeadModel(config).eval();
      const w = setWeights(lm, 10 + k);
      const want = reference(w, config, rows, mask);
      const out = lm.call(tensor(rows, { dtype: "int32", backend: b }), {
        attentionMask: tensor(mask, { dtype: "int32", backend: b }),
        labels: tensor(labels, { dtype: "int32", backend: b }),
        outputHiddenStates: true,
      });
      const hidden = await out.hiddenStates!.at(-1)!.toArray() as number[][][];
      const logits = await out.logits.toArray() as number[][][];
      want.forEach((positions, i) =>
        positions.forEach((pos, t) => {
          if (!pos) return;
          const label = `case ${k}, row ${i}, position ${t}`;
          assertAllClose(hidden[i][t], pos.hidden, { atol: 1e-4, rtol: 1e-4, label });
          assertAllClose(logits[i][t], pos.logits, { atol: 1e-4, rtol: 1e-4, label });
        })
      );
      assertAllClose([await out.loss!.item()], [referenceLoss(want, labels)], { rtol: 1e-5 });
      out.pastKeyValues?.dispose();
    }
  },
);

Deno.test("GPT-2 gradients match central finite differences (float64, eager, padded)", async () => {
  const config = tiny({ n_embd: 8, n_head: 2, vocab_size: 12, attn_implementation: "eager" });
  const lm = new GPT2LMHeadModel(config).eval();
  setWeights(lm, 40);
  lm.castFloats("float64");
  const x = ids([[5, 3, 9, 2, 7], [0, 4, 4, 8, 1]]);
  const options = {
    attentionMask: ids([[1, 1, 1, 1, 1], [0, 1, 1, 1, 1]]),
    labels: ids([[5, 3, 9, 2, 7], [-100, -100, 4, 8, 1]]),
    useCache: false,
  };
  tidy(() => lm.call(x, options).loss!.backward());
  const loss = () => noGrad(() => tidy(() => lm.call(x, options).loss!));
  const params = Object.fromEntries(lm.namedParameters());
  const r = testRng(41);
  const names = [
    "transformer.wte.weight",
    "transformer.wpe.weight",
    "transformer.h.0.ln_1.bias",
    "transformer.h.0.attn.c_attn.weight",
    "transformer.h.0.attn.c_attn.bias",
    "transformer.h.1.attn.c_proj.weight",
    "transformer.h.1.mlp.c_fc.weight",
    "transformer.ln_f.weight",
  ];
  let largest = 0;
  for (const name of names) {
    const p = params[name];
    const grads = await p.grad!.data();
    const limit = name.includes("wpe") ? 5 * 8 : p.size; // positions 0..4 only
    for (let n = 0; n < 3; n++) {
      const i = Math.floor(r() * limit);
      const base = Array.from(await p.data());
      const at = async (delta: number) => {
        const moved = [...base];
        moved[i] += delta;
        noGrad(() => p.assign(tensor(moved, { dtype: "float64" }).reshape(p.shape)));
        const l = loss();
        const v = await l.item();
        l.dispose();
        return v;
      };
      const h = 1e-6;
      const numeric = ((await at(h)) - (await at(-h))) / (2 * h);
      await at(0);
      assertAllClose([grads[i]], [numeric], { rtol: 1e-5, atol: 1e-8, label: `${name}[${i}]` });
      largest = Math.max(largest, Math.abs(numeric));
    }
  }
  assert(largest > 1e-3, `gradients too small to test: ${largest}`);
});

// ---- head pruning (the head-count checks of transformers' common tests) -------------------------

const prompt = () => ids([[5, 3, 9, 2, 7], [1, 4, 4, 8, 0]]);
const promptMask = () => ids([[1, 1, 1, 1, 1], [0, 1, 1, 1, 1]]);

function headCounts(model: GPT2Model): number[] {
  const out = model.call(prompt(), {
    attentionMask: promptMask(),
    outputAttentions: true,
    useCache: false,
  });
  const fromWeights = out.attentions!.map((a) => a.shape[1]);
  assertEquals(model.h.map((h) => h.attn.numHeads), fromWeights);
  return fromWeights;
}

Deno.test("GPT-2 pruning: {0: [1..H-1], -1: [0]} keeps 1 and H-1 heads, through save and load", async () => {
  manualSeed(20);
  const config = tiny({ n_layer: 2, attn_implementation: "eager" });
  const model = new GPT2Model(config).eval();
  model.pruneHeads({ 0: [1, 2, 3], [-1]: [0] });
  assertEquals(headCounts(model), [1, 3]);
  assertEquals(config.pruned_heads, { 0: [1, 2, 3], 1: [0] });
  assertEquals(model.h[0].attn.c_attn.weight.shape, [16, 3 * 4]);
  assertEquals(model.h[1].attn.c_proj.weight.shape, [12, 16]);
  const before = await model.call(prompt(), { useCache: false }).lastHiddenState.data();
  const dir = await Deno.makeTempDir();
  try {
    await model.savePretrained(dir);
    const registry = new ModelRegistry().register(gpt2);
    const again = await AutoModel.fromPretrained(dir, { registry }) as GPT2Model;
    assertEquals(again.loadingInfo, { missingKeys: [], unexpectedKeys: [] });
    again.config._attn_implementation = "eager";
    again.eval();
    assertEquals(headCounts(again), [1, 3]);
    assertEquals(again.config.pruned_heads, { 0: [1, 2, 3], 1: [0] });
    assertAllClose(await again.call(prompt(), { useCache: false }).lastHiddenState.data(), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // Pruning the same heads again changes nothing.
  model.pruneHeads({ 0: [1, 2, 3], 1: [0] });
  assertEquals(headCounts(model), [1, 3]);
  assertEquals(config.pruned_heads, { 0: [1, 2, 3], 1: [0] });
});

Deno.test("GPT-2 pruning from config.pruned_heads at construction, then merged with new prunes", () => {
  manualSeed(21);
  const config = tiny({
    n_layer: 3,
    attn_implementation: "eager",
    pruned_heads: { "0": [0], "1": [1, 2] },
  });
  const lm = new GPT2LMHeadModel(config);
  assertEquals(headCounts(lm.transformer), [3, 2, 4]);
  lm.pruneHeads({ 0: [0], 2: [1, 2] });
  assertEquals(headCounts(lm.transformer), [3, 2, 2]);
  assertEquals(config.pruned_heads, { 0: [0], 1: [1, 2], 2: [1, 2] });
  lm.pruneHeads({ 1: [3] });
  assertEquals(headCounts(lm.transformer), [3, 1, 2]);
  assertEquals(config.pruned_heads[1], [1, 2, 3]);
  const negative = new GPT2Model(tiny({ pruned_heads: { "-1": [2] } }));
  assertEquals(negative.config.pruned_heads, { 1: [2] });
  assertEquals(negative.h.map((h) => h.attn.numHeads), [4, 3]);
});

testBackends(
  "GPT-2 pruning leaves the kept heads' outputs unchanged (vs pruned heads zeroed)",
  async (b) => {
    manualSeed(22);
    const pruned = { 0: [1, 3], 1: [0] };
    const a = new GPT2Model(tiny({ attn_implementation: "eager" })).eval();
    const z = new GPT2Model(tiny({ attn_implementation: "eager" })).eval();
    // z: a's weights with the c_proj rows that read the pruned heads zeroed.
    const D = 4;
    const sd: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(a.stateDict())) {
      const values = Array.from(await t.data());
      const m = /^h\.(\d+)\.attn\.c_proj\.weight$/.exec(name);
      for (const h of m ? pruned[Number(m[1]) as 0 | 1] : []) {
        values.fill(0, h * D * 16, (h + 1) * D * 16);
      }
      sd[name] = tensor(values, { backend: "cpu" }).reshape(t.shape);
    }
    z.loadStateDict(sd);
    a.pruneHeads(pruned);
    const x = tensor([[5, 3, 9, 2, 7], [1, 4, 4, 8, 0]], { dtype: "int32", backend: b });
    const mask = tensor([[1, 1, 1, 1, 1], [0, 1, 1, 1, 1]], { dtype: "int32", backend: b });
    const run = (m: GPT2Model) =>
      m.call(x, { attentionMask: mask, outputAttentions: true, useCache: false });
    const [outA, outZ] = [run(a), run(z)];
    assertAllClose(await outA.lastHiddenState.data(), await outZ.lastHiddenState.data(), {
      atol: 1e-5,
    });
    const kept = [[0, 2], [1, 2, 3]];
    for (const [layer, heads] of kept.entries()) {
      for (const [i, h] of heads.entries()) {
        assertAllClose(
          await outA.attentions![layer].narrow(1, i, 1).contiguous().data(),
          await outZ.attentions![layer].narrow(1, h, 1).contiguous().data(),
          { atol: 1e-6, label: `layer ${layer} head ${h}` },
        );
      }
    }
  },
);

// ---- LM head: tying, saving, loading, generation ------------------------------------------------

Deno.test("GPT-2 LM head is tied, saved once, and reloads tied; legacy buffers are ignored", async () => {
  manualSeed(30);
  const lm = new GPT2LMHeadModel(tiny()).eval();
  assert(lm.lm_head.weight === lm.transformer.wte.weight);
  assertEquals(
    lm.namedParameters().filter(([n]) => n.endsWith("wte.weight") || n === "lm_head.weight").length,
    1,
  );
  const dir = await Deno.makeTempDir();
  try {
    await lm.savePretrained(dir);
    const saved = await loadSafetensors(`${dir}/model.safetensors`, { backend: "cpu" });
    assert("transformer.wte.weight" in saved && !("lm_head.weight" in saved));
    assertEquals(Object.keys(saved).length, Object.keys(lm.stateDict()).length - 1);
    const again = new GPT2LMHeadModel(
      new GPT2Config(JSON.parse(await Deno.readTextFile(`${dir}/config.json`))),
    ).eval();
    assertEquals(await again.loadPretrainedWeights(dir), { missingKeys: [], unexpectedKeys: [] });
    assert(again.lm_head.weight === again.transformer.wte.weight);
    const x = prompt();
    assertAllClose(
      await again.call(x, { useCache: false }).logits.data(),
      await lm.call(x, { useCache: false }).logits.data(),
    );
    // Old PyTorch files carry non-persistent mask buffers, often without the prefix.
    saved["h.0.attn.bias"] = tensor([[[[1]]]], { backend: "cpu" });
    saved["h.1.attn.masked_bias"] = tensor(-1e4, { backend: "cpu" });
    saved["transformer.extra"] = tensor([1], { backend: "cpu" });
    const info = new GPT2LMHeadModel(tiny()).loadStateDictWithPrefix(saved);
    assertEquals(info, { missingKeys: [], unexpectedKeys: ["transformer.extra"] });
    const base = new GPT2Model(tiny()).loadStateDictWithPrefix({
      "h.0.attn.bias": saved["h.0.attn.bias"],
      "wte.weight": saved["transformer.wte.weight"],
    });
    assertEquals(base.unexpectedKeys, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("GPT-2 with untied embeddings keeps and saves a separate lm_head", async () => {
  manualSeed(31);
  const lm = new GPT2LMHeadModel(tiny({ tie_word_embeddings: false }));
  assert(lm.lm_head.weight !== lm.transformer.wte.weight);
  const dir = await Deno.makeTempDir();
  try {
    await lm.savePretrained(dir);
    const saved = await loadSafetensors(`${dir}/model.safetensors`, { backend: "cpu" });
    assert("lm_head.weight" in saved);
    assertAllClose(await saved["lm_head.weight"].data(), await lm.lm_head.weight.data());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("GPT-2 greedy generate equals argmax of repeated full forwards", async () => {
  manualSeed(32);
  const lm = new GPT2LMHeadModel(tiny()).eval();
  const start = [[5, 3, 9], [2, 2, 7]];
  const got = await (await lm.generate(ids(start), { maxNewTokens: 5 })).toArray();
  const rows = start.map((r) => [...r]);
  for (let step = 0; step < 5; step++) {
    const logits = tidy(() => lm.call(ids(rows), { useCache: false }).logits);
    const values = await logits.toArray() as number[][][];
    logits.dispose();
    rows.forEach((r, i) => {
      const last = values[i][r.length - 1];
      r.push(last.indexOf(Math.max(...last)));
    });
  }
  assertEquals(got, rows);
});

Deno.test("GPT-2 blocks accept the old layerPast name for the cache", () => {
  manualSeed(33);
  const model = new GPT2Model(tiny());
  const cache = new DynamicCache();
  model.h[1].call(model.wte.call(ids([[1, 2]])), { layerPast: cache });
  assertEquals([cache.getSeqLength(0), cache.getSeqLength(1)], [0, 2]);
  cache.dispose();
});

// ---- PyTorch fixtures (scripts/fixtures/make_gpt2_fixtures.py) ----------------------------------

const FIXTURE_DIR = decodeURIComponent(new URL("./testdata", import.meta.url).pathname);
const hasFixture = (() => {
  try {
    return Deno.statSync(`${FIXTURE_DIR}/expected.json`).isFile;
  } catch {
    return false;
  }
})();

interface Stored {
  shape: number[];
  data: number[];
}

interface Expected {
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
  last_hidden_state: Stored;
  logits: Stored;
  loss: number;
  grads: Record<string, Stored>;
}

/** Values at the real (mask 1) positions of a `[B, S, ...]` array. */
function realPositions(values: ArrayLike<number>, shape: number[], mask: number[][]): number[] {
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  mask.forEach((row, b) =>
    row.forEach((m, s) => {
      if (!m) return;
      const at = (b * shape[1] + s) * inner;
      for (let i = 0; i < inner; i++) out.push(values[at + i]);
    })
  );
  return out;
}

Deno.test({
  name: hasFixture
    ? "GPT-2 matches PyTorch transformers on testdata/ (outputs 1e-4 abs, gradients 1e-3 rel)"
    : "GPT-2 matches PyTorch transformers on testdata/ (ignored: no testdata/expected.json; run scripts/fixtures/make_gpt2_fixtures.py)",
  ignore: !hasFixture,
  async fn() {
    const want = JSON.parse(await Deno.readTextFile(`${FIXTURE_DIR}/expected.json`)) as Expected;
    const config = gpt2.parseConfig(
      JSON.parse(await Deno.readTextFile(`${FIXTURE_DIR}/config.json`)),
    );
    config._attn_implementation = "eager";
    const lm = new GPT2LMHeadModel(config).eval();
    const info = await lm.loadPretrainedWeights(FIXTURE_DIR);
    assertEquals(info, { missingKeys: [], unexpectedKeys: [] });
    const mask = want.attention_mask;
    const out = lm.call(ids(want.input_ids), {
      attentionMask: ids(mask),
      labels: ids(want.labels),
      outputHiddenStates: true,
      useCache: false,
    });
    const hidden = await out.hiddenStates!.at(-1)!.data();
    const hs = want.last_hidden_state;
    assertAllClose(realPositions(hidden, hs.shape, mask), realPositions(hs.data, hs.shape, mask), {
      atol: 1e-4,
      rtol: 0,
      label: "last_hidden_state",
    });
    const lg = want.logits;
    assertAllClose(
      realPositions(await out.logits.data(), lg.shape, mask),
      realPositions(lg.data, lg.shape, mask),
      {
        atol: 1e-4,
        rtol: 0,
        label: "logits",
      },
    );
    assertAllClose([await out.loss!.item()], [want.loss], { atol: 1e-4, rtol: 0, label: "loss" });
    out.loss!.backward();
    const params = Object.fromEntries(lm.namedParameters());
    for (const [name, g] of Object.entries(want.grads)) {
      const scale = Math.max(...g.data.map(Math.abs));
      assertAllClose(await params[name].grad!.data(), g.data, {
        rtol: 1e-3,
        atol: 1e-5 * scale,
        label: `grad of ${name}`,
      });
    }
  },
});
