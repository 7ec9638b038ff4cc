/**
 * BERT as Hugging Face's `modeling_bert.py` defines it: word + position + token-type embeddings,
 * post-LayerNorm encoder layers with bidirectional attention, a tanh pooler, and the masked-LM
 * head tied to the word embeddings. Field names are Hugging Face's, so state-dict keys equal
 * checkpoint keys (`bert.encoder.layer.0.attention.self.query.weight`).
 *
 * References: Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for Language
 * Understanding" (2018); transformers `models/bert/modeling_bert.py`.
 *
 * @module
 */

import {
  crossEntropy,
  type Embedding,
  LayerNorm,
  Linear,
  type LoadingInfo,
  Module,
  parameter,
  PreTrainedModel,
  type Tensor,
  zeros,
} from "@denoformers/core";
import { applyConfigGradientCheckpointing } from "@denoformers/checkpoint";
import { createBidirectionalMask } from "@denoformers/utils";
import type {
  BaseModelOptions,
  BaseModelOutputWithPooling,
  LMOptions,
  LMOutput,
} from "../outputs.ts";
import type { BertConfig } from "./config.ts";
import { BertEmbeddings, BertEncoder, BertIntermediate, BertPooler } from "./layers.ts";

const EMBEDDING_BUFFERS = /(^|\.)embeddings\.(position_ids|token_type_ids)$/;

/**
 * What every BERT model shares: `baseModelPrefix = "bert"`, gradient-checkpointing support,
 * `config.pruned_heads` re-applied before weight initialisation (so pruned checkpoints reload),
 * and loading that drops the `embeddings.position_ids` buffer older checkpoints hold. An unset
 * `config._attn_implementation` becomes `"sdpa"`, Hugging Face's default.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { BertConfig, BertModel, BertPreTrainedModel } from "./mod.ts";
 * const config = new BertConfig({ hidden_size: 8, num_attention_heads: 2, intermediate_size: 16 });
 * const model = new BertModel(config);
 * assert(model instanceof BertPreTrainedModel && model.config._attn_implementation === "sdpa");
 * ```
 */
export abstract class BertPreTrainedModel extends PreTrainedModel {
  /** The configuration. */
  declare config: BertConfig;
  /** Task models hold the base model under `bert`. */
  readonly baseModelPrefix: string = "bert";
  /** Hugging Face's `supports_gradient_checkpointing`. */
  readonly supportsGradientCheckpointing = true;

  /** Stores `config` and resolves an unset attention implementation to `"sdpa"`. */
  constructor(config: BertConfig) {
    super(config);
    config._attn_implementation ??= "sdpa";
  }

  /** Prunes heads per layer (negative: from the end), recording them in `config.pruned_heads`. */
  abstract pruneHeads(headsToPrune: Record<number, readonly number[]>): void;

  /** Re-applies `config.pruned_heads`, then initialises and ties the weights. */
  override postInit(): void {
    if (Object.keys(this.config.pruned_heads).length) this.pruneHeads(this.config.pruned_heads);
    super.postInit();
  }

  /** Loads with the prefix rules, dropping `embeddings.position_ids` and `token_type_ids`. */
  override loadStateDictWithPrefix(stateDict: Record<string, Tensor>): LoadingInfo {
    const kept = Object.entries(stateDict).filter(([k]) => !EMBEDDING_BUFFERS.test(k));
    return super.loadStateDictWithPrefix(Object.fromEntries(kept));
  }
}

/** Construction options of {@linkcode BertModel}. */
export interface BertModelOptions {
  /** Build the pooler (the masked-LM model passes `false`). @default {true} */
  addPoolingLayer?: boolean;
}

