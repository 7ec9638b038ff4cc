/**
 * Llama: a decoder-only transformer with pre-norm RMSNorm blocks, rotary position embeddings,
 * grouped-query attention and a SwiGLU MLP.
 *
 * References:
 * - Hugging Face transformers, `models/llama/modeling_llama.py` (main): the layer structure,
 *   weight names, defaults and outputs followed here.
 * - Touvron et al., "LLaMA: Open and Efficient Foundation Language Models" (2023).
 * - Su et al., "RoFormer: Enhanced Transformer with Rotary Position Embedding" (2021).
 * - Ainslie et al., "GQA: Training Generalized Multi-Query Transformer Models" (2023).
 *
 * @module
 */

import {
  type Activation,
  causalLmLoss,
  Embedding,
  getActivation,
  Linear,
  Module,
  PreTrainedModel,
  RMSNorm,
  type Tensor,
  tensor,
} from "@denoformers/core";
import {
  applyConfigGradientCheckpointing,
  GradientCheckpointingLayer,
} from "@denoformers/checkpoint";
import {
  ALL_ATTENTION_FUNCTIONS,
  applyRotaryPosEmb,
  type AttentionModule,
  createCausalMask,
  eagerAttentionForward,
  type RotaryCosSin,
  RotaryEmbedding,
} from "@denoformers/utils";
import { DynamicCache } from "../cache.ts";
import { generate as generateTokens, type GenerateOptions } from "../generate.ts";
import type { BaseModelOptions, BaseModelOutput, LMOptions, LMOutput } from "../outputs.ts";
import type { LlamaConfig } from "./config.ts";

/**
 * The gated MLP: `down_proj(act(gate_proj(x)) · up_proj(x))` (SwiGLU with `hidden_act` "silu").
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { LlamaConfig, LlamaMLP } from "./mod.ts";
 *
 * const config = new LlamaConfig({
 *   hidden_size: 8, intermediate_size: 12, num_attention_heads: 2,
 * });
 * const mlp = new LlamaMLP(config);
 * assertEquals([mlp.call(zeros([1, 3, 8])).shape, mlp.up_proj.weight.shape], [[1, 3, 8], [12, 8]]);
 * ```
 */
export class LlamaMLP extends Module {
  /** `hidden → intermediate`, through the activation. */
  gate_proj: Linear;
  /** `hidden → intermediate`, the linear branch. */
  up_proj: Linear;
  /** `intermediate → hidden`. */
  down_proj: Linear;
  /** The activation named by `config.hidden_act`. */
  readonly actFn: Activation;

  /**
   * Creates the projections on the current backend.
   *
   * @param config The configuration.
   * @throws {RangeError} When `hidden_act` is not a known activation.
   */
  constructor(config: LlamaConfig) {
    super();
    const { hidden_size: hidden, intermediate_size: inner, mlp_bias: bias } = config;
    this.gate_proj = new Linear(hidden, inner, { bias });
    this.up_proj = new Linear(hidden, inner, { bias });
    this.down_proj = new Linear(inner, hidden, { bias });
    this.actFn = getActivation(config.hidden_act);
  }

  /**
   * Applies the MLP.
   *
   * @param x `[B, S, hidden]`.
   * @returns `[B, S, hidden]`.
   */
  forward(x: Tensor): Tensor {
    return this.down_proj.call(this.actFn(this.gate_proj.call(x)).mul(this.up_proj.call(x)));
  }
}

/** Options of {@linkcode LlamaAttention.forward} and {@linkcode LlamaDecoderLayer.forward}. */
export interface LlamaAttentionOptions {
  /** cos and sin tables of the positions, `[B, S, D]` each (from `RotaryEmbedding`). */
  positionEmbeddings: RotaryCosSin;
  /** The mask `createCausalMask` built for the attention implementation, or `null`. */
  attentionMask?: Tensor | null;
  /** Position ids, passed on to custom attention functions. */
  positionIds?: Tensor | null;
  /** The cache this layer's keys and values are appended to. */
  pastKeyValues?: DynamicCache | null;
  /** Ask the attention function for its probabilities. @default {false} */
  outputAttentions?: boolean;
  /** Whether the caller keeps a cache (checkpointing switches it off, with the cache). */
  useCache?: boolean;
}

