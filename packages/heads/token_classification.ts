/**
 * `GenericForTokenClassification`: dropout and `score = Linear(h → num_labels)` on every position
 * of a base model (Hugging Face `modeling_layers.py`).
 *
 * @module
 */

import { Dropout, Linear, type PretrainedConfig } from "@denoformers/core";
import type { Tensor } from "@denoformers/core";
import { callBaseModel, configOr, layerOptionsLike } from "./_common.ts";
import { GenericHead } from "./generic_head.ts";
import { forTokenClassificationLoss, type TokenClassificationLoss } from "./losses.ts";
import type { BaseModelOptions, GenericHeadOptions, TokenClassifierOutput } from "./types.ts";

/** Options of {@linkcode GenericForTokenClassification.forward}. */
export interface TokenClassificationOptions extends BaseModelOptions {
  /** int32 labels `[B, S]` (-100: ignored). @default {undefined} */
  labels?: Tensor | null;
  /** Normalise the summed loss by this count instead of averaging. @default {undefined} */
  numItemsInBatch?: number | Tensor;
}

/**
 * The dropout probability of the token-classification head: `config.classifier_dropout` when set
 * (not null/undefined; 0 counts), else `config.hidden_dropout`, else 0.1.
 *
 * @param config The config.
 * @returns The probability.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PretrainedConfig } from "@denoformers/core";
 * import { tokenClassifierDropout } from "@denoformers/heads";
 *
 * assertEquals(tokenClassifierDropout(new PretrainedConfig({ classifier_dropout: 0, hidden_dropout: 0.3 })), 0);
 * assertEquals(tokenClassifierDropout(new PretrainedConfig({ hidden_dropout: 0.3 })), 0.3);
 * assertEquals(tokenClassifierDropout(new PretrainedConfig({})), 0.1);
 * ```
 */
export function tokenClassifierDropout(config: PretrainedConfig): number {
  return configOr(config, "classifier_dropout", configOr(config, "hidden_dropout", 0.1));
}

/**
 * Token classification on top of any registered base model, as Hugging Face's
 * `GenericForTokenClassification`: base-model hidden states → `dropout` (training only; p from
 * {@linkcode tokenClassifierDropout}) → `score = Linear(hidden_size → num_labels)` with bias →
 * logits `[B, S, num_labels]`; with labels, {@linkcode forTokenClassificationLoss} (ignore -100).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Embedding, PretrainedConfig, PreTrainedModel, type Tensor, tensor } from "@denoformers/core";
 * import { GenericForTokenClassification } from "@denoformers/heads";
 *
 * class Toy extends PreTrainedModel {
 *   readonly baseModelPrefix = "model";
 *   embed_tokens = new Embedding(10, 4, { backend: "cpu" });
 *   forward(ids: Tensor) {
 *     return { lastHiddenState: this.embed_tokens.call(ids) };
 *   }
 * }
 * const config = new PretrainedConfig({ hidden_size: 4, num_labels: 3 });
 * const model = new GenericForTokenClassification(config, { baseModel: new Toy(config) });
 * const ids = tensor([[5, 6, 2]], { dtype: "int32", backend: "cpu" });
 * const out = model.call(ids, { labels: tensor([[0, -100, 2]], { dtype: "int32", backend: "cpu" }) });
 * assertEquals(out.logits.shape, [1, 3, 3]);
 * assertEquals(model.dropout.p, 0.1);
 * ```
 */
export class GenericForTokenClassification extends GenericHead<TokenClassificationLoss> {
  /** `config.num_labels` at construction. */
  readonly numLabels: number;
  /** Dropout before the score layer. */
  declare dropout: Dropout;
  /** `Linear(hidden_size → num_labels)` with bias. */
  declare score: Linear;

  /**
   * Builds the base model through the registry (or wraps `options.baseModel`), the dropout and
   * the score layer.
   *
   * @param config The config (`hidden_size`, `num_labels`, `classifier_dropout`, `hidden_dropout`).
   * @param options registry, baseModel and baseModelPrefix.
   * @throws {RangeError} When `config.model_type` is not registered and no base model is given.
   * @throws {TypeError} When `config.hidden_size` is not a positive integer.
   */
  constructor(config: PretrainedConfig, options: GenericHeadOptions = {}) {
    super(config, options, forTokenClassificationLoss);
    this.numLabels = config.num_labels;
    this.dropout = new Dropout(tokenClassifierDropout(config));
    this.score = new Linear(this.hiddenSize, this.numLabels, layerOptionsLike(this.baseModel));
    this.postInit();
  }

  /**
   * Runs the base model and scores every token.
   *
   * @param inputIds int32 ids `[B, S]` (or null with `inputsEmbeds`).
   * @param options Base-model options, labels and numItemsInBatch.
   * @returns Logits `[B, S, num_labels]`, the loss when labels were given, and the base model's
   * hidden states and attentions.
   */
  forward(
    inputIds: Tensor | null,
    options: TokenClassificationOptions = {},
  ): TokenClassifierOutput {
    const { labels, numItemsInBatch, ...baseOptions } = options;
    const out = callBaseModel(this, inputIds, baseOptions);
    const logits = this.score.call(this.dropout.call(out.lastHiddenState));
    const result: TokenClassifierOutput = { logits };
    if (labels) {
      result.loss = this.lossFunction(logits, labels, { config: this.config, numItemsInBatch });
    }
    if (out.hiddenStates) result.hiddenStates = out.hiddenStates;
    if (out.attentions) result.attentions = out.attentions;
    return result;
  }
}
