/**
 * GPT-2 (Radford et al. 2019, "Language Models are Unsupervised Multitask Learners"), with the
 * behaviour of Hugging Face's `modeling_gpt2.py`: pre-norm blocks of fused-qkv attention and a
 * GELU MLP built from `Conv1D` (weights stored `[in, out]`), learned positions, a final layer
 * norm, and an LM head tied to the token embeddings. Weight names equal Hugging Face's, so
 * `transformer.h.0.attn.c_attn.weight` loads name for name.
 *
 * References: transformers `src/transformers/models/gpt2/modeling_gpt2.py`; OpenAI `gpt-2`
 * `src/model.py`; hf-behaviour.md §3.5 (head pruning), §5.5 (masks), §8.2 (the loss).
 *
 * @module
 */

import {
  type Activation,
  arange,
  type BackendName,
  causalLmLoss,
  Dropout,
  Embedding,
  fill_,
  getActivation,
  initWeights,
  LayerNorm,
  Linear,
  type LoadingInfo,
  Module,
  normal_,
  PreTrainedModel,
  type Tensor,
  tensor,
} from "@denoformers/core";
import {
  ALL_ATTENTION_FUNCTIONS,
  Conv1D,
  createCausalMask,
  eagerAttentionForward,
  findPruneableHeadsAndIndices,
  pruneConv1dLayer,
} from "@denoformers/utils";
import {
  applyConfigGradientCheckpointing,
  GradientCheckpointingLayer,
} from "@denoformers/checkpoint";
import { DynamicCache } from "../cache.ts";
import { generate, type GenerateOptions } from "../generate.ts";
import type { BaseModelOptions, BaseModelOutput, LMOptions, LMOutput } from "../outputs.ts";
import type { GPT2Config } from "./config.ts";
import type {
  GPT2AttentionOptions,
  GPT2AttentionOutput,
  GPT2BlockOptions,
  GPT2BlockOutput,
} from "./types.ts";

// Non-persistent causal-mask buffers that old PyTorch GPT-2 files still carry (Hugging Face lists
// them in `_keys_to_ignore_on_load_unexpected`): dropped before loading, so never "unexpected".
const LEGACY_BUFFER = /(^|\.)h\.\d+\.(attn|crossattention)\.(masked_)?bias$/;

function withoutLegacyBuffers(stateDict: Record<string, Tensor>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(stateDict).filter(([k]) => !LEGACY_BUFFER.test(k)));
}

/** Integer inputs given on the CPU are copied to the model's backend (a synchronous read). */
function onBackend<T extends Tensor | null | undefined>(t: T, backend: BackendName): T {
  if (!t || t.backend === backend || t.backend !== "cpu") return t;
  return tensor(t.dataSync(), { shape: t.shape, backend }) as T;
}

let warnedCacheOff = false;

/**
 * Multi-head causal self-attention with fused `c_attn` (`[E, 3E]`: queries, keys, values) and
 * `c_proj`. Scores are scaled by `head_dim ** -0.5` when `scale_attn_weights`, and further by
 * `1 / (layerIdx + 1)` when `scale_attn_by_inverse_layer_idx`; the scaling goes to whichever
 * function `config._attn_implementation` names (Hugging Face's sdpa path ignores
 * `scale_attn_weights`; here every implementation honours it). With `reorder_and_upcast_attn`,
 * eager attention of a float16 model runs in float32.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { GPT2Attention, GPT2Config } from "./mod.ts";
 *
 * const config = new GPT2Config({ n_embd: 8, n_head: 4, attn_implementation: "sdpa" });
 * const attn = new GPT2Attention(config, 0);
 * assertEquals(attn.c_attn.weight.shape, [8, 24]);
 * attn.pruneHeads([0, 2]);
 * assertEquals([attn.numHeads, attn.c_attn.weight.shape, attn.c_proj.weight.shape], [2, [8, 12], [4, 8]]);
 * assertEquals(attn.call(zeros([1, 3, 8]), {}).output.shape, [1, 3, 8]);
 * ```
 */