/**
 * The bare BERT encoder: embeddings, encoder and (optionally) the pooler. Weights start as
 * Hugging Face's BERT initialises them (normal(`initializer_range`) for Linear and Embedding,
 * zero padding row, LayerNorm ones/zeros); `config.gradient_checkpointing` is honoured.
 *
 * BERT keeps no key/value cache: `useCache` is ignored and `pastKeyValues` is rejected. With
 * `outputAttentions` the `"sdpa"` implementation falls back to eager for that call (sdpa cannot
 * return probabilities), as Hugging Face's BERT did.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { BertConfig, BertModel } from "./mod.ts";
 * const config = new BertConfig({
 *   vocab_size: 16,
 *   hidden_size: 8,
 *   num_hidden_layers: 1,
 *   num_attention_heads: 2,
 *   intermediate_size: 16,
 * });
 * const model = new BertModel(config).eval();
 * const ids = tensor([[2, 5, 7]], { dtype: "int32" });
 * const out = model.call(ids, { attentionMask: tensor([[1, 1, 0]], { dtype: "int32" }) });
 * assertEquals([out.lastHiddenState.shape, out.poolerOutput!.shape], [[1, 3, 8], [1, 8]]);
 * ```
 */
export class BertModel extends BertPreTrainedModel {
  /** Input embeddings. */
  embeddings: BertEmbeddings;
  /** The layers. */
  encoder: BertEncoder;
  /** The pooler, or `null` when built without. */
  pooler: BertPooler | null;

  /**
   * Builds and initialises the model from `config`.
   *
   * @param config The configuration.
   * @param options addPoolingLayer.
   * @throws {RangeError} For a decoder or cross-attention config, or a non-absolute position type.
   */
  constructor(config: BertConfig, options: BertModelOptions = {}) {
    super(config);
    if (config.is_decoder || config.add_cross_attention) {
      throw new RangeError(
        "Cannot build BertModel: is_decoder and add_cross_attention are not supported, BERT is implemented as an encoder",
      );
    }
    if (config.position_embedding_type !== "absolute") {
      throw new RangeError(
        `Cannot build BertModel: position_embedding_type "${config.position_embedding_type}" is not supported, expected "absolute"`,
      );
    }
    this.embeddings = new BertEmbeddings(config);
    this.encoder = new BertEncoder(config);
    this.pooler = (options.addPoolingLayer ?? true) ? new BertPooler(config) : null;
    this.postInit();
    applyConfigGradientCheckpointing(this);
  }

  /** The word-embedding module. */
  getInputEmbeddings(): Embedding {
    return this.embeddings.word_embeddings;
  }

  /** Replaces the word-embedding module. */
  setInputEmbeddings(value: Embedding): void {
    this.embeddings.word_embeddings = value;
  }

  /**
   * Prunes heads and merges them into `config.pruned_heads` (a negative layer is stored as its
   * positive index). Pruning an already pruned head does nothing.
   *
   * @param headsToPrune Layer index (negative counts from the end) → original head ids.
   * @throws {RangeError} For a layer or head out of range, or when a layer would lose every head.
   */
  pruneHeads(headsToPrune: Record<number, readonly number[]>): void {
    const L = this.encoder.layer.length;
    for (const [key, heads] of Object.entries(headsToPrune)) {
      const at = Number(key);
      if (!Number.isInteger(at) || at < -L || at >= L) {
        throw new RangeError(`Cannot prune heads of layer ${key}: the model has ${L} layers`);
      }
      const layer = at < 0 ? at + L : at;
      this.encoder.layer[layer].attention.pruneHeads(heads);
      const merged = new Set([...(this.config.pruned_heads[layer] ?? []), ...heads]);
      this.config.pruned_heads[layer] = [...merged].sort((a, b) => a - b);
    }
  }

