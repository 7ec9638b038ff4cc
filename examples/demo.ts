/**
 * The end-to-end demo: generates three small datasets (no downloads), builds a WordPiece
 * `tokenizer.json` from their text, trains one tiny BERT per task from scratch with gradient
 * checkpointing, saves each as a Hugging Face folder under `demo_out/`, loads the folders back
 * and evaluates them through the HTTP handler that `deno task serve` runs.
 *
 * - `demo_out/sentiment`: `BertForSequenceClassification`, NEGATIVE / POSITIVE (with negation);
 * - `demo_out/entities`: `BertForTokenClassification`, PER / LOC / ORG in BIO tags;
 * - `demo_out/qa`: `BertForQuestionAnswering`, extractive answers from two-sentence contexts.
 *
 * Run: `deno task demo` (options: `--out DIR`, `--backend auto|cpu|webgpu`, `--steps N`: the
 * entity model's steps, with 4N/3 for sentiment and 5N/3 for question answering; `--hidden`,
 * `--lr`).
 *
 * @module
 */

import {
  AdamW,
  linearScheduleWithWarmup,
  manualSeed,
  type PreTrainedModel,
  type Tensor,
  tensor,
  tidy,
  withBackend,
} from "@denoformers/core";
import { gradientCheckpointingEnable } from "@denoformers/checkpoint";
import {
  BertConfig,
  BertForQuestionAnswering,
  BertForSequenceClassification,
  BertForTokenClassification,
} from "@denoformers/models";
import {
  chooseBackend,
  createWordPieceTokenizerConfig,
  createWordPieceTokenizerJson,
  ServeTokenizer,
  type TokenizedText,
} from "@denoformers/serve";
import { corpus, NER_LABELS, nerData, qaData, sentimentData } from "./_demo_data.ts";
import { evaluate } from "./_demo_eval.ts";
import { progressBar } from "./_progress.ts";

function flag(name: string, fallback: string): string {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 && Deno.args[at + 1] ? Deno.args[at + 1] : fallback;
}

const out = flag("out", "demo_out");
const steps = Number(flag("steps", "120"));
const hidden = Number(flag("hidden", "32"));
const lr = Number(flag("lr", "5e-3"));
const requested = flag("backend", "auto") as "auto" | "cpu" | "webgpu";
const BATCH = 32;
const MAX_LEN = 64;
const t0 = performance.now();
const backend = await chooseBackend(requested);
manualSeed(0);

const train = {
  sentiment: sentimentData(4000, 1),
  ner: nerData(4000, 2),
  qa: qaData(4000, 3),
};
const tokenizer = ServeTokenizer.fromJson(
  createWordPieceTokenizerJson(corpus(train), { alphabet: "abcdefghijklmnopqrstuvwxyz" }),
  createWordPieceTokenizerConfig(MAX_LEN),
);
const vocabSize = Object.keys((tokenizer.json.model as { vocab: object }).vocab).length;
console.log(
  `backend ${backend}; vocabulary ${vocabSize} tokens; BERT ${hidden} wide, 2 layers`,
);

const config = (architecture: string, extra: Record<string, unknown> = {}) =>
  new BertConfig({
    vocab_size: vocabSize,
    hidden_size: hidden,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 2 * hidden,
    max_position_embeddings: MAX_LEN,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    architectures: [architecture],
    ...extra,
  });

/** Pads a batch of encodings: ids, attention mask, token types (and per-token extras). */
function pad(encs: TokenizedText[]): { ids: Tensor; mask: Tensor; types: Tensor; S: number } {
  const S = Math.max(...encs.map((e) => e.ids.length));
  const row = (e: TokenizedText, f: (t: number) => number) =>
    Array.from({ length: S }, (_, t) => (t < e.ids.length ? f(t) : 0));
  const int = (rows: number[][]) => tensor(rows, { dtype: "int32" });
  return {
    ids: int(encs.map((e) => row(e, (t) => e.ids[t]))),
    mask: int(encs.map((e) => row(e, () => 1))),
    types: int(encs.map((e) => row(e, (t) => e.typeIds[t]))),
    S,
  };
}

