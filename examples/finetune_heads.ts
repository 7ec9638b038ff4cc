/**
 * Fine-tunes each generic task head of `@denoformers/heads` on a synthetic dataset that this
 * script generates (no downloads), on top of a tiny transformer encoder registered as a plugin,
 * with gradient checkpointing on its layers. Prints loss and held-out accuracy / F1:
 *
 * - sequence classification: is the sentence "positive" (more positive than negative words)?
 *   Sequences are padded on the left or on the right; the head pools the last real token.
 * - token classification: tag names introduced by a title word (B/I/O tags), scored by entity F1.
 * - question answering: find the span of number words in the context (exact match and token F1).
 *
 * Run: `deno task finetune` (options: `--backend cpu|webgpu`, `--steps N`).
 *
 * @module
 */

import {
  AdamW,
  cat,
  Embedding,
  LayerNorm,
  Linear,
  manualSeed,
  ModelRegistry,
  Module,
  noGrad,
  PretrainedConfig,
  PreTrainedModel,
  setBackend,
  type Tensor,
  tensor,
  tidy,
} from "@denoformers/core";
import { gradientCheckpointingEnable, GradientCheckpointingLayer } from "@denoformers/checkpoint";
import {
  AutoModelForQuestionAnswering,
  AutoModelForSequenceClassification,
  AutoModelForTokenClassification,
  type BaseModelOptions,
  type BaseModelOutputWithPast,
} from "@denoformers/heads";

// ---- a tiny transformer encoder, registered as the "tiny" model type ----------------------------

class TinyConfig extends PretrainedConfig {
  declare vocab_size: number;
  declare hidden_size: number;
  declare num_attention_heads: number;
  declare num_hidden_layers: number;
  static override defaults = {
    model_type: "tiny",
    vocab_size: 24,
    hidden_size: 32,
    num_attention_heads: 2,
    num_hidden_layers: 2,
    pad_token_id: 0,
    classifier_dropout: 0,
  };
}

type Rotary = { cos: Tensor; sin: Tensor };

/** Rotary tables `cos`, `sin` of shape (S, d) for head size d (Llama's layout, base 10000). */
function rotaryTables(seq: number, d: number): Rotary {
  const angles = Array.from(
    { length: seq },
    (_, s) => Array.from({ length: d }, (_, i) => s / 10000 ** ((2 * (i % (d / 2))) / d)),
  );
  return {
    cos: tensor(angles.map((row) => row.map(Math.cos))),
    sin: tensor(angles.map((row) => row.map(Math.sin))),
  };
}

/** `x·cos + rotate_half(x)·sin`, so attention scores depend on relative positions. */
function rotate(x: Tensor, { cos, sin }: Rotary): Tensor {
  const [x1, x2] = x.chunk(2, -1);
  return x.mul(cos).add(cat([x2.neg(), x1], -1).mul(sin));
}

class TinyAttention extends Module {
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  o_proj: Linear;
  constructor(readonly hidden: number, readonly heads: number) {
    super();
    this.q_proj = new Linear(hidden, hidden);
    this.k_proj = new Linear(hidden, hidden);
    this.v_proj = new Linear(hidden, hidden);
    this.o_proj = new Linear(hidden, hidden);
  }
  forward(x: Tensor, mask: Tensor | null, tables: Rotary): Tensor {
    const [B, S, H] = x.shape;
    const d = H / this.heads;
    const split = (t: Tensor) => t.reshape([B, S, this.heads, d]).transpose(1, 2); // (B, h, S, d)
    const q = rotate(split(this.q_proj.call(x)), tables);
    const k = rotate(split(this.k_proj.call(x)), tables);
    const v = split(this.v_proj.call(x));
    let scores = q.matmul(k.transpose(-1, -2)).mul(1 / Math.sqrt(d)); // (B, h, S, S)
    if (mask) scores = scores.add(mask);
    const context = scores.softmax(-1).matmul(v).transpose(1, 2).reshape([B, S, H]);
    return this.o_proj.call(context);
  }
}

class TinyMlp extends Module {
  up_proj: Linear;
  down_proj: Linear;
  constructor(hidden: number) {
    super();
    this.up_proj = new Linear(hidden, 2 * hidden);
    this.down_proj = new Linear(2 * hidden, hidden);
  }
  forward(x: Tensor): Tensor {
    return this.down_proj.call(this.up_proj.call(x).gelu());
  }
}

/** A pre-norm encoder layer; gradient checkpointing recomputes it in backward. */
class TinyLayer extends GradientCheckpointingLayer {
  input_layernorm: LayerNorm;
  self_attn: TinyAttention;
  post_attention_layernorm: LayerNorm;
  mlp: TinyMlp;
  constructor(config: TinyConfig) {
    super();
    this.input_layernorm = new LayerNorm(config.hidden_size);
    this.self_attn = new TinyAttention(config.hidden_size, config.num_attention_heads);
    this.post_attention_layernorm = new LayerNorm(config.hidden_size);
    this.mlp = new TinyMlp(config.hidden_size);
  }
  forward(x: Tensor, options: { mask: Tensor | null; rotary: Rotary }): Tensor {
    const normed = this.input_layernorm.call(x);
    const h = x.add(this.self_attn.call(normed, options.mask, options.rotary));
    return h.add(this.mlp.call(this.post_attention_layernorm.call(h)));
  }
}