  /**
   * Encodes.
   *
   * @param inputIds int32 `[B, S]`, or `null` with `options.inputsEmbeds`.
   * @param options attentionMask `[B, S]`, tokenTypeIds, positionIds, inputsEmbeds,
   * outputHiddenStates, outputAttentions.
   * @returns lastHiddenState `[B, S, H]`, poolerOutput `[B, H]` (or `null`), and what was asked.
   * @throws {TypeError} When `pastKeyValues` is given.
   */
  forward(inputIds: Tensor | null, options: BaseModelOptions = {}): BaseModelOutputWithPooling {
    if (options.pastKeyValues) {
      throw new TypeError(
        "Cannot run BertModel with pastKeyValues: BERT is an encoder and keeps no key/value cache",
      );
    }
    const outputAttentions = options.outputAttentions ?? this.config.output_attentions;
    const outputHiddenStates = options.outputHiddenStates ?? this.config.output_hidden_states;
    const embeddingOutput = this.embeddings.call(inputIds, options); // (B, S, H)
    const configured = this.config._attn_implementation;
    const attnImplementation = outputAttentions && configured === "sdpa" ? "eager" : configured;
    const mask = createBidirectionalMask({
      config: attnImplementation === configured
        ? this.config
        : { _attn_implementation: attnImplementation },
      inputsEmbeds: embeddingOutput,
      attentionMask: options.attentionMask,
    }); // (B, 1, S, S) or null
    const out = this.encoder.call(embeddingOutput, mask, {
      outputAttentions,
      outputHiddenStates,
      attnImplementation,
    });
    return { ...out, poolerOutput: this.pooler ? this.pooler.call(out.lastHiddenState) : null };
  }
}

/**
 * `LayerNorm(act(dense(h)))`, applied before the vocabulary projection.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { BertConfig, BertPredictionHeadTransform } from "./mod.ts";
 * const t = new BertPredictionHeadTransform(new BertConfig({ hidden_size: 8 }));
 * assertEquals(t.call(zeros([1, 2, 8])).shape, [1, 2, 8]);
 * ```
 */
export class BertPredictionHeadTransform extends BertIntermediate {
  /** Normalises the activated projection. */
  LayerNorm: LayerNorm;

  /** Creates the layers from `config`. */
  constructor(config: BertConfig) {
    super(config, config.hidden_size);
    this.LayerNorm = new LayerNorm(config.hidden_size, { eps: config.layer_norm_eps });
  }

  /** `[B, S, H]` → `[B, S, H]`. */
  override forward(hiddenStates: Tensor): Tensor {
    return this.LayerNorm.call(super.forward(hiddenStates));
  }
}

/**
 * The masked-LM prediction head: transform, then `decoder` (no bias of its own; its weight is
 * tied to the word embeddings by the owning model) plus `bias`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { BertConfig, BertLMPredictionHead } from "./mod.ts";
 * const head = new BertLMPredictionHead(new BertConfig({ vocab_size: 16, hidden_size: 8 }));
 * assertEquals(head.call(zeros([1, 2, 8])).shape, [1, 2, 16]);
 * ```
 */
export class BertLMPredictionHead extends Module {
  /** Dense, activation, LayerNorm. */
  transform: BertPredictionHeadTransform;
  /** `[vocab_size, H]`, without bias. */
  decoder: Linear;
  /** `[vocab_size]`, zeros at start. */
  bias: Tensor;

  /** Creates the layers from `config`. */
  constructor(config: BertConfig) {
    super();
    this.transform = new BertPredictionHeadTransform(config);
    this.decoder = new Linear(config.hidden_size, config.vocab_size, { bias: false });
    this.bias = parameter(zeros([config.vocab_size]));
  }

  /** `[B, S, H]` → logits `[B, S, vocab_size]`. */
  forward(hiddenStates: Tensor): Tensor {
    return this.decoder.call(this.transform.call(hiddenStates)).add(this.bias);
  }
}

/**
 * Holds the prediction head under `predictions`, so keys read `cls.predictions.*`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { BertConfig, BertOnlyMLMHead } from "./mod.ts";
 * const cls = new BertOnlyMLMHead(new BertConfig({ vocab_size: 16, hidden_size: 8 }));
 * assertEquals(cls.call(zeros([1, 2, 8])).shape, [1, 2, 16]);
 * ```
 */
export class BertOnlyMLMHead extends Module {
  /** The prediction head. */
  predictions: BertLMPredictionHead;

  /** Creates the head from `config`. */
  constructor(config: BertConfig) {
    super();
    this.predictions = new BertLMPredictionHead(config);
  }

  /** `[B, S, H]` → logits `[B, S, vocab_size]`. */
  forward(sequenceOutput: Tensor): Tensor {
    return this.predictions.call(sequenceOutput);
  }
}