/** AdamW with warmup and linear decay, every BERT layer checkpointed, a progress bar. */
async function fit(
  name: string,
  model: PreTrainedModel,
  steps: number,
  lossOf: (step: number) => Tensor,
  peakLr = lr,
) {
  gradientCheckpointingEnable(model);
  model.train();
  const opt = new AdamW(model.parameters(), { lr: peakLr, weightDecay: 0.01 });
  const sched = linearScheduleWithWarmup(opt, {
    numWarmupSteps: Math.ceil(steps / 10),
    numTrainingSteps: steps,
  });
  const bar = progressBar(`train ${name.padEnd(10)}`, steps);
  let ema = 0;
  for (let step = 1; step <= steps; step++) {
    const loss = tidy(() => {
      opt.zeroGrad();
      const l = lossOf(step);
      l.backward();
      opt.step();
      sched.step();
      return l.detach();
    });
    const value = await loss.item();
    loss.dispose();
    ema = step === 1 ? value : 0.9 * ema + 0.1 * value;
    bar(step, `loss ${ema.toFixed(3)}`);
  }
  model.eval();
}

const batchOf = <T>(xs: T[], step: number) =>
  Array.from({ length: BATCH }, (_, i) => xs[(step * BATCH + i) % xs.length]);
const make = <M>(fn: () => M) => withBackend(backend, fn);

// ---- sentiment -----------------------------------------------------------------------------
const sentiment = await make(() =>
  new BertForSequenceClassification(
    config("BertForSequenceClassification", { id2label: { 0: "NEGATIVE", 1: "POSITIVE" } }),
  )
);
await fit("sentiment", sentiment, Math.round((steps * 4) / 3), (step) => {
  const batch = batchOf(train.sentiment, step);
  const { ids, mask } = pad(batch.map((e) => tokenizer.encode(e.text, { maxLength: MAX_LEN })));
  const labels = tensor(batch.map((e) => e.label), { dtype: "int32" });
  return sentiment.call(ids, { attentionMask: mask, labels }).loss!;
}, lr * 0.6);

// ---- entities ------------------------------------------------------------------------------
/** Word-level BIO labels on each word's first token; -100 on pieces, specials and padding. */
function tagTokens(enc: TokenizedText, entities: { start: number; end: number; type: string }[]) {
  return enc.ids.map((_, t) => {
    const o = enc.offsets[t];
    if (!o || enc.special[t] || enc.subword[t]) return -100;
    const e = entities.find((e) => o[0] >= e.start && o[0] < e.end);
    return e ? NER_LABELS.indexOf(`${o[0] === e.start ? "B" : "I"}-${e.type}` as never) : 0;
  });
}
const entities = await make(() =>
  new BertForTokenClassification(
    config("BertForTokenClassification", { id2label: { ...NER_LABELS } }),
  )
);
await fit("entities", entities, steps, (step) => {
  const batch = batchOf(train.ner, step);
  const encs = batch.map((e) => tokenizer.encode(e.text, { maxLength: MAX_LEN }));
  const { ids, mask, S } = pad(encs);
  const tags = encs.map((e, i) => {
    const row = tagTokens(e, batch[i].entities);
    return [...row, ...Array(S - row.length).fill(-100)];
  });
  return entities.call(ids, { attentionMask: mask, labels: tensor(tags, { dtype: "int32" }) })
    .loss!;
});

// ---- question answering --------------------------------------------------------------------
const qa = await make(() => new BertForQuestionAnswering(config("BertForQuestionAnswering")));
await fit("qa", qa, Math.round((steps * 5) / 3), (step) => {
  const batch = batchOf(train.qa, step);
  const encs = batch.map((e) =>
    tokenizer.encodePair(e.question, e.context, { maxLength: MAX_LEN })
  );
  const { ids, mask, types } = pad(encs);
  const inContext = (e: TokenizedText, t: number) => e.sequenceIds[t] === 1 && e.offsets[t];
  const starts = encs.map((e, i) =>
    e.ids.findIndex((_, t) => inContext(e, t) && e.offsets[t]![1] > batch[i].start)
  );
  const ends = encs.map((e, i) =>
    e.ids.findLastIndex((_, t) => inContext(e, t) && e.offsets[t]![0] < batch[i].end)
  );
  return qa.call(ids, {
    attentionMask: mask,
    tokenTypeIds: types,
    startPositions: tensor(starts, { dtype: "int32" }),
    endPositions: tensor(ends, { dtype: "int32" }),
  }).loss!;
});

// ---- save, reload, evaluate ----------------------------------------------------------------
const folders = { sentiment, entities, qa };
for (const [name, model] of Object.entries(folders)) {
  await model.savePretrained(`${out}/${name}`);
  await tokenizer.save(`${out}/${name}`);
}
console.log(`saved ${Object.keys(folders).map((n) => `${out}/${n}`).join(", ")}`);

await evaluate(out, backend, {
  sentiment: sentimentData(400, 11),
  ner: nerData(300, 12),
  qa: qaData(300, 13),
});
console.log(`\ndone in ${((performance.now() - t0) / 1000).toFixed(1)} s. Next: deno task serve`);
