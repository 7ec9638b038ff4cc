/**
 * BERT's own task heads, as Hugging Face resolves `AutoModelFor*` for BERT checkpoints:
 * sequence classification on the pooler output, token classification and question answering on
 * the encoder without pooler. Field names are Hugging Face's (`bert.*`, `classifier.*`,
 * `qa_outputs.*`), so fine-tuned BERT checkpoints load unchanged.
 *
 * @module
 */

import { Dropout, type Embedding, Linear, type LoadingInfo, type Tensor } from "@denoformers/core";
import { applyConfigGradientCheckpointing } from "@denoformers/checkpoint";
import {
  forQuestionAnsweringLoss,
  forSequenceClassificationLoss,
  forTokenClassificationLoss,
  type QuestionAnsweringModelOutput,
  type SequenceClassifierOutputWithPast,
  type TokenClassifierOutput,
} from "@denoformers/heads";
import type { BaseModelOptions } from "../outputs.ts";
import type { BertConfig } from "./config.ts";
import { BertModel, BertPreTrainedModel } from "./modeling.ts";

/** Options of the BERT heads: the base options plus labels and positions. */
export interface BertHeadOptions extends BaseModelOptions {
  /** Class labels (`[B]` for sequences, `[B, S]` for tokens). */
  labels?: Tensor | null;
  /** Answer start positions `[B]`. */
  startPositions?: Tensor | null;
  /** Answer end positions `[B]`. */
  endPositions?: Tensor | null;
  /** Divide the summed loss by this instead of averaging. */
  numItemsInBatch?: number | Tensor;
}

const classifierDropout = (c: BertConfig) =>
  new Dropout(c.classifier_dropout ?? c.hidden_dropout_prob);

/**
 * Base of BERT's task heads: the encoder, embedding access, pruning, and loading that ignores
 * pooler weights when the head has no pooler.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { BertConfig, BertForTokenClassification, BertTaskModel } from "@denoformers/models";
 * import { withBackend } from "@denoformers/core";
 *
 * const config = new BertConfig({ hidden_size: 8, num_attention_heads: 2, intermediate_size: 16, num_hidden_layers: 1 });
 * assert(await withBackend("cpu", () => new BertForTokenClassification(config)) instanceof BertTaskModel);
 * ```
 */
export abstract class BertTaskModel extends BertPreTrainedModel {
  /** The encoder. */
  abstract bert: BertModel;
  /** The word-embedding module. */
  getInputEmbeddings(): Embedding {
    return this.bert.getInputEmbeddings();
  }
  /** Prunes heads of the encoder (see {@linkcode BertModel.pruneHeads}). */
  pruneHeads(headsToPrune: Record<number, readonly number[]>): void {
    this.bert.pruneHeads(headsToPrune);
  }
  /** Loads as the base class does; heads without a pooler ignore pooler weights, as Hugging Face does. */
  override loadStateDictWithPrefix(stateDict: Record<string, Tensor>): LoadingInfo {
    if (this.bert.pooler) return super.loadStateDictWithPrefix(stateDict);
    const kept = Object.fromEntries(
      Object.entries(stateDict).filter(([k]) => !/(^|\.)pooler\./.test(k)),
    );
    return super.loadStateDictWithPrefix(kept);
  }
}

/**
 * Hugging Face's `BertForSequenceClassification`: pooler output → dropout → `classifier`, with the
 * loss chosen by `problem_type`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor, withBackend } from "@denoformers/core";
 * import { BertConfig, BertForSequenceClassification } from "@denoformers/models";
 *
 * const config = new BertConfig({ hidden_size: 8, num_attention_heads: 2, intermediate_size: 16, num_hidden_layers: 1, num_labels: 3 });
 * const model = await withBackend("cpu", () => new BertForSequenceClassification(config));
 * const ids = tensor([[2, 5, 7]], { dtype: "int32", backend: "cpu" });
 * assertEquals(model.call(ids, {}).logits.shape, [1, 3]);
 * ```
 */
export class BertForSequenceClassification extends BertTaskModel {
  /** The encoder with its pooler. */
  bert: BertModel;
  /** Dropout on the pooled output. */
  dropout: Dropout;
  /** `[num_labels, hidden]` projection. */
  classifier: Linear;

  /** Builds the model from `config` and initialises it. */
  constructor(config: BertConfig) {
    super(config);
    this.bert = new BertModel(config);
    this.dropout = classifierDropout(config);
    this.classifier = new Linear(config.hidden_size, config.num_labels);
    this.postInit();
    applyConfigGradientCheckpointing(this);
  }