export class GPT2Attention extends Module {
  /** Fused query/key/value projection, weight `[E, 3 · heads · D]`. */
  c_attn: Conv1D;
  /** Output projection, weight `[heads · D, E]`. */
  c_proj: Conv1D;
  /** Holds `attn_pdrop`, the dropout on the attention probabilities. */
  attn_dropout: Dropout;
  /** Dropout on the output. */
  resid_dropout: Dropout;
  /** The configuration (read at call time: the implementation may change). */
  readonly config: GPT2Config;
  /** Index of the block, for the cache and the inverse-layer scaling. */
  readonly layerIdx: number;
  /** Size of each head. */
  readonly headDim: number;
  /** Heads left after pruning. */
  numHeads: number;
  /** Width of each of the query, key and value parts of `c_attn` (`numHeads · headDim`). */
  splitSize: number;
  /** Original ids of the heads pruned so far. */
  readonly prunedHeads: Set<number> = new Set();
  /** Self-attention is causal (read by the sdpa implementation when no mask is given). */
  readonly isCausal = true;

  /**
   * Creates the layer.
   * @param config The configuration.
   * @param layerIdx Index of the block. @default {0}
   * @throws {RangeError} When `n_embd` is not divisible by `n_head`.
   */
  constructor(config: GPT2Config, layerIdx = 0) {
    super();
    const E = config.n_embd;
    if (E % config.n_head !== 0) {
      throw new RangeError(
        `Cannot create GPT2Attention: n_embd ${E} is not divisible by n_head ${config.n_head}`,
      );
    }
    this.c_attn = new Conv1D(3 * E, E);
    this.c_proj = new Conv1D(E, E);
    this.attn_dropout = new Dropout(config.attn_pdrop);
    this.resid_dropout = new Dropout(config.resid_pdrop);
    this.config = config;
    this.layerIdx = layerIdx;
    this.headDim = E / config.n_head;
    this.numHeads = config.n_head;
    this.splitSize = E;
  }

  /**
   * Attends from every position to the cached and current positions the mask allows.
   *
   * @param hidden `[B, Q, E]`.
   * @param options Mask, cache and whether to return the probabilities.
   * @returns The output `[B, Q, E]` and the probabilities (or `null`).
   */
  forward(hidden: Tensor, options: GPT2AttentionOptions = {}): GPT2AttentionOutput {
    const { config, headDim: D, numHeads: H, splitSize } = this;
    const [B, Q] = hidden.shape;
    const toHeads = (t: Tensor) => t.reshape([B, Q, H, D]).transpose(1, 2); // (B, H, Q, D)
    const [query, k, v] = this.c_attn.call(hidden) // (B, Q, 3·H·D)
      .split([splitSize, splitSize, splitSize], 2)
      .map(toHeads);
    const cached = options.pastKeyValues?.update(k, v, this.layerIdx);
    const [key, value] = cached ? [cached.keys, cached.values] : [k, v]; // (B, H, K, D)
    const impl = config._attn_implementation;
    const attend = ALL_ATTENTION_FUNCTIONS.getInterface(impl, eagerAttentionForward);
    let scaling = config.scale_attn_weights ? D ** -0.5 : 1;
    if (config.scale_attn_by_inverse_layer_idx) scaling /= this.layerIdx + 1;
    const mask = options.attentionMask ?? null;
    const upcast = config.reorder_and_upcast_attn && impl === "eager" &&
      query.dtype === "float16";
    const f = (t: Tensor) => (upcast ? t.cast("float32") : t);
    const { output, weights } = attend(this, f(query), f(key), f(value), mask && f(mask), {
      dropout: this.training ? this.attn_dropout.p : 0,
      scaling,
      isCausal: mask === null && Q > 1,
      outputAttentions: options.outputAttentions ?? false,
    });
    const merged = output.reshape([B, Q, H * D]).cast(query.dtype); // (B, Q, H·D)
    return {
      output: this.resid_dropout.call(this.c_proj.call(merged)),
      weights: weights && weights.cast(query.dtype),
    };
  }