/** What {@linkcode LlamaAttention.forward} returns. */
export interface LlamaAttentionOutput {
  /** `[B, S, hidden]`, after `o_proj`. */
  output: Tensor;
  /** The attention probabilities `[B, H, S, K]`, or `null` when the implementation has none. */
  weights: Tensor | null;
}

/**
 * Multi-head attention with grouped key/value heads and rotary embeddings. The attention
 * function is looked up on every call with
 * `ALL_ATTENTION_FUNCTIONS.getInterface(config._attn_implementation, eagerAttentionForward)`, so
 * switching `config._attn_implementation` (or registering a function) takes effect at once.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor, zeros } from "@denoformers/core";
 * import { RotaryEmbedding } from "@denoformers/utils";
 * import { LlamaAttention, LlamaConfig } from "./mod.ts";
 *
 * const config = new LlamaConfig({
 *   hidden_size: 16, num_attention_heads: 4, num_key_value_heads: 2, attn_implementation: "eager",
 * });
 * const x = zeros([1, 3, 16]);
 * const rope = new RotaryEmbedding(config);
 * const positionEmbeddings = rope.call(x, tensor([[0, 1, 2]], { dtype: "int32" }));
 * const attn = new LlamaAttention(config, 0);
 * const { output, weights } = attn.call(x, { positionEmbeddings, outputAttentions: true });
 * assertEquals([output.shape, weights!.shape], [[1, 3, 16], [1, 4, 3, 3]]);
 * ```
 */
export class LlamaAttention extends Module implements AttentionModule {
  /** `hidden → heads · head_dim`. */
  q_proj: Linear;
  /** `hidden → kv_heads · head_dim`. */
  k_proj: Linear;
  /** `hidden → kv_heads · head_dim`. */
  v_proj: Linear;
  /** `heads · head_dim → hidden`. */
  o_proj: Linear;
  /** The configuration (read on every call for `_attn_implementation`). */
  readonly config: LlamaConfig;
  /** This layer's index (its slot in the cache). */
  readonly layerIdx: number;
  /** Size of one head. */
  readonly headDim: number;
  /** Query heads per key/value head. */
  readonly numKeyValueGroups: number;
  /** Factor applied to `Q·Kᵀ`: `head_dim ** -0.5`. */
  readonly scaling: number;
  /** Dropout on the attention probabilities while training. */
  readonly attentionDropout: number;
  /** Decoder attention is causal. */
  readonly isCausal = true;

  /**
   * Creates the projections on the current backend.
   *
   * @param config The configuration.
   * @param layerIdx The layer's index.
   */
  constructor(config: LlamaConfig, layerIdx: number) {
    super();
    this.config = config;
    this.layerIdx = layerIdx;
    this.headDim = config.head_dim;
    this.numKeyValueGroups = config.num_attention_heads / config.num_key_value_heads;
    this.scaling = this.headDim ** -0.5;
    this.attentionDropout = config.attention_dropout;
    const { hidden_size: hidden, attention_bias: bias } = config;
    this.q_proj = new Linear(hidden, config.num_attention_heads * this.headDim, { bias });
    this.k_proj = new Linear(hidden, config.num_key_value_heads * this.headDim, { bias });
    this.v_proj = new Linear(hidden, config.num_key_value_heads * this.headDim, { bias });
    this.o_proj = new Linear(config.num_attention_heads * this.headDim, hidden, { bias });
  }

  /**
   * Attends from each position to the cached and current positions the mask allows.
   *
   * @param hiddenStates `[B, S, hidden]`.
   * @param options Rotary tables, mask, cache and extra options.
   * @returns The projected output and, when available, the attention probabilities.
   */
  forward(hiddenStates: Tensor, options: LlamaAttentionOptions): LlamaAttentionOutput {
    const [B, S] = hiddenStates.shape;
    const D = this.headDim;
    // (B, S, heads·D) -> (B, S, heads, D) -> (B, heads, S, D)
    const split = (x: Tensor) => x.reshape([B, S, -1, D]).transpose(1, 2);
    const query = split(this.q_proj.call(hiddenStates)); // (B, H, S, D)
    let key = split(this.k_proj.call(hiddenStates)); // (B, KVH, S, D)
    let value = split(this.v_proj.call(hiddenStates)); // (B, KVH, S, D)
    const { cos, sin } = options.positionEmbeddings;
    const rotated = applyRotaryPosEmb(query, key, cos, sin);
    key = rotated.k;
    if (options.pastKeyValues) {
      // (B, KVH, past + S, D) each.
      ({ keys: key, values: value } = options.pastKeyValues.update(key, value, this.layerIdx));
    }
    const attend = ALL_ATTENTION_FUNCTIONS.getInterface(
      this.config._attn_implementation,
      eagerAttentionForward,
    );
    const { output, weights } = attend(this, rotated.q, key, value, options.attentionMask ?? null, {
      dropout: this.training ? this.attentionDropout : 0,
      scaling: this.scaling,
      outputAttentions: options.outputAttentions ?? false,
      positionIds: options.positionIds,
    });
    // (B, S, H, D) -> (B, S, H·D)
    return { output: this.o_proj.call(output.reshape([B, S, -1])), weights };
  }
}