  /**
   * Classifies each sequence from its pooled first token.
   *
   * @param inputIds `[B, S]` int32 ids (or `null` with `inputsEmbeds`).
   * @param options Base options, `labels` and `numItemsInBatch`.
   * @returns Loss (with labels), logits `[B, num_labels]`, hidden states and attentions.
   */
  forward(
    inputIds: Tensor | null,
    options: BertHeadOptions = {},
  ): SequenceClassifierOutputWithPast {
    const { labels, numItemsInBatch, ...base } = options;
    const out = this.bert.call(inputIds, base);
    const logits = this.classifier.call(this.dropout.call(out.poolerOutput!));
    const loss = labels
      ? forSequenceClassificationLoss(logits, labels, { config: this.config, numItemsInBatch })
      : undefined;
    return { loss, logits, hiddenStates: out.hiddenStates, attentions: out.attentions };
  }
}

/**
 * Hugging Face's `BertForTokenClassification`: encoder (no pooler) → dropout → `classifier`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor, withBackend } from "@denoformers/core";
 * import { BertConfig, BertForTokenClassification } from "@denoformers/models";
 *
 * const config = new BertConfig({ hidden_size: 8, num_attention_heads: 2, intermediate_size: 16, num_hidden_layers: 1, num_labels: 4 });
 * const model = await withBackend("cpu", () => new BertForTokenClassification(config));
 * assertEquals(model.call(tensor([[2, 5, 7]], { dtype: "int32", backend: "cpu" }), {}).logits.shape, [1, 3, 4]);
 * ```
 */
export class BertForTokenClassification extends BertTaskModel {
  /** The encoder, without pooler. */
  bert: BertModel;
  /** Dropout on the hidden states. */
  dropout: Dropout;
  /** `[num_labels, hidden]` projection. */
  classifier: Linear;

  /** Builds the model from `config` and initialises it. */
  constructor(config: BertConfig) {
    super(config);
    this.bert = new BertModel(config, { addPoolingLayer: false });
    this.dropout = classifierDropout(config);
    this.classifier = new Linear(config.hidden_size, config.num_labels);
    this.postInit();
    applyConfigGradientCheckpointing(this);
  }

  /**
   * Classifies each token.
   *
   * @param inputIds `[B, S]` int32 ids (or `null` with `inputsEmbeds`).
   * @param options Base options, `labels` (`-100` ignored) and `numItemsInBatch`.
   * @returns Loss (with labels), logits `[B, S, num_labels]`, hidden states and attentions.
   */
  forward(inputIds: Tensor | null, options: BertHeadOptions = {}): TokenClassifierOutput {
    const { labels, numItemsInBatch, ...base } = options;
    const out = this.bert.call(inputIds, base);
    const logits = this.classifier.call(this.dropout.call(out.lastHiddenState));
    const loss = labels
      ? forTokenClassificationLoss(logits, labels, { numItemsInBatch })
      : undefined;
    return { loss, logits, hiddenStates: out.hiddenStates, attentions: out.attentions };
  }
}

/**
 * Hugging Face's `BertForQuestionAnswering`: encoder (no pooler) → `qa_outputs` (start, end).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor, withBackend } from "@denoformers/core";
 * import { BertConfig, BertForQuestionAnswering } from "@denoformers/models";
 *
 * const config = new BertConfig({ hidden_size: 8, num_attention_heads: 2, intermediate_size: 16, num_hidden_layers: 1 });
 * const model = await withBackend("cpu", () => new BertForQuestionAnswering(config));
 * assertEquals(model.call(tensor([[2, 5, 7]], { dtype: "int32", backend: "cpu" }), {}).startLogits.shape, [1, 3]);
 * ```
 */
export class BertForQuestionAnswering extends BertTaskModel {
  /** The encoder, without pooler. */
  bert: BertModel;
  /** `[2, hidden]` projection to start and end scores. */
  qa_outputs: Linear;

  /** Builds the model from `config` and initialises it. */
  constructor(config: BertConfig) {
    super(config);
    this.bert = new BertModel(config, { addPoolingLayer: false });
    this.qa_outputs = new Linear(config.hidden_size, 2);
    this.postInit();
    applyConfigGradientCheckpointing(this);
  }

  /**
   * Scores answer starts and ends.
   *
   * @param inputIds `[B, S]` int32 ids (or `null` with `inputsEmbeds`).
   * @param options Base options, `startPositions`/`endPositions` and `numItemsInBatch`.
   * @returns Loss (with positions), start and end logits `[B, S]`, hidden states and attentions.
   */
  forward(inputIds: Tensor | null, options: BertHeadOptions = {}): QuestionAnsweringModelOutput {
    const { startPositions, endPositions, numItemsInBatch, labels: _labels, ...base } = options;
    const out = this.bert.call(inputIds, base);
    const [start, end] = this.qa_outputs.call(out.lastHiddenState).split(1, -1).map((t) =>
      t.squeeze(-1)
    );
    const loss = startPositions && endPositions
      ? forQuestionAnsweringLoss(start, end, { startPositions, endPositions, numItemsInBatch })
      : undefined;
    return {
      loss,
      startLogits: start,
      endLogits: end,
      hiddenStates: out.hiddenStates,
      attentions: out.attentions,
    };
  }
}