  /**
   * Removes heads (original ids; ids pruned before are skipped) as Hugging Face's
   * `GPT2Attention.prune_heads` does: `c_attn` keeps the same columns of each of its query, key
   * and value parts, `c_proj` the matching rows; the head count and split size shrink.
   *
   * @param heads Original ids of the heads to remove.
   * @throws {RangeError} When a head id does not exist.
   */
  pruneHeads(heads: Iterable<number>): void {
    const { numHeads: H, headDim: D, prunedHeads } = this;
    const { heads: removed, index } = findPruneableHeadsAndIndices(heads, H, D, prunedHeads);
    if (removed.size === 0) return;
    // The same columns of each of the query, key and value parts of c_attn.
    const indexAttn = [0, 1, 2].flatMap((part) => index.map((i) => i + part * this.splitSize));
    const [oldAttn, oldProj] = [this.c_attn, this.c_proj];
    this.c_attn = pruneConv1dLayer(oldAttn, indexAttn, { dim: 1 });
    this.c_proj = pruneConv1dLayer(oldProj, index, { dim: 0 });
    for (const t of [oldAttn.weight, oldAttn.bias, oldProj.weight, oldProj.bias]) t.dispose();
    this.numHeads = H - removed.size;
    this.splitSize = this.numHeads * D;
    for (const h of removed) prunedHeads.add(h);
  }
}

/**
 * The feed-forward part of a block: `c_fc` → activation → `c_proj` → dropout.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { GPT2Config, GPT2MLP } from "./mod.ts";
 *
 * const mlp = new GPT2MLP(32, new GPT2Config({ n_embd: 8, n_head: 2 }));
 * assertEquals([mlp.c_fc.weight.shape, mlp.c_proj.weight.shape], [[8, 32], [32, 8]]);
 * assertEquals(mlp.call(zeros([1, 2, 8])).shape, [1, 2, 8]);
 * ```
 */
export class GPT2MLP extends Module {
  /** `[E, intermediate]`. */
  c_fc: Conv1D;
  /** `[intermediate, E]`. */
  c_proj: Conv1D;
  /** `config.activation_function`. */
  readonly act: Activation;
  /** Dropout with `resid_pdrop`. */
  dropout: Dropout;

  /**
   * Creates the layer.
   * @param intermediateSize Width of the hidden layer.
   * @param config The configuration.
   * @throws {RangeError} When the activation is unknown.
   */
  constructor(intermediateSize: number, config: GPT2Config) {
    super();
    this.c_fc = new Conv1D(intermediateSize, config.n_embd);
    this.c_proj = new Conv1D(config.n_embd, intermediateSize);
    this.act = getActivation(config.activation_function);
    this.dropout = new Dropout(config.resid_pdrop);
  }

  /**
   * Applies the MLP.
   *
   * @param x `[..., E]`.
   * @returns `[..., E]`.
   */
  forward(x: Tensor): Tensor {
    return this.dropout.call(this.c_proj.call(this.act(this.c_fc.call(x))));
  }
}

/**
 * One pre-norm block: `x + attn(ln_1(x))`, then `h + mlp(ln_2(h))`. A
 * `GradientCheckpointingLayer`: with checkpointing on and in training mode it is recomputed in
 * backward and its cache options are dropped. Cross-attention (`add_cross_attention`) is not
 * supported.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { DynamicCache } from "../cache.ts";
 * import { GPT2Block, GPT2Config } from "./mod.ts";
 *
 * const block = new GPT2Block(new GPT2Config({ n_embd: 8, n_head: 2, attn_implementation: "sdpa" }), 0);
 * const cache = new DynamicCache();
 * const out = block.call(zeros([1, 3, 8]), { pastKeyValues: cache, useCache: true });
 * assertEquals([out.hiddenStates.shape, cache.getSeqLength()], [[1, 3, 8], 3]);
 * cache.dispose();
 * ```
 */
export class GPT2Block extends GradientCheckpointingLayer {
  /** Norm before attention. */
  ln_1: LayerNorm;
  /** Self-attention. */
  attn: GPT2Attention;
  /** Norm before the MLP. */
  ln_2: LayerNorm;
  /** Feed-forward layer (`n_inner`, default 4 · `n_embd`, wide). */
  mlp: GPT2MLP;

