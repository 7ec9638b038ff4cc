/**
 * What the three generic heads share: the base model built through the registry (or given) and
 * stored under the plugin's `baseModelPrefix`, initialisation of the head's own layers only, a
 * user-assignable loss over a task default, and the input-embedding accessors.
 *
 * @module
 */

import { type Module, type PretrainedConfig, PreTrainedModel } from "@denoformers/core";
import {
  configInt,
  initHeadLayers,
  inputEmbeddingsOf,
  resolveBaseModel,
  setInputEmbeddingsOf,
} from "./_common.ts";
import type { GenericHeadOptions } from "./types.ts";

/**
 * The base of `GenericForSequenceClassification`, `GenericForQuestionAnswering` and
 * `GenericForTokenClassification`. A subclass calls `super(config, options, defaultLoss)`, adds
 * its layers (sized by {@linkcode GenericHead.hiddenSize}) and calls `postInit()`.
 *
 * @typeParam L The task's loss function type.
 *
 * @example A minimal head: the mean hidden state, scored
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Embedding, Linear, PretrainedConfig, PreTrainedModel, type Tensor, tensor } from "@denoformers/core";
 * import { GenericHead } from "@denoformers/heads";
 *
 * class Toy extends PreTrainedModel {
 *   readonly baseModelPrefix = "model";
 *   embed_tokens = new Embedding(10, 4, { backend: "cpu" });
 *   forward(ids: Tensor) {
 *     return { lastHiddenState: this.embed_tokens.call(ids) };
 *   }
 * }
 * type MeanLoss = (logits: Tensor) => Tensor;
 * class MeanHead extends GenericHead<MeanLoss> {
 *   declare score: Linear;
 *   constructor(config: PretrainedConfig) {
 *     super(config, { baseModel: new Toy(config) }, (logits) => logits.mean());
 *     this.score = new Linear(this.hiddenSize, 1, { backend: "cpu" });
 *     this.postInit();
 *   }
 *   forward(ids: Tensor) {
 *     const hidden = (this.baseModel as Toy).call(ids).lastHiddenState;
 *     return this.lossFunction(this.score.call(hidden.mean(1)));
 *   }
 * }
 * const head = new MeanHead(new PretrainedConfig({ hidden_size: 4 }));
 * assertEquals(head.baseModelPrefix, "model");
 * assertEquals(head.getInputEmbeddings(), (head.baseModel as Toy).embed_tokens);
 * assertEquals(head.call(tensor([[1, 2]], { dtype: "int32", backend: "cpu" })).shape, []);
 * ```
 */
export abstract class GenericHead<L> extends PreTrainedModel {
  /** Field that holds the base model. */
  readonly baseModelPrefix: string;
  /** `config.hidden_size`, the width of the base model's hidden states. */
  protected readonly hiddenSize: number;
  #defaultLoss: L;
  #loss: L | null = null;

  /**
   * Checks `hidden_size`, then builds the base model through the registry (or wraps
   * `options.baseModel`) and stores it under its prefix.
   *
   * @param config The config (`hidden_size` and what the task reads).
   * @param options registry, baseModel and baseModelPrefix.
   * @param defaultLoss The task's loss, used unless one is assigned.
   * @throws {TypeError} When `config.hidden_size` is not a positive integer.
   * @throws {RangeError} When `config.model_type` is not registered and no base model is given.
   */
  constructor(config: PretrainedConfig, options: GenericHeadOptions, defaultLoss: L) {
    super(config);
    this.hiddenSize = configInt(config, "hidden_size", new.target.name);
    const { prefix, base } = resolveBaseModel(config, options);
    this.baseModelPrefix = prefix;
    (this as unknown as Record<string, unknown>)[prefix] = base;
    this.#defaultLoss = defaultLoss;
  }

  /** Initialises the head's own layers only (the base model arrives initialised), then ties weights. */
  override postInit(): void {
    initHeadLayers(this);
  }

  /** The loss used when targets are given: a user-assigned override, else the task's default. Assign `null` to restore the default. */
  get lossFunction(): L {
    return this.#loss ?? this.#defaultLoss;
  }
  set lossFunction(fn: L | null) {
    this.#loss = fn;
  }

  /**
   * The base model's input embeddings (its `getInputEmbeddings()`, else its `embed_tokens`).
   *
   * @returns The embedding module, or null.
   */
  getInputEmbeddings(): Module | null {
    return inputEmbeddingsOf(this);
  }

  /**
   * Replaces the base model's input embeddings.
   *
   * @param value The new embedding module.
   */
  setInputEmbeddings(value: Module): void {
    setInputEmbeddingsOf(this, value);
  }
}