/** What {@linkcode LlamaDecoderLayer.forward} returns. */
export interface LlamaDecoderLayerOutput {
  /** `[B, S, hidden]`. */
  hiddenStates: Tensor;
  /** The attention probabilities, or `null`. */
  attentions: Tensor | null;
}

/**
 * One decoder block: `h = x + attn(norm(x))`, then `h + mlp(norm(h))`. Call it as
 * `layer.call(hidden, { positionEmbeddings, attentionMask, pastKeyValues, useCache, ... })`: the
 * trailing options object is what gradient checkpointing strips of its cache when it wraps the
 * layer.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor, zeros } from "@denoformers/core";
 * import { RotaryEmbedding } from "@denoformers/utils";
 * import { LlamaConfig, LlamaDecoderLayer } from "./mod.ts";
 *
 * const config = new LlamaConfig({
 *   hidden_size: 16, intermediate_size: 32, num_attention_heads: 2, attn_implementation: "sdpa",
 * });
 * const x = zeros([1, 2, 16]);
 * const rope = new RotaryEmbedding(config);
 * const positionEmbeddings = rope.call(x, tensor([[0, 1]], { dtype: "int32" }));
 * const layer = new LlamaDecoderLayer(config, 0);
 * assertEquals(layer.call(x, { positionEmbeddings }).hiddenStates.shape, [1, 2, 16]);
 * ```
 */
export class LlamaDecoderLayer extends GradientCheckpointingLayer {
  /** Self-attention. */
  self_attn: LlamaAttention;
  /** The gated MLP. */
  mlp: LlamaMLP;
  /** Norm before attention. */
  input_layernorm: RMSNorm;
  /** Norm before the MLP. */
  post_attention_layernorm: RMSNorm;

  /**
   * Creates the block on the current backend.
   *
   * @param config The configuration.
   * @param layerIdx The layer's index.
   */
  constructor(config: LlamaConfig, layerIdx: number) {
    super();
    this.self_attn = new LlamaAttention(config, layerIdx);
    this.mlp = new LlamaMLP(config);
    this.input_layernorm = new RMSNorm(config.hidden_size, { eps: config.rms_norm_eps });
    this.post_attention_layernorm = new RMSNorm(config.hidden_size, { eps: config.rms_norm_eps });
  }

  /**
   * Runs the block.
   *
   * @param hiddenStates `[B, S, hidden]`.
   * @param options Rotary tables, mask, cache and extra options.
   * @returns The new hidden states and the attention probabilities (or `null`).
   */
  forward(hiddenStates: Tensor, options: LlamaAttentionOptions): LlamaDecoderLayerOutput {
    const attn = this.self_attn.call(this.input_layernorm.call(hiddenStates), options);
    const h = hiddenStates.add(attn.output);
    const out = h.add(this.mlp.call(this.post_attention_layernorm.call(h)));
    return { hiddenStates: out, attentions: attn.weights };
  }
}

/**
 * What every Llama model shares: the config type, `baseModelPrefix = "model"`, checkpointing
 * support, and the attention implementation resolved at construction (unset becomes `"sdpa"`,
 * as Hugging Face picks SDPA when it can; unknown names are rejected).
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { LlamaConfig, LlamaModel, LlamaPreTrainedModel } from "./mod.ts";
 *
 * const config = new LlamaConfig({
 *   vocab_size: 16, hidden_size: 8, intermediate_size: 8, num_attention_heads: 2,
 *   num_hidden_layers: 1,
 * });
 * const model = new LlamaModel(config);
 * assert(model instanceof LlamaPreTrainedModel && config._attn_implementation === "sdpa");
 * ```
 */
