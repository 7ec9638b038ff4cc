/**
 * BERT's building blocks: embeddings, self-attention with head pruning, the feed-forward block
 * (chunked when `chunk_size_feed_forward` is set), the checkpointable encoder layer, the encoder
 * and the pooler. `modeling.ts` assembles them into the models.
 *
 * @module
 */

import {
  type Activation,
  Dropout,
  Embedding,
  getActivation,
  LayerNorm,
  Linear,
  Module,
  nonPersistent,
  type Tensor,
  tensor,
  zeros,
} from "@denoformers/core";
import { GradientCheckpointingLayer } from "@denoformers/checkpoint";
import {
  ALL_ATTENTION_FUNCTIONS,
  applyChunkingToForward,
  eagerAttentionForward,
  findPruneableHeadsAndIndices,
  pruneLinearLayer,
} from "@denoformers/utils";
import type { BaseModelOptions, BaseModelOutput } from "../outputs.ts";
import type { BertConfig } from "./config.ts";

/** Per-call options the encoder passes to its layers. */
export interface BertLayerOptions {
  /** Return the attention probabilities. @default {false} */
  outputAttentions?: boolean;
  /** Attention implementation for this call. @default {config._attn_implementation} */
  attnImplementation?: string | null;
}

/** What an attention block or a layer returns: its output and the probabilities (or `null`). */
export type BertLayerOutput = [hidden: Tensor, attention: Tensor | null];

/**
 * Word, position and token-type embeddings, summed, then LayerNorm and dropout.
 *
 * `position_ids` (0..P-1) and `token_type_ids` (zeros) are non-persistent int32 buffers
 * `[1, max_position_embeddings]`, as in current Hugging Face: they are never saved, and the
 * `embeddings.position_ids` key older checkpoints hold is dropped on load by
 * {@linkcode BertPreTrainedModel}.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { BertConfig, BertEmbeddings } from "./mod.ts";
 * const emb = new BertEmbeddings(new BertConfig({ vocab_size: 10, hidden_size: 8 }));
 * assertEquals(emb.call(tensor([[1, 2, 3]], { dtype: "int32" })).shape, [1, 3, 8]);
 * ```
 */
export class BertEmbeddings extends Module {
  /** Token table; the `pad_token_id` row starts at zero and gets no gradient. */
  word_embeddings: Embedding;
  /** Absolute position table. */
  position_embeddings: Embedding;
  /** Segment table. */
  token_type_embeddings: Embedding;
  /** Normalises the sum. */
  LayerNorm: LayerNorm;
  /** `hidden_dropout_prob`. */
  dropout: Dropout;
  /** Default positions, int32 `[1, P]` (not saved). */
  position_ids: Tensor;
  /** Default segments, int32 zeros `[1, P]` (not saved). */
  token_type_ids: Tensor;

  /** Creates the tables from `config`. */
  constructor(config: BertConfig) {
    super();
    const H = config.hidden_size;
    const P = config.max_position_embeddings;
    const paddingIdx = config.pad_token_id ?? undefined;
    this.word_embeddings = new Embedding(config.vocab_size, H, { paddingIdx });
    this.position_embeddings = new Embedding(P, H);
    this.token_type_embeddings = new Embedding(config.type_vocab_size, H);
    this.LayerNorm = new LayerNorm(H, { eps: config.layer_norm_eps });
    this.dropout = new Dropout(config.hidden_dropout_prob);
    const positions = Int32Array.from({ length: P }, (_, i) => i);
    this.position_ids = nonPersistent(tensor(positions, { shape: [1, P] }));
    this.token_type_ids = nonPersistent(zeros([1, P], { dtype: "int32" }));
  }