  /**
   * Creates the block.
   * @param config The configuration.
   * @param layerIdx Index of the block. @default {0}
   * @throws {RangeError} When `config.add_cross_attention` is set.
   */
  constructor(config: GPT2Config, layerIdx = 0) {
    super();
    if (config.add_cross_attention) {
      throw new RangeError("Cannot create GPT2Block: add_cross_attention is not supported");
    }
    const E = config.n_embd;
    this.ln_1 = new LayerNorm(E, { eps: config.layer_norm_epsilon });
    this.attn = new GPT2Attention(config, layerIdx);
    this.ln_2 = new LayerNorm(E, { eps: config.layer_norm_epsilon });
    this.mlp = new GPT2MLP(config.n_inner ?? 4 * E, config);
  }

  /**
   * Runs the block.
   *
   * @param hidden `[B, Q, E]`.
   * @param options Mask, cache (`pastKeyValues`, or its old name `layerPast`), attentions flag.
   * @returns The new hidden states and the attention probabilities (or `null`).
   */
  forward(hidden: Tensor, options: GPT2BlockOptions = {}): GPT2BlockOutput {
    const attn = this.attn.call(this.ln_1.call(hidden), {
      attentionMask: options.attentionMask,
      pastKeyValues: options.pastKeyValues ?? options.layerPast ?? null,
      outputAttentions: options.outputAttentions,
    });
    const h = attn.output.add(hidden); // residual
    return { hiddenStates: h.add(this.mlp.call(this.ln_2.call(h))), attentions: attn.weights };
  }
}

/**
 * Hugging Face's GPT-2 initialisation: Linear, Conv1D and Embedding weights ~ N(0,
 * `initializer_range`), biases 0, layer norms 1 and 0; then every `c_proj` weight (attention and
 * MLP) ~ N(0, `initializer_range / sqrt(2 · n_layer)`), the GPT-2 paper's residual scaling.
 */
function initGPT2Weights(root: Module, config: GPT2Config): void {
  const std = config.initializer_range;
  initWeights(root, std);
  root.apply((m) => {
    if (m instanceof Conv1D) {
      normal_(m.weight, { std });
      fill_(m.bias, 0);
    } else if (m instanceof GPT2Attention || m instanceof GPT2MLP) {
      normal_(m.c_proj.weight, { std: std / Math.sqrt(2 * config.n_layer) });
    }
  });
}

/**
 * The GPT-2 transformer: token (`wte`) and position (`wpe`) embeddings, dropout, `n_layer`
 * blocks and a final norm. Positions default to the cached length + `0..S-1`; the causal mask
 * (with padding from `attentionMask`) is built once per call by `createCausalMask`; a
 * `DynamicCache` is created when `useCache` (default: `config.use_cache` in evaluation mode, false
 * while training) and none is given.
 * Heads listed in `config.pruned_heads` are pruned at construction, so pruned checkpoints reload.
 * A null `config._attn_implementation` becomes `"sdpa"`, as Hugging Face resolves it. Integer
 * inputs and the mask may stay on the CPU for a model on WebGPU: they are copied over, and a CPU
 * mask lets the mask builder skip masks exactly (it reads it on the host).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { GPT2Config, GPT2Model } from "./mod.ts";
 *
 * const config = new GPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 2, n_head: 2 });
 * const model = new GPT2Model(config).eval();
 * const ids = tensor([[1, 2, 3]], { dtype: "int32" });
 * const out = model.call(ids, { useCache: false, outputHiddenStates: true });
 * assertEquals([out.lastHiddenState.shape, out.hiddenStates!.length], [[1, 3, 8], 3]);
 * model.pruneHeads({ 0: [1] });
 * assertEquals([model.h[0].attn.numHeads, config.pruned_heads], [1, { 0: [1] }]);
 * ```
 */
