/**
 * Tiny models and a tiny tokenizer for the tests: a BERT of one layer and width 16 for each task,
 * freshly initialised on the CPU, and a WordPiece `tokenizer.json` built from a few sentences.
 *
 * @module
 */

import { manualSeed, type PreTrainedModel, withBackend } from "@denoformers/core";
import {
  BertConfig,
  BertForQuestionAnswering,
  BertForSequenceClassification,
  BertForTokenClassification,
} from "@denoformers/models";
import { createInferenceHandler, type InferenceHandler, type Limits } from "../handler.ts";
import type { Pipeline, Task } from "../pipeline.ts";
import { ServeTokenizer } from "../tokenizer.ts";
import { createWordPieceTokenizerConfig, createWordPieceTokenizerJson } from "../tokenizer_json.ts";

/** The corpus the test tokenizer's vocabulary comes from. */
export const CORPUS: readonly string[] = [
  "Alice lives in Paris and works with Bob.",
  "The movie was great, the music was bad.",
  "Who lives in Paris? Where does Bob work?",
];

/** The test tokenizer (lowercasing WordPiece, `[CLS] … [SEP]`). */
export function tinyTokenizer(): ServeTokenizer {
  return ServeTokenizer.fromJson(
    createWordPieceTokenizerJson(CORPUS),
    createWordPieceTokenizerConfig(64),
  );
}

const ARCH: Record<Task, string> = {
  "text-classification": "BertForSequenceClassification",
  "token-classification": "BertForTokenClassification",
  "question-answering": "BertForQuestionAnswering",
};

/** A config for `task`, with labels. */
export function tinyConfig(task: Task, vocabSize: number): BertConfig {
  const id2label = task === "text-classification"
    ? { 0: "NEG", 1: "POS" }
    : task === "token-classification"
    ? { 0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC" }
    : undefined;
  return new BertConfig({
    vocab_size: vocabSize,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 64,
    architectures: [ARCH[task]],
    ...(id2label ? { id2label } : {}),
  });
}

/** A freshly initialised tiny model for `task` on the CPU. */
export async function tinyModel(task: Task, vocabSize: number): Promise<PreTrainedModel> {
  manualSeed(0);
  const config = tinyConfig(task, vocabSize);
  return await withBackend(
    "cpu",
    () =>
      task === "text-classification"
        ? new BertForSequenceClassification(config)
        : task === "token-classification"
        ? new BertForTokenClassification(config)
        : new BertForQuestionAnswering(config),
  );
}

/** One pipeline per task, sharing the tokenizer. */
export async function tinyPipelines(): Promise<Pipeline[]> {
  const tokenizer = tinyTokenizer();
  const vocab = Object.keys((tokenizer.json.model as { vocab: object }).vocab).length;
  const tasks: Task[] = ["text-classification", "token-classification", "question-answering"];
  return await Promise.all(
    tasks.map(async (task) => ({ task, tokenizer, model: await tinyModel(task, vocab) })),
  );
}

/** A handler serving the three tiny pipelines. */
export async function tinyHandler(limits: Partial<Limits> = {}): Promise<InferenceHandler> {
  return createInferenceHandler({ pipelines: await tinyPipelines(), limits, onError: () => {} });
}