export abstract class LlamaPreTrainedModel extends PreTrainedModel {
  /** The configuration. */
  declare config: LlamaConfig;
  /** Task models hold the base model under `model`. */
  readonly baseModelPrefix = "model";
  /** Decoder layers may be checkpointed. */
  readonly supportsGradientCheckpointing = true;

  /**
   * Stores the config and resolves `config._attn_implementation`.
   *
   * @param config The configuration.
   * @throws {RangeError} When `_attn_implementation` is neither `"eager"` nor registered.
   */
  constructor(config: LlamaConfig) {
    super(config);
    const impl = config._attn_implementation;
    if (impl === null || impl === undefined) config._attn_implementation = "sdpa";
    else if (impl !== "eager" && !ALL_ATTENTION_FUNCTIONS.has(impl)) {
      const valid = ["eager", ...ALL_ATTENTION_FUNCTIONS.keys()].map((k) => `"${k}"`).join(", ");
      throw new RangeError(
        `Cannot build ${new.target.name} with attn_implementation "${impl}": ` +
          `valid ones are ${valid}`,
      );
    }
  }
}

/** Positions for the mask builder (host-readable when possible) and for RoPE (on the model). */
interface Positions {
  forMask: Tensor;
  forRope: Tensor;
  seqLen: number;
}

/**
 * The bare Llama decoder: token embeddings, `num_hidden_layers` decoder blocks and a final norm.
 * Returns the last hidden state, the cache, and on request every hidden state (the embeddings,
 * each block's output, the last one normed) and attention probabilities.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor, withBackend } from "@denoformers/core";
 * import { LlamaConfig, LlamaModel } from "./mod.ts";
 *
 * const config = new LlamaConfig({
 *   vocab_size: 32, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2,
 *   num_attention_heads: 4, num_key_value_heads: 2,
 * });
 * const model = await withBackend("cpu", () => new LlamaModel(config));
 * const ids = tensor([[1, 5, 9]], { dtype: "int32", backend: "cpu" });
 * const out = model.call(ids, { outputHiddenStates: true, useCache: true });
 * assertEquals(out.lastHiddenState.shape, [1, 3, 16]);
 * assertEquals([out.hiddenStates!.length, out.pastKeyValues!.getSeqLength()], [3, 3]);
 * out.pastKeyValues!.dispose();
 * ```
 */
export class LlamaModel extends LlamaPreTrainedModel {
  /** Token embeddings `[vocab, hidden]` (row `pad_token_id` gets no gradient). */
  embed_tokens: Embedding;
  /** The decoder blocks. */
  layers: LlamaDecoderLayer[];
  /** The final norm. */
  norm: RMSNorm;
  /** The rotary embedding shared by every block. */
  rotary_emb: RotaryEmbedding;

  /**
   * Builds the layers, initialises the weights, applies `config.gradient_checkpointing`.
   *
   * @param config The configuration.
   */
  constructor(config: LlamaConfig) {
    super(config);
    const pad = config.pad_token_id;
    const { vocab_size: vocab, hidden_size: hidden } = config;
    this.embed_tokens = new Embedding(vocab, hidden, pad === null ? {} : { paddingIdx: pad });
    this.layers = [];
    for (let i = 0; i < config.num_hidden_layers; i++) {
      this.layers.push(new LlamaDecoderLayer(config, i));
    }
    this.norm = new RMSNorm(config.hidden_size, { eps: config.rms_norm_eps });
    this.rotary_emb = new RotaryEmbedding(config);
    this.postInit();
    applyConfigGradientCheckpointing(this);
  }

  /**
   * The input embeddings (checkpointing hooks them so gradients enter frozen embeddings).
   *
   * @returns `embed_tokens`.
   */
  getInputEmbeddings(): Embedding {
    return this.embed_tokens;
  }