export class GPT2Model extends PreTrainedModel {
  /** Hugging Face's `base_model_prefix`. */
  readonly baseModelPrefix = "transformer";
  /** GPT-2 supports gradient checkpointing (its blocks are checkpointing layers). */
  readonly supportsGradientCheckpointing = true;
  /** The configuration. */
  declare config: GPT2Config;
  /** Token embeddings `[vocab_size, E]`. */
  wte: Embedding;
  /** Position embeddings `[n_positions, E]`. */
  wpe: Embedding;
  /** Dropout on the embeddings. */
  drop: Dropout;
  /** The blocks. */
  h: GPT2Block[];
  /** Final norm. */
  ln_f: LayerNorm;

  /**
   * Creates and initialises the model.
   * @param config The configuration.
   */
  constructor(config: GPT2Config) {
    super(config);
    config._attn_implementation ??= "sdpa";
    const E = config.n_embd;
    this.wte = new Embedding(config.vocab_size, E);
    this.wpe = new Embedding(config.n_positions, E);
    this.drop = new Dropout(config.embd_pdrop);
    this.h = Array.from({ length: config.n_layer }, (_, i) => new GPT2Block(config, i));
    this.ln_f = new LayerNorm(E, { eps: config.layer_norm_epsilon });
    this.postInit();
  }

  /** Prunes `config.pruned_heads`, initialises weights, applies `config.gradient_checkpointing`. */
  override postInit(): void {
    // Re-recorded through pruneHeads, so negative layer keys become layer indices.
    const pending = this.config.pruned_heads;
    this.config.pruned_heads = {};
    this.pruneHeads(pending);
    initGPT2Weights(this, this.config);
    this.tieWeights();
    applyConfigGradientCheckpointing(this);
  }

  /** The token embeddings, `wte` (checkpointing hooks their output). */
  getInputEmbeddings(): Embedding {
    return this.wte;
  }

  /**
   * Removes attention heads per layer (negative layers count from the end) and records them in
   * `config.pruned_heads`, merged with earlier prunes (under non-negative layer indices).
   * Pruning heads already pruned changes nothing.
   *
   * @param headsToPrune Original head ids by layer.
   * @throws {RangeError} When a layer or head does not exist.
   */
  pruneHeads(headsToPrune: Readonly<Record<number, readonly number[]>>): void {
    const L = this.h.length;
    for (const [key, heads] of Object.entries(headsToPrune)) {
      const layer = Number(key) < 0 ? Number(key) + L : Number(key);
      if (!Number.isInteger(layer) || layer < 0 || layer >= L) {
        throw new RangeError(`Cannot prune heads of layer ${key}: the model has ${L} layers`);
      }
      this.h[layer].attn.pruneHeads(heads);
      const merged = new Set([...(this.config.pruned_heads[layer] ?? []), ...heads]);
      this.config.pruned_heads[layer] = [...merged].sort((a, b) => a - b);
    }
  }

  /**
   * Loads weights with the prefix rules of `PreTrainedModel`, ignoring the legacy
   * `h.*.attn.bias` / `h.*.attn.masked_bias` buffers of old GPT-2 files.
   *
   * @param stateDict Tensors by checkpoint name.
   * @returns Missing and unexpected keys.
   */
  override loadStateDictWithPrefix(stateDict: Record<string, Tensor>): LoadingInfo {
    return super.loadStateDictWithPrefix(withoutLegacyBuffers(stateDict));
  }