/**
 * BERT (without pooler) and the masked-LM head. The loss is the cross-entropy of the logits at
 * every position whose label is not -100; labels are not shifted. The decoder weight is the
 * word-embedding table when `tie_word_embeddings` (the default).
 *
 * @example Usage
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { BertConfig, BertForMaskedLM } from "./mod.ts";
 * const config = new BertConfig({
 *   vocab_size: 16,
 *   hidden_size: 8,
 *   num_hidden_layers: 1,
 *   num_attention_heads: 2,
 *   intermediate_size: 16,
 * });
 * const mlm = new BertForMaskedLM(config);
 * const labels = tensor([[-100, 5, -100]], { dtype: "int32" });
 * const out = mlm.call(tensor([[2, 4, 7]], { dtype: "int32" }), { labels });
 * assertEquals(out.logits.shape, [1, 3, 16]);
 * assert((await out.loss!.item()) > 0);
 * ```
 */
export class BertForMaskedLM extends BertPreTrainedModel {
  /** The encoder, without pooler. */
  bert: BertModel;
  /** The masked-LM head. */
  cls: BertOnlyMLMHead;

  /** Builds the model from `config`, initialises it and ties the decoder to the word embeddings. */
  constructor(config: BertConfig) {
    super(config);
    this.bert = new BertModel(config, { addPoolingLayer: false });
    this.cls = new BertOnlyMLMHead(config);
    this.postInit();
    applyConfigGradientCheckpointing(this);
  }

  /** Shares the word-embedding table with the decoder (when `tie_word_embeddings`). */
  override tieWeights(): void {
    const decoder = this.cls.predictions.decoder;
    const table = this.bert.embeddings.word_embeddings.weight;
    if (!this.config.tie_word_embeddings || decoder.weight === table) return;
    decoder.weight.dispose();
    decoder.weight = table;
  }

  /** The word-embedding module. */
  getInputEmbeddings(): Embedding {
    return this.bert.getInputEmbeddings();
  }

  /** The vocabulary projection. */
  getOutputEmbeddings(): Linear {
    return this.cls.predictions.decoder;
  }

  /** Prunes heads of the encoder (see {@linkcode BertModel.pruneHeads}). */
  pruneHeads(headsToPrune: Record<number, readonly number[]>): void {
    this.bert.pruneHeads(headsToPrune);
  }

  /**
   * Loads as {@linkcode BertPreTrainedModel} does, also ignoring pooler weights (as Hugging Face
   * does) and reading a lone `cls.predictions.decoder.bias` as `cls.predictions.bias`.
   */
  override loadStateDictWithPrefix(stateDict: Record<string, Tensor>): LoadingInfo {
    const out: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(stateDict)) {
      if (/(^|\.)pooler\./.test(k)) continue;
      if (k !== "cls.predictions.decoder.bias") out[k] = v;
      else if (!("cls.predictions.bias" in stateDict)) out["cls.predictions.bias"] = v;
    }
    return super.loadStateDictWithPrefix(out);
  }

  /**
   * Scores tokens and, with labels, computes the masked-LM loss (no shift).
   *
   * @param inputIds int32 `[B, S]`, or `null` with `options.inputsEmbeds`.
   * @param options The base-model options, labels `[B, S]` (-100 ignored) and numItemsInBatch.
   * @returns logits `[B, S, vocab_size]`, the loss when labels were given, and what was asked.
   */
  forward(inputIds: Tensor | null, options: LMOptions = {}): LMOutput {
    const { labels, numItemsInBatch, ...rest } = options;
    const out = this.bert.call(inputIds, rest);
    const logits = this.cls.call(out.lastHiddenState); // (B, S, V)
    const result: LMOutput = { logits, hiddenStates: out.hiddenStates, attentions: out.attentions };
    if (labels) {
      const V = logits.shape[2];
      result.loss = crossEntropy(logits.reshape([-1, V]), labels.reshape([-1]), {
        numItemsInBatch,
      });
    }
    return result;
  }
}
