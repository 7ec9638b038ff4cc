/**
 * Turning logits into answers the way Hugging Face's pipelines do: text classification (softmax
 * or sigmoid, top-k), token classification (`none`, `simple`, `first`, `average`, `max`
 * aggregation) and extractive question answering (best span within `max_answer_len`).
 *
 * @module
 */

import type { TokenizedText } from "./tokenizer.ts";

/** A label with its score. */
export interface LabelScore {
  /** The label (`id2label`). */
  label: string;
  /** Its probability (or raw value for regression). */
  score: number;
}

/** How token predictions are grouped into entities. */
export type AggregationStrategy = "none" | "simple" | "first" | "average" | "max";

/** One token (`none`) or one entity (the other strategies). */
export interface Entity {
  /** The label (`none`). */
  entity?: string;
  /** The label without its `B-`/`I-` prefix (grouped strategies). */
  entity_group?: string;
  /** Probability (mean over the group for grouped strategies). */
  score: number;
  /** Token index in the encoding (`none`). */
  index?: number;
  /** The token, or the decoded words of the group. */
  word: string;
  /** Start character in the input. */
  start: number | null;
  /** End character (exclusive). */
  end: number | null;
}

/** An answer span. */
export interface Answer {
  /** `p(start) · p(end)`. */
  score: number;
  /** Start character in the context. */
  start: number;
  /** End character (exclusive). */
  end: number;
  /** The context text between them. */
  answer: string;
}

/** Softmax of a row (numerically stable). */
export function softmax(row: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]);
  const e = Array.from(row, (x) => Math.exp(x - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

/**
 * Scores of one sequence's logits: sigmoid for multi-label or one-label models, none for
 * regression, softmax otherwise; then the `topK` best, highest first.
 */
export function classify(
  logits: ArrayLike<number>,
  labels: readonly string[],
  problemType: string | null,
  topK: number,
): LabelScore[] {
  const scores = problemType === "regression"
    ? Array.from(logits)
    : problemType === "multi_label_classification" || logits.length === 1
    ? Array.from(logits, (x) => 1 / (1 + Math.exp(-x)))
    : softmax(logits);
  return scores.map((score, i) => ({ label: labels[i] ?? `LABEL_${i}`, score }))
    .sort((a, b) => b.score - a.score).slice(0, topK);
}

const tagOf = (name: string): [string, string] =>
  name.startsWith("B-") || name.startsWith("I-") ? [name[0], name.slice(2)] : ["I", name];

interface Scored {
  entity: string;
  score: number;
  word: string;
  ids: number[];
  start: number | null;
  end: number | null;
  index?: number;
}

/**
 * Entities of one sequence from its `[S, num_labels]` logits (row-major), as Hugging Face's
 * token-classification pipeline with `ignore_labels=["O"]`.
 */
export function aggregateTokens(
  logits: ArrayLike<number>,
  numLabels: number,
  enc: TokenizedText,
  labels: readonly string[],
  strategy: AggregationStrategy,
  decode: (ids: number[]) => string,
): Entity[] {
  const label = (i: number) => labels[i] ?? `LABEL_${i}`;
  const pre = [];
  for (let t = 0; t < enc.ids.length; t++) {
    if (enc.special[t] || enc.sequenceIds[t] === null) continue;
    const row = softmax(Array.prototype.slice.call(logits, t * numLabels, (t + 1) * numLabels));
    pre.push({ t, scores: row });
  }
  const argmax = (s: number[]) => s.reduce((best, x, i) => (x > s[best] ? i : best), 0);
  const span = (t: number) => enc.offsets[t] ?? [null, null];
  let entities: Scored[];
  if (strategy === "none" || strategy === "simple") {
    entities = pre.map(({ t, scores }) => {
      const k = argmax(scores);
      const [start, end] = span(t);
      return {
        entity: label(k),
        score: scores[k],
        word: enc.tokens[t],
        ids: [enc.ids[t]],
        start,
        end,
        index: t,
      };
    });
  } else {
    const words: (typeof pre)[] = [];
    for (const p of pre) {
      if (words.length && enc.subword[p.t]) words.at(-1)!.push(p);
      else words.push([p]);
    }
    entities = words.map((group) => {
      let scores = group[0].scores;
      if (strategy === "average") {
        scores = scores.map((_, k) => group.reduce((s, g) => s + g.scores[k], 0) / group.length);
      } else if (strategy === "max") {
        scores = group.reduce(
          (best, g) => (Math.max(...g.scores) > Math.max(...best) ? g.scores : best),
          scores,
        );
      }
      const k = argmax(scores);
      const ids = group.map((g) => enc.ids[g.t]);
      return {
        entity: label(k),
        score: scores[k],
        word: decode(ids),
        ids,
        start: span(group[0].t)[0],
        end: span(group.at(-1)!.t)[1],
      };
    });
  }
  if (strategy === "none") {
    return entities.filter((e) => e.entity !== "O").map((
      { entity, score, index, word, start, end },
    ) => ({ entity, score, index, word, start, end }));
  }
  const grouped: Entity[] = [];
  let run: Scored[] = [];
  const flush = () => {
    if (!run.length) return;
    grouped.push({
      entity_group: tagOf(run[0].entity)[1],
      score: run.reduce((s, e) => s + e.score, 0) / run.length,
      word: decode(run.flatMap((e) => e.ids)),
      start: run[0].start,
      end: run.at(-1)!.end,
    });
    run = [];
  };
  for (const e of entities) {
    const [bi, tag] = tagOf(e.entity);
    if (run.length && (tag !== tagOf(run.at(-1)!.entity)[1] || bi === "B")) flush();
    run.push(e);
  }
  flush();
  return grouped.filter((e) => e.entity_group !== "O");
}

/**
 * The best answer spans of one (question, context) encoding: softmax over context tokens and
 * the leading `[CLS]`, whose probability is then set to 0; spans with `start <= end <
 * start + maxAnswerLen`, both in the context, ranked by `p(start)·p(end)`.
 */
export function bestSpans(
  startLogits: ArrayLike<number>,
  endLogits: ArrayLike<number>,
  enc: TokenizedText,
  context: string,
  clsTokenId: number | null,
  maxAnswerLen: number,
  topK: number,
): Answer[] {
  const n = enc.ids.length;
  const inContext = (t: number) =>
    enc.sequenceIds[t] === 1 && !enc.special[t] && enc.offsets[t] !== null;
  const keep = (t: number) => inContext(t) || (t === 0 && enc.ids[0] === clsTokenId);
  const masked = (l: ArrayLike<number>) =>
    Array.from({ length: n }, (_, t) => (keep(t) ? l[t] : -10000));
  const ps = softmax(masked(startLogits));
  const pe = softmax(masked(endLogits));
  const found: Answer[] = [];
  for (let s = 0; s < n; s++) {
    if (!inContext(s)) continue;
    for (let e = s; e < Math.min(n, s + maxAnswerLen); e++) {
      if (!inContext(e)) continue;
      const start = enc.offsets[s]![0], end = enc.offsets[e]![1];
      found.push({ score: ps[s] * pe[e], start, end, answer: context.slice(start, end) });
    }
  }
  return found.sort((a, b) => b.score - a.score).slice(0, topK);
}