class TinyModel extends PreTrainedModel {
  readonly baseModelPrefix = "model";
  embed_tokens: Embedding;
  layers: TinyLayer[];
  norm: LayerNorm;
  constructor(config: TinyConfig) {
    super(config);
    this.embed_tokens = new Embedding(config.vocab_size, config.hidden_size);
    this.layers = Array.from({ length: config.num_hidden_layers }, () => new TinyLayer(config));
    this.norm = new LayerNorm(config.hidden_size);
    this.postInit();
  }
  getInputEmbeddings(): Module {
    return this.embed_tokens;
  }
  forward(inputIds: Tensor | null, options: BaseModelOptions = {}): BaseModelOutputWithPast {
    let x = options.inputsEmbeds ?? this.embed_tokens.call(inputIds!);
    const [B, S] = x.shape;
    // Padding keys get -1e9 before the softmax: (B, 1, 1, S).
    const mask = options.attentionMask
      ? options.attentionMask.cast("float32").sub(1).mul(1e9).reshape([B, 1, 1, S])
      : null;
    const heads = (this.config as TinyConfig).num_attention_heads;
    const rotary = rotaryTables(S, x.shape[2] / heads);
    for (const layer of this.layers) x = layer.call(x, { mask, rotary });
    return { lastHiddenState: this.norm.call(x) };
  }
}

const registry = new ModelRegistry().register({
  modelType: "tiny",
  parseConfig: (values) => new TinyConfig(values),
  createBaseModel: (config) => new TinyModel(config),
  baseModelPrefix: "model",
});

// ---- synthetic datasets -------------------------------------------------------------------------

const S = 12;
const PAD = 0, TITLE = 2;
const POSITIVE = [4, 5, 6, 7], NEGATIVE = [8, 9, 10, 11], NAMES = [12, 13, 14, 15];
const NUMBERS = [16, 17, 18, 19], FILLER = [20, 21, 22, 23];
let seed = 7;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = (xs: number[]) => xs[Math.floor(rand() * xs.length)];

/** Sentences of 5-12 words, positive when positive words outnumber negative ones by 2 or more. */
function sentimentExample(): { ids: number[]; label: number } {
  const length = 5 + Math.floor(rand() * (S - 4));
  for (;;) {
    const words = Array.from({ length }, () => pick([...POSITIVE, ...NEGATIVE, ...FILLER]));
    const score = words.filter((w) => POSITIVE.includes(w)).length -
      words.filter((w) => NEGATIVE.includes(w)).length;
    if (Math.abs(score) < 2) continue;
    const pad = Array(S - length).fill(PAD);
    return {
      ids: rand() < 0.5 ? [...pad, ...words] : [...words, ...pad],
      label: score > 0 ? 1 : 0,
    };
  }
}

/** Names after a title word are entities (B, then I); names elsewhere are not (O). */
function taggingExample(): { ids: number[]; tags: number[] } {
  const ids: number[] = [];
  const tags: number[] = [];
  while (ids.length < S - 3) {
    const r = rand();
    if (r < 0.25) {
      const n = 1 + Math.floor(rand() * 2);
      ids.push(TITLE, ...Array.from({ length: n }, () => pick(NAMES)));
      tags.push(0, 1, ...Array(n - 1).fill(2));
    } else {
      ids.push(pick(r < 0.45 ? NAMES : [...FILLER, ...POSITIVE]));
      tags.push(0);
    }
  }
  while (ids.length < S) (ids.push(PAD), tags.push(-100));
  return { ids: ids.slice(0, S), tags: tags.slice(0, S) };
}

/** A context with one run of number words; the answer is that run. */
function qaExample(): { ids: number[]; start: number; end: number } {
  const ids = Array.from({ length: S }, () => pick([...FILLER, ...NAMES, ...POSITIVE]));
  const length = 1 + Math.floor(rand() * 3);
  const start = Math.floor(rand() * (S - length));
  for (let i = 0; i < length; i++) ids[start + i] = pick(NUMBERS);
  return { ids, start, end: start + length - 1 };
}

// ---- training -----------------------------------------------------------------------------------

function flag(name: string, fallback: string): string {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 && Deno.args[at + 1] ? Deno.args[at + 1] : fallback;
}

const requested = flag("backend", "auto");
const steps = Number(flag("steps", "100"));
const BATCH = 24;
const backend = await setBackend(requested === "auto" ? undefined : requested as "cpu" | "webgpu");
console.log(`backend: ${backend}, ${steps} steps per task, batch ${BATCH}, sequence length ${S}`);
manualSeed(0);

const int = (rows: number[][] | number[]) => tensor(rows, { dtype: "int32" });
const attention = (rows: number[][]) => int(rows.map((r) => r.map((t) => (t === PAD ? 0 : 1))));