  /**
   * Default positions continue from the cache: `past + 0..S-1`, made on the host so the mask
   * builder can read them without an await, and copied to the model's backend for RoPE. Given
   * positions are used as they are; the dynamic RoPE length is read from CPU ones, and is
   * `past + S` for others (exact for contiguous positions).
   */
  #positions(given: Tensor | null | undefined, past: number, embeds: Tensor): Positions {
    const S = embeds.shape[1];
    const backend = embeds.backend;
    if (!given) {
      const values = Int32Array.from({ length: S }, (_, i) => past + i);
      const forMask = tensor(values, { shape: [1, S], backend: "cpu" });
      const forRope = backend === "cpu" ? forMask : tensor(values, { shape: [1, S], backend });
      return { forMask, forRope, seqLen: past + S };
    }
    const ids = given.ndim === 1 ? given.reshape([1, -1]) : given;
    if (ids.backend !== "cpu") return { forMask: ids, forRope: ids, seqLen: past + S };
    const values = ids.dataSync();
    const forRope = backend === "cpu" ? ids : tensor(values, { shape: ids.shape, backend });
    const seqLen = Array.from(values).reduce((m, v) => Math.max(m, v + 1), 0);
    return { forMask: ids, forRope, seqLen };
  }

  /**
   * Runs the decoder.
   *
   * Exactly one of `inputIds` and `options.inputsEmbeds` must be given. `useCache` defaults to
   * `config.use_cache` in evaluation mode and to `false` while training: cached keys and values
   * outlive `tidy`, so a cache per training step would hold every step's tensors until disposed.
   * With `useCache` and no `pastKeyValues` a new `DynamicCache` is returned; dispose it when done.
   *
   * @param inputIds int32 token ids `[B, S]`, or `null` with `inputsEmbeds`.
   * @param options Mask, embeddings, positions, cache and output flags.
   * @returns The last hidden state `[B, S, hidden]`, the cache, and what was asked for.
   * @throws {TypeError} When both or neither of `inputIds` and `inputsEmbeds` are given.
   */
  forward(inputIds: Tensor | null, options: BaseModelOptions = {}): BaseModelOutput {
    const config = this.config;
    const { attentionMask = null, inputsEmbeds = null, pastKeyValues = null } = options;
    if ((inputIds === null || inputIds === undefined) === (inputsEmbeds === null)) {
      throw new TypeError(
        "Cannot run LlamaModel: pass exactly one of inputIds and options.inputsEmbeds",
      );
    }
    const outputHidden = options.outputHiddenStates ?? config.output_hidden_states;
    const outputAttentions = options.outputAttentions ?? config.output_attentions;
    const useCache = options.useCache ?? (config.use_cache && !this.training);
    const embeds = inputsEmbeds ?? this.embed_tokens.call(inputIds!); // (B, S, hidden)
    const cache = pastKeyValues ?? (useCache ? new DynamicCache() : null);
    const past = cache?.getSeqLength() ?? 0;
    const positions = this.#positions(options.positionIds, past, embeds);
    const mask = createCausalMask({
      config,
      inputsEmbeds: embeds,
      attentionMask,
      pastKeyValues: cache,
      positionIds: positions.forMask,
    });
    const positionEmbeddings = this.rotary_emb.call(embeds, positions.forRope, {
      seqLen: positions.seqLen,
    });
    const hiddenStates: Tensor[] = [];
    const attentions: Tensor[] = [];
    let hidden = embeds;
    for (const layer of this.layers) {
      if (outputHidden) hiddenStates.push(hidden);
      const out = layer.call(hidden, {
        attentionMask: mask,
        positionEmbeddings,
        positionIds: positions.forRope,
        pastKeyValues: cache,
        useCache,
        outputAttentions,
      });
      hidden = out.hiddenStates;
      if (outputAttentions && out.attentions) attentions.push(out.attentions);
    }
    hidden = this.norm.call(hidden);
    if (outputHidden) hiddenStates.push(hidden);
    const result: BaseModelOutput = { lastHiddenState: hidden, pastKeyValues: cache };
    if (outputHidden) result.hiddenStates = hiddenStates;
    if (outputAttentions) result.attentions = attentions;
    return result;
  }
}

/** Options of {@linkcode LlamaForCausalLM.forward}: the LM options plus `logitsToKeep`. */
export interface LlamaForCausalLMOptions extends LMOptions {
  /** Compute logits for the last this-many positions only (0: all). @default {0} */
  logitsToKeep?: number;
}