  /**
   * Embeds ids, or adds positions and segments to given `inputsEmbeds`.
   *
   * @param inputIds int32 `[B, S]`, or `null` with `options.inputsEmbeds` `[B, S, H]`.
   * @param options tokenTypeIds (default zeros), positionIds (default 0..S-1), inputsEmbeds.
   * @returns `[B, S, H]`.
   * @throws {TypeError} When neither or both of `inputIds` and `inputsEmbeds` are given.
   * @throws {RangeError} When S exceeds `max_position_embeddings` and no positions are given.
   */
  forward(
    inputIds: Tensor | null,
    options: Pick<BaseModelOptions, "tokenTypeIds" | "positionIds" | "inputsEmbeds"> = {},
  ): Tensor {
    const inputsEmbeds = options.inputsEmbeds ?? null;
    if ((inputIds === null) === (inputsEmbeds === null)) {
      throw new TypeError("Cannot embed inputs: pass exactly one of inputIds and inputsEmbeds");
    }
    const [B, S] = (inputIds ?? inputsEmbeds!).shape;
    const P = this.position_ids.shape[1];
    if (!options.positionIds && S > P) {
      throw new RangeError(`Cannot embed ${S} positions: max_position_embeddings is ${P}`);
    }
    const positionIds = options.positionIds ?? this.position_ids.narrow(1, 0, S); // (1, S)
    const tokenTypeIds = options.tokenTypeIds ?? this.token_type_ids.narrow(1, 0, S).expand([B, S]);
    const words = inputsEmbeds ?? this.word_embeddings.call(inputIds!); // (B, S, H)
    const embeddings = words
      .add(this.token_type_embeddings.call(tokenTypeIds))
      .add(this.position_embeddings.call(positionIds)); // (B, S, H)
    return this.dropout.call(this.LayerNorm.call(embeddings));
  }
}

/**
 * The query/key/value projections of multi-head self-attention. The attention itself is
 * `ALL_ATTENTION_FUNCTIONS.getInterface(config._attn_implementation, eagerAttentionForward)`,
 * looked up at every call, never causal, scaled by `head_size ** -0.5`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { BertConfig, BertSelfAttention } from "./mod.ts";
 * const attn = new BertSelfAttention(new BertConfig({ hidden_size: 8, num_attention_heads: 2 }));
 * const options = { attnImplementation: "eager", outputAttentions: true };
 * const [out, probs] = attn.call(zeros([1, 3, 8]), null, options);
 * assertEquals([out.shape, probs!.shape], [[1, 3, 8], [1, 2, 3, 3]]);
 * ```
 */
export class BertSelfAttention extends Module {
  /** `[all_head_size, H]`. */
  query: Linear;
  /** `[all_head_size, H]`. */
  key: Linear;
  /** `[all_head_size, H]`. */
  value: Linear;
  /** Holds `attention_probs_dropout_prob`. */
  dropout: Dropout;
  /** Heads left after pruning. */
  numAttentionHeads: number;
  /** Width of one head. */
  readonly attentionHeadSize: number;
  /** `numAttentionHeads * attentionHeadSize`. */
  allHeadSize: number;
  /** `attentionHeadSize ** -0.5`. */
  readonly scaling: number;
  /** BERT attends both ways (read by `sdpa`). */
  readonly isCausal = false;
  /** The configuration (`_attn_implementation` is read at every call). */
  readonly config: BertConfig;

  /** Creates the projections; a `RangeError` when the heads do not divide `hidden_size`. */
  constructor(config: BertConfig) {
    super();
    const H = config.hidden_size;
    const heads = config.num_attention_heads;
    if (!(heads > 0) || H % heads !== 0) {
      throw new RangeError(
        `Cannot build BertSelfAttention: hidden_size ${H} is not a multiple of num_attention_heads ${heads}`,
      );
    }
    this.config = config;
    this.numAttentionHeads = heads;
    this.attentionHeadSize = H / heads;
    this.allHeadSize = H;
    this.scaling = this.attentionHeadSize ** -0.5;
    this.query = new Linear(H, H);
    this.key = new Linear(H, H);
    this.value = new Linear(H, H);
    this.dropout = new Dropout(config.attention_probs_dropout_prob);
  }

