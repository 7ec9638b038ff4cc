/**
 * Options and outputs of the GPT-2 layers.
 *
 * @module
 */

import type { Tensor } from "@denoformers/core";
import type { DynamicCache } from "../cache.ts";

/**
 * Options of `GPT2Attention` (and, extended, of `GPT2Block`).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { GPT2Attention, type GPT2AttentionOptions, GPT2Config } from "./mod.ts";
 *
 * const attn = new GPT2Attention(new GPT2Config({ n_embd: 4, n_head: 2, attn_implementation: "eager" }));
 * const options: GPT2AttentionOptions = { attentionMask: null, outputAttentions: true };
 * assertEquals(attn.call(zeros([1, 2, 4]), options).weights!.shape, [1, 2, 2, 2]);
 * ```
 */
export interface GPT2AttentionOptions {
  /** The mask `createCausalMask` built for `config._attn_implementation`, or `null`. */
  attentionMask?: Tensor | null;
  /** A cache to extend with this layer's keys and values (used whenever given). */
  pastKeyValues?: DynamicCache | null;
  /** Return the attention probabilities (implementations that cannot give them return `null`). */
  outputAttentions?: boolean;
}

/**
 * Options of `GPT2Block`: the attention options plus Hugging Face's cache flags.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { DynamicCache } from "../cache.ts";
 * import { GPT2Block, type GPT2BlockOptions, GPT2Config } from "./mod.ts";
 *
 * const block = new GPT2Block(new GPT2Config({ n_embd: 4, n_head: 2, attn_implementation: "sdpa" }));
 * const cache = new DynamicCache();
 * const options: GPT2BlockOptions = { layerPast: cache, useCache: true };
 * block.call(zeros([1, 2, 4]), options);
 * assertEquals(cache.getSeqLength(), 2);
 * cache.dispose();
 * ```
 */
export interface GPT2BlockOptions extends GPT2AttentionOptions {
  /** Hugging Face passes it to every block; gradient checkpointing turns it off. */
  useCache?: boolean;
  /** The older GPT-2 name of `pastKeyValues`, used when `pastKeyValues` is not given. */
  layerPast?: DynamicCache | null;
}

/**
 * What `GPT2Attention` returns.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { GPT2Attention, type GPT2AttentionOutput, GPT2Config } from "./mod.ts";
 *
 * const attn = new GPT2Attention(new GPT2Config({ n_embd: 4, n_head: 2, attn_implementation: "sdpa" }));
 * const out: GPT2AttentionOutput = attn.call(zeros([1, 3, 4]), {});
 * assertEquals([out.output.shape, out.weights], [[1, 3, 4], null]);
 * ```
 */
export interface GPT2AttentionOutput {
  /** `[B, Q, n_embd]`, after `c_proj` and the residual dropout. */
  output: Tensor;
  /** `[B, heads, Q, K]` when asked for and available, else `null`. */
  weights: Tensor | null;
}

/**
 * What `GPT2Block` returns.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { GPT2Block, type GPT2BlockOutput, GPT2Config } from "./mod.ts";
 *
 * const block = new GPT2Block(new GPT2Config({ n_embd: 4, n_head: 2, attn_implementation: "eager" }));
 * const out: GPT2BlockOutput = block.call(zeros([1, 3, 4]), { outputAttentions: true });
 * assertEquals([out.hiddenStates.shape, out.attentions!.shape], [[1, 3, 4], [1, 2, 3, 3]]);
 * ```
 */
export interface GPT2BlockOutput {
  /** `[B, Q, n_embd]`. */
  hiddenStates: Tensor;
  /** The attention probabilities `[B, heads, Q, K]` when asked for and available, else `null`. */
  attentions: Tensor | null;
}