  /**
   * Runs the transformer.
   *
   * @param inputIds int32 ids `[B, S]` (or `null` with `inputsEmbeds`).
   * @param options Mask, positions, token types, cache and output flags.
   * @returns The last hidden state `[B, S, E]`, the cache when `useCache`, and hidden states and
   * attentions when asked (attentions only when the implementation returns them).
   * @throws {TypeError} When both or neither of `inputIds` and `inputsEmbeds` are given.
   */
  forward(inputIds: Tensor | null, options: BaseModelOptions = {}): BaseModelOutput {
    const { config } = this;
    const backend = this.wte.weight.backend;
    inputIds = onBackend(inputIds, backend);
    const given = options.inputsEmbeds ?? null;
    if ((inputIds === null) === (given === null)) {
      throw new TypeError(
        "Cannot run GPT2Model: pass exactly one of inputIds and options.inputsEmbeds",
      );
    }
    const inputShape = inputIds ? inputIds.shape : given!.shape.slice(0, -1);
    const S = inputShape[inputShape.length - 1];
    const E = config.n_embd;
    // (B, S, E)
    const embeds = given?.reshape([-1, S, E]) ?? this.wte.call(inputIds!.reshape([-1, S]));
    // Only in evaluation mode by default: cached tensors outlive `tidy`, so a cache created on
    // every training step would accumulate (the same policy as Llama).
    let useCache = options.useCache ?? (config.use_cache && !this.training);
    if (useCache && this.training && this.h.some((b) => b.gradientCheckpointing)) {
      if (options.useCache && !warnedCacheOff) {
        warnedCacheOff = true;
        console.warn(
          "`use_cache=True` is incompatible with gradient checkpointing. Setting `use_cache=False`.",
        );
      }
      useCache = false;
    }
    const cache = options.pastKeyValues ?? (useCache ? new DynamicCache() : null);
    const past = cache?.getSeqLength() ?? 0;
    // Default positions continue after the cached ones; they never signal packed sequences, so
    // only caller-given positions reach the mask builder (it reads them on the host).
    const positions = onBackend(options.positionIds, backend)?.reshape([-1, S]) ??
      arange(past, past + S, 1, { dtype: "int32", backend: embeds.backend }).unsqueeze(0);
    let hidden = embeds.add(this.wpe.call(positions)); // (B, S, E)
    const given2d = options.attentionMask;
    const mask = createCausalMask({
      config,
      inputsEmbeds: embeds,
      attentionMask: given2d && given2d.ndim < 4 ? given2d.reshape([embeds.shape[0], -1]) : given2d,
      pastKeyValues: cache,
      positionIds: options.positionIds ?? null,
    });
    if (options.tokenTypeIds) {
      hidden = hidden.add(this.wte.call(onBackend(options.tokenTypeIds, backend).reshape([-1, S])));
    }
    hidden = this.drop.call(hidden);
    const outputHidden = options.outputHiddenStates ?? config.output_hidden_states;
    const outputAttentions = options.outputAttentions ?? config.output_attentions;
    const hiddenStates: Tensor[] = [];
    const attentions: (Tensor | null)[] = [];
    for (const block of this.h) {
      if (outputHidden) hiddenStates.push(hidden);
      const out = block.call(hidden, {
        attentionMask: mask,
        pastKeyValues: cache,
        useCache,
        outputAttentions,
      });
      hidden = out.hiddenStates;
      if (outputAttentions) attentions.push(out.attentions);
    }
    hidden = this.ln_f.call(hidden).reshape([-1, ...inputShape.slice(1), E]);
    if (outputHidden) hiddenStates.push(hidden);
    return {
      lastHiddenState: hidden,
      pastKeyValues: useCache ? cache : null,
      hiddenStates: outputHidden ? hiddenStates : undefined,
      attentions: outputAttentions && attentions.every((a) => a !== null)
        ? attentions as Tensor[]
        : undefined,
    };
  }
}

/**
 * GPT-2 with a language-model head: `lm_head` (no bias) on the transformer's output, its weight
 * tied to `transformer.wte.weight` when `config.tie_word_embeddings` (the default; the tied
 * tensor is saved once, as `transformer.wte.weight`). With `labels` the loss is Hugging Face's
 * causal LM loss (labels shifted left, -100 ignored).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { GPT2Config, GPT2LMHeadModel } from "./mod.ts";
 *
 * const config = new GPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 });
 * const lm = new GPT2LMHeadModel(config).eval();
 * const ids = tensor([[1, 2, 3]], { dtype: "int32" });
 * const out = lm.call(ids, { labels: ids, useCache: false });
 * assertEquals([out.logits.shape, out.loss!.shape], [[1, 3, 16], []]);
 * assertEquals(lm.lm_head.weight, lm.transformer.wte.weight);
 * assertEquals((await lm.generate(ids, { maxNewTokens: 2 })).shape, [1, 5]);
 * ```
 */