  /**
   * Attends.
   *
   * @param hidden `[B, S, H]`.
   * @param mask The mask built for the implementation, or `null`.
   * @param options outputAttentions, attnImplementation.
   * @returns The context `[B, S, all_head_size]`, the probabilities `[B, h, S, S]` or `null`.
   */
  forward(hidden: Tensor, mask: Tensor | null, options: BertLayerOptions = {}): BertLayerOutput {
    const [B, S] = hidden.shape;
    const split = [B, S, this.numAttentionHeads, this.attentionHeadSize];
    const q = this.query.call(hidden).reshape(split).transpose(1, 2); // (B, h, S, D)
    const k = this.key.call(hidden).reshape(split).transpose(1, 2); // (B, h, S, D)
    const v = this.value.call(hidden).reshape(split).transpose(1, 2); // (B, h, S, D)
    const attention = ALL_ATTENTION_FUNCTIONS.getInterface(
      options.attnImplementation ?? this.config._attn_implementation,
      eagerAttentionForward,
    );
    const { output, weights } = attention(this, q, k, v, mask, {
      dropout: this.training ? this.dropout.p : 0,
      scaling: this.scaling,
      isCausal: false,
      outputAttentions: options.outputAttentions ?? false,
    }); // output (B, S, h, D)
    return [output.reshape([B, S, this.allHeadSize]), weights];
  }
}

/**
 * Dense projection to `hidden_size`, dropout, residual add and LayerNorm (after attention).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { BertConfig, BertSelfOutput } from "./mod.ts";
 * const block = new BertSelfOutput(new BertConfig({ hidden_size: 8 }));
 * assertEquals(block.call(zeros([1, 2, 8]), zeros([1, 2, 8])).shape, [1, 2, 8]);
 * ```
 */
export class BertSelfOutput extends Module {
  /** `[H, inFeatures]` (its columns shrink with head pruning). */
  dense: Linear;
  /** Post-residual normalisation. */
  LayerNorm: LayerNorm;
  /** `hidden_dropout_prob`. */
  dropout: Dropout;

  /** Creates the layers from `config`; `inFeatures` defaults to `hidden_size`. */
  constructor(config: BertConfig, inFeatures: number = config.hidden_size) {
    super();
    this.dense = new Linear(inFeatures, config.hidden_size);
    this.LayerNorm = new LayerNorm(config.hidden_size, { eps: config.layer_norm_eps });
    this.dropout = new Dropout(config.hidden_dropout_prob);
  }

  /** `LayerNorm(dropout(dense(hiddenStates)) + inputTensor)`, `[B, S, H]`. */
  forward(hiddenStates: Tensor, inputTensor: Tensor): Tensor {
    const h = this.dropout.call(this.dense.call(hiddenStates));
    return this.LayerNorm.call(h.add(inputTensor));
  }
}

/**
 * Self-attention plus its output block, with head pruning.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { BertAttention, BertConfig } from "./mod.ts";
 * const attention = new BertAttention(new BertConfig({ hidden_size: 8, num_attention_heads: 4 }));
 * attention.pruneHeads([0, 2]);
 * assertEquals([attention.self.numAttentionHeads, attention.self.query.weight.shape], [2, [4, 8]]);
 * assertEquals(attention.output.dense.weight.shape, [8, 4]);
 * ```
 */
export class BertAttention extends Module {
  /** Projections and attention. */
  self: BertSelfAttention;
  /** Output projection, residual and LayerNorm. */
  output: BertSelfOutput;
  /** Original ids of the heads pruned so far. */
  readonly prunedHeads: Set<number> = new Set();

  /** Creates the block from `config`. */
  constructor(config: BertConfig) {
    super();
    this.self = new BertSelfAttention(config);
    this.output = new BertSelfOutput(config);
  }

