/**
 * `PoolerStartLogits`: span-start scores for the SQuAD head (Hugging Face v4.34
 * `modeling_utils.py`).
 *
 * @module
 */

import {
  type LayerOptions,
  Linear,
  Module,
  type PretrainedConfig,
  type Tensor,
} from "@denoformers/core";
import { applyPMask, configInt } from "./_common.ts";

/**
 * Computes span-start logits: `dense = Linear(hidden_size → 1)` on every position, squeezed to
 * `[B, S]`, then `x·(1 − p_mask) − C·p_mask` where `p_mask` is given (1.0 marks positions that
 * must not be chosen; C = 65500 for float16 parameters, else 1e30).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PretrainedConfig, tensor } from "@denoformers/core";
 * import { PoolerStartLogits } from "@denoformers/heads";
 *
 * const pooler = new PoolerStartLogits(new PretrainedConfig({ hidden_size: 2 }), { backend: "cpu" });
 * pooler.dense.weight.assign(tensor([[1, 0]], { backend: "cpu" }));
 * pooler.dense.bias!.assign(tensor([0], { backend: "cpu" }));
 * const hidden = tensor([[[3, 9], [4, 9], [5, 9]]], { backend: "cpu" });
 * const pMask = tensor([[0, 0, 1]], { backend: "cpu" });
 * assertEquals(await pooler.call(hidden, pMask).toArray(), [[3, 4, Math.fround(-1e30)]]);
 * ```
 */
export class PoolerStartLogits extends Module {
  /** `Linear(hidden_size → 1)`. */
  dense: Linear;

  /**
   * Creates the layer.
   *
   * @param config The config (`hidden_size`).
   * @param options backend and dtype of the parameters.
   * @throws {TypeError} When `config.hidden_size` is not a positive integer.
   */
  constructor(config: PretrainedConfig, options: LayerOptions = {}) {
    super();
    this.dense = new Linear(configInt(config, "hidden_size", "PoolerStartLogits"), 1, options);
  }

  /**
   * Scores each position.
   *
   * @param hiddenStates `[B, S, hidden_size]`.
   * @param pMask float `[B, S]`, 1.0 where a position is masked. @default {undefined}
   * @returns Start logits `[B, S]`.
   */
  forward(hiddenStates: Tensor, pMask?: Tensor | null): Tensor {
    const x = this.dense.call(hiddenStates).squeeze(-1);
    return applyPMask(x, pMask, this.dense.weight.dtype);
  }
}