/** AdamW with checkpointed layers; prints the loss now and then. */
async function train(model: PreTrainedModel, lossOf: (step: number) => Tensor): Promise<void> {
  const start = performance.now();
  gradientCheckpointingEnable(model);
  model.train();
  const opt = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0.01 });
  for (let step = 1; step <= steps; step++) {
    const loss = tidy(() => {
      opt.zeroGrad();
      const l = lossOf(step);
      l.backward();
      opt.step();
      return l.detach();
    });
    if (step === 1 || step % 25 === 0 || step === steps) {
      console.log(`  step ${String(step).padStart(4)}  loss ${(await loss.item()).toFixed(4)}`);
    }
    loss.dispose();
  }
  console.log(`  trained in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  model.eval();
}

const argmaxRows = (data: ArrayLike<number>, width: number) =>
  Array.from({ length: data.length / width }, (_, r) => {
    let best = 0;
    for (let j = 1; j < width; j++) if (data[r * width + j] > data[r * width + best]) best = j;
    return best;
  });
const f1 = (tp: number, fp: number, fn: number) => (tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn));
const t0 = performance.now();

{
  console.log("\nsequence classification (GenericForSequenceClassification, pooled last token)");
  const config = new TinyConfig({ num_labels: 2, id2label: { 0: "NEG", 1: "POS" } });
  const model = AutoModelForSequenceClassification.fromConfig(config, { registry });
  await train(model, () => {
    const batch = Array.from({ length: BATCH }, sentimentExample);
    const rows = batch.map((e) => e.ids);
    return model.call(int(rows), {
      attentionMask: attention(rows),
      labels: int(batch.map((e) => e.label)),
    }).loss!;
  });
  const test = Array.from({ length: 256 }, sentimentExample);
  const rows = test.map((e) => e.ids);
  const logits = noGrad(() => model.call(int(rows), { attentionMask: attention(rows) }).logits);
  const predicted = argmaxRows(await logits.data(), 2);
  const correct = predicted.filter((p, i) => p === test[i].label).length;
  console.log(
    `  held-out accuracy ${
      (correct / test.length).toFixed(3)
    } (problem_type ${config.problem_type})`,
  );
}

{
  console.log("\ntoken classification (GenericForTokenClassification, B/I/O tags)");
  const config = new TinyConfig({ num_labels: 3, id2label: { 0: "O", 1: "B-PER", 2: "I-PER" } });
  const model = AutoModelForTokenClassification.fromConfig(config, { registry });
  await train(model, () => {
    const batch = Array.from({ length: BATCH }, taggingExample);
    const rows = batch.map((e) => e.ids);
    return model.call(int(rows), {
      attentionMask: attention(rows),
      labels: int(batch.map((e) => e.tags)),
    }).loss!;
  });
  const test = Array.from({ length: 256 }, taggingExample);
  const rows = test.map((e) => e.ids);
  const logits = noGrad(() => model.call(int(rows), { attentionMask: attention(rows) }).logits);
  const predicted = argmaxRows(await logits.data(), 3);
  let tp = 0, fp = 0, fn = 0, correct = 0, total = 0;
  test.flatMap((e) => e.tags).forEach((gold, i) => {
    if (gold === -100) return;
    const p = predicted[i];
    total++;
    if (p === gold) correct++;
    if (p !== 0 && p === gold) tp++;
    else {
      if (p !== 0) fp++;
      if (gold !== 0) fn++;
    }
  });
  console.log(
    `  held-out token accuracy ${(correct / total).toFixed(3)}, entity-tag F1 ${
      f1(tp, fp, fn).toFixed(3)
    }`,
  );
}

{
  console.log("\nquestion answering (GenericForQuestionAnswering, span of number words)");
  const model = AutoModelForQuestionAnswering.fromConfig(new TinyConfig(), { registry });
  await train(model, () => {
    const batch = Array.from({ length: BATCH }, qaExample);
    return model.call(int(batch.map((e) => e.ids)), {
      startPositions: int(batch.map((e) => e.start)),
      endPositions: int(batch.map((e) => e.end)),
    }).loss!;
  });
  const test = Array.from({ length: 256 }, qaExample);
  const out = noGrad(() => model.call(int(test.map((e) => e.ids))));
  const starts = argmaxRows(await out.startLogits.data(), S);
  const ends = argmaxRows(await out.endLogits.data(), S);
  let exact = 0, f1Sum = 0;
  test.forEach((e, i) => {
    if (starts[i] === e.start && ends[i] === e.end) exact++;
    const overlap = Math.max(0, Math.min(ends[i], e.end) - Math.max(starts[i], e.start) + 1);
    const predictedLength = Math.max(0, ends[i] - starts[i] + 1);
    const goldLength = e.end - e.start + 1;
    f1Sum += overlap === 0 ? 0 : (2 * overlap) / (predictedLength + goldLength);
  });
  console.log(
    `  held-out exact match ${(exact / test.length).toFixed(3)}, span F1 ${
      (f1Sum / test.length).toFixed(3)
    }`,
  );
}

console.log(`\ndone in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${backend}`);