  /**
   * Removes heads (original ids; already pruned ones are skipped): query, key and value lose
   * their output rows, `output.dense` its input columns, and the head counts shrink.
   *
   * @param heads Original head ids.
   * @throws {RangeError} When a head is out of range or every remaining head would go.
   */
  pruneHeads(heads: Iterable<number>): void {
    const self = this.self;
    const { heads: todo, index } = findPruneableHeadsAndIndices(
      heads,
      self.numAttentionHeads,
      self.attentionHeadSize,
      this.prunedHeads,
    );
    if (todo.size === 0) return;
    if (todo.size >= self.numAttentionHeads) {
      throw new RangeError(
        `Cannot prune heads [${[
          ...todo,
        ]}]: it would remove all ${self.numAttentionHeads} remaining heads`,
      );
    }
    const prune = (layer: Linear, dim: number): Linear => {
      const pruned = pruneLinearLayer(layer, index, { dim });
      layer.weight.dispose();
      layer.bias?.dispose();
      return pruned;
    };
    self.query = prune(self.query, 0);
    self.key = prune(self.key, 0);
    self.value = prune(self.value, 0);
    this.output.dense = prune(this.output.dense, 1);
    self.numAttentionHeads -= todo.size;
    self.allHeadSize = self.attentionHeadSize * self.numAttentionHeads;
    for (const h of todo) this.prunedHeads.add(h);
  }

  /** Attention then output block: `[B, S, H]` → `[B, S, H]` and the probabilities (or `null`). */
  forward(hidden: Tensor, mask: Tensor | null, options: BertLayerOptions = {}): BertLayerOutput {
    const [context, weights] = this.self.call(hidden, mask, options);
    return [this.output.call(context, hidden), weights];
  }
}

/**
 * The feed-forward expansion `act(dense(x))` with `ACT2FN[config.hidden_act]`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { BertConfig, BertIntermediate } from "./mod.ts";
 * const ff = new BertIntermediate(new BertConfig({ hidden_size: 8, intermediate_size: 32 }));
 * assertEquals(ff.call(zeros([1, 2, 8])).shape, [1, 2, 32]);
 * ```
 */
export class BertIntermediate extends Module {
  /** `[outFeatures, H]`. */
  dense: Linear;
  /** `ACT2FN[config.hidden_act]`. */
  readonly actFn: Activation;

  /** Creates the layer (default width `intermediate_size`); a `RangeError` for bad `hidden_act`. */
  constructor(config: BertConfig, outFeatures: number = config.intermediate_size) {
    super();
    this.dense = new Linear(config.hidden_size, outFeatures);
    this.actFn = getActivation(config.hidden_act);
  }

  /** `[B, S, H]` → `[B, S, outFeatures]`. */
  forward(hiddenStates: Tensor): Tensor {
    return this.actFn(this.dense.call(hiddenStates));
  }
}

/**
 * The feed-forward contraction: a {@linkcode BertSelfOutput} reading `intermediate_size`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { BertConfig, BertOutput } from "./mod.ts";
 * const out = new BertOutput(new BertConfig({ hidden_size: 8, intermediate_size: 32 }));
 * assertEquals(out.call(zeros([1, 2, 32]), zeros([1, 2, 8])).shape, [1, 2, 8]);
 * ```
 */
export class BertOutput extends BertSelfOutput {
  /** Creates the layers from `config`. */
  constructor(config: BertConfig) {
    super(config, config.intermediate_size);
  }
}

/**
 * One encoder layer: attention, then the feed-forward block through
 * `applyChunkingToForward(…, config.chunk_size_feed_forward, 1, …)`. Gradient checkpointing
 * wraps this layer.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { BertConfig, BertLayer } from "./mod.ts";
 * const config = new BertConfig({
 *   hidden_size: 8,
 *   num_attention_heads: 2,
 *   intermediate_size: 16,
 *   chunk_size_feed_forward: 1,
 *   attn_implementation: "eager",
 * });
 * const [out] = new BertLayer(config).call(zeros([1, 3, 8]), null);
 * assertEquals(out.shape, [1, 3, 8]);
 * ```
 */