export class GPT2LMHeadModel extends PreTrainedModel {
  /** Hugging Face's `base_model_prefix`. */
  readonly baseModelPrefix = "transformer";
  /** GPT-2 supports gradient checkpointing. */
  readonly supportsGradientCheckpointing = true;
  /** The configuration. */
  declare config: GPT2Config;
  /** The transformer. */
  transformer: GPT2Model;
  /** `[vocab_size, E]` projection to logits. */
  lm_head: Linear;

  /**
   * Creates the model: the transformer initialises itself, then the head is initialised or tied.
   * @param config The configuration.
   */
  constructor(config: GPT2Config) {
    super(config);
    this.transformer = new GPT2Model(config);
    this.lm_head = new Linear(config.n_embd, config.vocab_size, { bias: false });
    this.postInit();
  }

  /** Initialises an untied head, ties the head, applies `config.gradient_checkpointing`. */
  override postInit(): void {
    if (!this.config.tie_word_embeddings) {
      normal_(this.lm_head.weight, { std: this.config.initializer_range });
    }
    this.tieWeights();
    applyConfigGradientCheckpointing(this);
  }

  /** Makes `lm_head.weight` the token embedding tensor when `config.tie_word_embeddings`. */
  override tieWeights(): void {
    const wte = this.transformer.wte.weight;
    if (!this.config.tie_word_embeddings || this.lm_head.weight === wte) return;
    this.lm_head.weight.dispose();
    this.lm_head.weight = wte;
  }

  /** The token embeddings, `transformer.wte`. */
  getInputEmbeddings(): Embedding {
    return this.transformer.wte;
  }

  /** Prunes heads of the transformer, as {@linkcode GPT2Model.pruneHeads} does. */
  pruneHeads(headsToPrune: Readonly<Record<number, readonly number[]>>): void {
    this.transformer.pruneHeads(headsToPrune);
  }

  /** Loads weights, skipping legacy buffers (see {@linkcode GPT2Model.loadStateDictWithPrefix}). */
  override loadStateDictWithPrefix(stateDict: Record<string, Tensor>): LoadingInfo {
    return super.loadStateDictWithPrefix(withoutLegacyBuffers(stateDict));
  }

  /**
   * Runs the transformer and the head.
   *
   * @param inputIds int32 ids `[B, S]` (or `null` with `inputsEmbeds`).
   * @param options The transformer's options plus `labels` and `numItemsInBatch`.
   * @returns Logits `[B, S, V]`, the loss when `labels` are given, and the transformer's extras.
   */
  forward(inputIds: Tensor | null, options: LMOptions = {}): LMOutput {
    const { labels, numItemsInBatch, ...rest } = options;
    const out = this.transformer.call(inputIds, rest);
    const logits = this.lm_head.call(out.lastHiddenState); // (B, S, V)
    return {
      loss: labels
        ? causalLmLoss(logits, onBackend(labels, logits.backend), { numItemsInBatch })
        : undefined,
      logits,
      pastKeyValues: out.pastKeyValues,
      hiddenStates: out.hiddenStates,
      attentions: out.attentions,
    };
  }

  /**
   * Generates with `../generate.ts` (greedy unless `doSample`). `eosTokenId` and `padTokenId`
   * default to the config's. Call `eval()` first unless dropout is wanted.
   *
   * @param inputIds The prompt, int32 `[B, S]`.
   * @param options Generation options.
   * @returns `[B, S + generated]` int32 ids on the CPU.
   */
  generate(inputIds: Tensor, options: GenerateOptions = {}): Promise<Tensor> {
    const { eos_token_id: eos, pad_token_id: pad } = this.config;
    const lm = this as GPT2LMHeadModel;
    const model = { call: (ids: Tensor | null, o: LMOptions) => lm.call(ids, o) };
    return generate(model, inputIds, {
      ...options,
      eosTokenId: options.eosTokenId ?? eos ?? undefined,
      padTokenId: options.padTokenId ?? pad ?? undefined,
    });
  }
}
