/**
 * The three task routes: validate, tokenize under the length policy, run through the queue,
 * post-process.
 *
 * @module
 */

import type { MicroBatcher } from "./_batcher.ts";
import { HttpError } from "./_http.ts";
import {
  aggregateTokens,
  type Answer,
  bestSpans,
  classify,
  type Entity,
  type LabelScore,
} from "./_postprocess.ts";
import type { ItemLogits } from "./_run.ts";
import { parseAnswer, parseClassify, parseTokens } from "./_validate.ts";
import type { Pipeline } from "./pipeline.ts";
import { SequenceLengthError, type TokenizedText } from "./tokenizer.ts";

/** What a route needs of its model. */
export interface Served {
  /** The pipeline. */
  pipeline: Pipeline;
  /** Label names by class index. */
  labels: string[];
  /** Effective sequence limit. */
  maxSequenceLength: number;
  /** Most texts per request. */
  maxInputs: number;
  /** Whether long texts are cut. */
  truncate: boolean;
  /** The model's queue. */
  batcher: MicroBatcher<TokenizedText, ItemLogits>;
  /** Runs encodings through the queue, with the timeout. */
  run(encs: TokenizedText[]): Promise<ItemLogits[]>;
}

/** What a route answers. */
export type RouteResult = LabelScore[] | LabelScore[][] | Entity[] | Entity[][] | Answer | Answer[];

function encodeAll(s: Served, inputs: string[], action: string): TokenizedText[] {
  const options = { maxLength: s.maxSequenceLength, truncate: s.truncate };
  return inputs.map((text, i) => {
    try {
      return s.pipeline.tokenizer.encode(text, options);
    } catch (e) {
      if (!(e instanceof SequenceLengthError)) throw e;
      const which = inputs.length > 1 ? `input ${i}` : "the input";
      throw new HttpError(
        422,
        `Cannot ${action}: ${which} has ${e.length} tokens, over the limit of ${e.limit}`,
      );
    }
  });
}

const logitsOf = (l: ItemLogits): Float32Array => ("logits" in l ? l.logits : l.start);

/** `POST /v1/classify`. */
export async function classifyRoute(s: Served, body: unknown): Promise<RouteResult> {
  const req = parseClassify(body, s.maxInputs);
  const encs = encodeAll(s, req.inputs, "classify");
  const out = await s.run(encs);
  const problem = s.pipeline.model.config.problem_type;
  const k = Math.min(req.topK ?? s.labels.length, s.labels.length);
  const results = out.map((l) => classify(logitsOf(l), s.labels, problem, k));
  return req.single ? results[0] : results;
}

/** `POST /v1/tokens`. */
export async function tokensRoute(s: Served, body: unknown): Promise<RouteResult> {
  const req = parseTokens(body, s.maxInputs);
  const encs = encodeAll(s, req.inputs, "classify tokens");
  const out = await s.run(encs);
  const tok = s.pipeline.tokenizer;
  const results = out.map((l, i) =>
    aggregateTokens(
      logitsOf(l),
      s.labels.length,
      encs[i],
      s.labels,
      req.aggregation,
      (ids) => tok.decode(ids),
    )
  );
  return req.single ? results[0] : results;
}

/** `POST /v1/answer`. */
export async function answerRoute(s: Served, body: unknown): Promise<RouteResult> {
  const req = parseAnswer(body);
  const tok = s.pipeline.tokenizer;
  let enc: TokenizedText;
  try {
    enc = tok.encodePair(req.question, req.context, {
      maxLength: s.maxSequenceLength,
      truncate: s.truncate,
    });
  } catch (e) {
    if (!(e instanceof SequenceLengthError)) throw e;
    throw new HttpError(
      422,
      `Cannot answer: question and context need ${e.length} tokens, over the limit of ${e.limit}`,
    );
  }
  const [l] = await s.run([enc]);
  if (!("start" in l)) throw new Error("Cannot answer: the model returned no start/end logits");
  const spans = bestSpans(
    l.start,
    l.end,
    enc,
    req.context,
    tok.clsTokenId,
    req.maxAnswerLen,
    req.topK,
  );
  if (req.topK > 1) return spans;
  return spans[0] ?? { score: 0, start: 0, end: 0, answer: "" };
}