export class BertLayer extends GradientCheckpointingLayer {
  /** Attention block. */
  attention: BertAttention;
  /** Feed-forward expansion. */
  intermediate: BertIntermediate;
  /** Feed-forward contraction. */
  output: BertOutput;
  /** Positions per feed-forward chunk (0: no chunking). */
  readonly chunkSizeFeedForward: number;
  /** The dimension chunked (sequence). */
  readonly seqLenDim = 1;

  /** Creates the layer from `config`. */
  constructor(config: BertConfig) {
    super();
    this.chunkSizeFeedForward = config.chunk_size_feed_forward ?? 0;
    this.attention = new BertAttention(config);
    this.intermediate = new BertIntermediate(config);
    this.output = new BertOutput(config);
  }

  /** `[B, S, H]` → `[B, S, H]` and the attention probabilities (or `null`). */
  forward(hidden: Tensor, mask: Tensor | null, options: BertLayerOptions = {}): BertLayerOutput {
    const [attentionOutput, weights] = this.attention.call(hidden, mask, options);
    const layerOutput = applyChunkingToForward(
      (x: Tensor) => this.output.call(this.intermediate.call(x), x),
      this.chunkSizeFeedForward,
      this.seqLenDim,
      attentionOutput,
    );
    return [layerOutput, weights];
  }
}

/**
 * The stack of `num_hidden_layers` encoder layers.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { BertConfig, BertEncoder } from "./mod.ts";
 * const config = new BertConfig({ hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 2 });
 * const encoder = new BertEncoder(config);
 * const options = { attnImplementation: "eager", outputHiddenStates: true };
 * const out = encoder.call(zeros([1, 3, 8]), null, options);
 * assertEquals(out.hiddenStates!.length, 3);
 * ```
 */
export class BertEncoder extends Module {
  /** The layers. */
  layer: BertLayer[];

  /** Creates the layers from `config`. */
  constructor(config: BertConfig) {
    super();
    this.layer = Array.from({ length: config.num_hidden_layers }, () => new BertLayer(config));
  }

  /** Runs every layer; hidden states (embeddings first) and attentions when asked. */
  forward(
    hidden: Tensor,
    mask: Tensor | null,
    options: BertLayerOptions & { outputHiddenStates?: boolean } = {},
  ): BaseModelOutput {
    const { outputHiddenStates = false, ...layerOptions } = options;
    const all: Tensor[] = [hidden];
    const attentions: Tensor[] = [];
    let h = hidden; // (B, S, H)
    for (const layer of this.layer) {
      const [next, weights] = layer.call(h, mask, layerOptions);
      h = next;
      all.push(h);
      if (weights) attentions.push(weights);
    }
    return {
      lastHiddenState: h,
      hiddenStates: outputHiddenStates ? all : undefined,
      attentions: layerOptions.outputAttentions ? attentions : undefined,
    };
  }
}

/**
 * `tanh(dense(h[:, 0]))`: the first token's state as the sequence summary.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { BertConfig, BertPooler } from "./mod.ts";
 * const pooler = new BertPooler(new BertConfig({ hidden_size: 8 }));
 * assertEquals(pooler.call(zeros([2, 3, 8])).shape, [2, 8]);
 * ```
 */
export class BertPooler extends Module {
  /** `[H, H]`. */
  dense: Linear;

  /** Creates the layer from `config`. */
  constructor(config: BertConfig) {
    super();
    this.dense = new Linear(config.hidden_size, config.hidden_size);
  }

  /** `[B, S, H]` → `[B, H]`. */
  forward(hiddenStates: Tensor): Tensor {
    return this.dense.call(hiddenStates.narrow(1, 0, 1).squeeze(1)).tanh();
  }
}