/**
 * Llama with its language-modelling head: `lm_head` (bias-free, tied to `embed_tokens` when
 * `tie_word_embeddings`) over the decoder's last hidden state, Hugging Face's causal loss when
 * labels are given, and `generate`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor, withBackend } from "@denoformers/core";
 * import { LlamaConfig, LlamaForCausalLM } from "./mod.ts";
 *
 * const config = new LlamaConfig({
 *   vocab_size: 32, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2,
 *   num_attention_heads: 4, num_key_value_heads: 2, eos_token_id: null,
 * });
 * const lm = await withBackend("cpu", () => new LlamaForCausalLM(config));
 * const ids = tensor([[1, 5, 9, 3]], { dtype: "int32", backend: "cpu" });
 * const { logits, loss } = lm.call(ids, { labels: ids });
 * assertEquals([logits.shape, loss!.shape], [[1, 4, 32], []]);
 * const generated = await lm.eval().generate(ids, { maxNewTokens: 3 });
 * assertEquals(generated.shape, [1, 7]);
 * ```
 */
export class LlamaForCausalLM extends LlamaPreTrainedModel {
  /** The decoder. */
  model: LlamaModel;
  /** `hidden → vocab`, bias-free. */
  lm_head: Linear;

  /**
   * Creates the model on the current backend, initialises and ties its weights.
   *
   * @param config The configuration.
   */
  constructor(config: LlamaConfig) {
    super(config);
    this.model = new LlamaModel(config);
    this.lm_head = new Linear(config.hidden_size, config.vocab_size, { bias: false });
    this.postInit();
  }

  /** Shares `model.embed_tokens.weight` with `lm_head` when `config.tie_word_embeddings`. */
  override tieWeights(): void {
    if (this.config.tie_word_embeddings) this.lm_head.weight = this.model.embed_tokens.weight;
  }

  /**
   * The input embeddings.
   *
   * @returns `model.embed_tokens`.
   */
  getInputEmbeddings(): Embedding {
    return this.model.embed_tokens;
  }

  /**
   * Runs the decoder and the head. With `labels`, the loss is `causalLmLoss(logits, labels)`
   * (labels shifted inside, -100 ignored, `numItemsInBatch` dividing the sum when given).
   *
   * @param inputIds int32 token ids `[B, S]`, or `null` with `inputsEmbeds`.
   * @param options The base model's options, `labels`, `numItemsInBatch`, `logitsToKeep`.
   * @returns Logits `[B, S, vocab]` (or the last `logitsToKeep` positions), loss, cache and
   * what was asked for.
   */
  forward(inputIds: Tensor | null, options: LlamaForCausalLMOptions = {}): LMOutput {
    const { labels, numItemsInBatch, logitsToKeep = 0, ...rest } = options;
    const out = this.model.call(inputIds, rest);
    let hidden = out.lastHiddenState; // (B, S, hidden)
    const S = hidden.shape[1];
    if (logitsToKeep > 0 && logitsToKeep < S) {
      hidden = hidden.narrow(1, S - logitsToKeep, logitsToKeep);
    }
    const logits = this.lm_head.call(hidden); // (B, S, vocab)
    const result: LMOutput = { logits, pastKeyValues: out.pastKeyValues };
    if (labels) result.loss = causalLmLoss(logits, labels, { numItemsInBatch });
    if (out.hiddenStates) result.hiddenStates = out.hiddenStates;
    if (out.attentions) result.attentions = out.attentions;
    return result;
  }

  /**
   * Extends prompts token by token on a key/value cache (see `generate` in `../generate.ts`):
   * greedy by default, sampled with `doSample` (reproducible with `manualSeed`). `eosTokenId`
   * and `padTokenId` default to the config's ids (pass `eosTokenId: []` to never stop early).
   * The model's training mode is left as it is; call `eval()` first to disable dropout.
   *
   * @param inputIds int32 prompt ids `[B, S]`.
   * @param options Generation options.
   * @returns `[B, S + generated]` int32 ids on the CPU.
   */
  generate(inputIds: Tensor, options: GenerateOptions = {}): Promise<Tensor> {
    const { eos_token_id: eos, pad_token_id: pad } = this.config;
    return generateTokens(
      { call: (ids, o) => (this as LlamaForCausalLM).call(ids, o) },
      inputIds,
      { eosTokenId: eos ?? undefined, padTokenId: pad ?? undefined, ...options },
    );
  }
}
