/**
 * `PoolerEndLogits`: span-end scores conditioned on the span start, for the SQuAD head (Hugging
 * Face v4.34 `modeling_utils.py`).
 *
 * @module
 */

import {
  cat,
  LayerNorm,
  type LayerOptions,
  Linear,
  Module,
  type PretrainedConfig,
  type Tensor,
} from "@denoformers/core";
import { applyPMask, configInt, configOr } from "./_common.ts";

/** Options of {@linkcode PoolerEndLogits.forward}. */
export interface PoolerEndLogitsOptions {
  /** Hidden state of the span start at every position, shaped like `hiddenStates`. @default {undefined} */
  startStates?: Tensor | null;
  /** int32 span starts `[B]`; when given they win over `startStates`. @default {undefined} */
  startPositions?: Tensor | null;
  /** float mask shaped like the logits, 1.0 where a position is masked. @default {undefined} */
  pMask?: Tensor | null;
}

/** The hidden state at each row's start position, broadcast over all positions → `[B, S, h]`. */
function gatherStartStates(hiddenStates: Tensor, positions: Tensor): Tensor {
  const [batch, seq, hidden] = hiddenStates.shape;
  const index = positions.reshape([batch, 1, 1]).expand([batch, 1, hidden]);
  return hiddenStates.gather(-2, index).expand([batch, seq, hidden]);
}

/**
 * Computes span-end logits from each position's hidden state and the span start's:
 * `dense_1(LayerNorm(tanh(dense_0([hidden ; start]))))` squeezed, then the `p_mask` formula.
 * `dense_0 = Linear(2·hidden_size → hidden_size)`, `LayerNorm(hidden_size, eps=layer_norm_eps)`,
 * `dense_1 = Linear(hidden_size → 1)`. The start comes from `startPositions` (gathered and
 * broadcast) or from `startStates`; any leading shape works with `startStates` (the SQuAD head
 * uses `[B, S, k, h]` at inference).
 *
 * @example Usage
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { PretrainedConfig, randn, tensor } from "@denoformers/core";
 * import { PoolerEndLogits } from "@denoformers/heads";
 *
 * const pooler = new PoolerEndLogits(new PretrainedConfig({ hidden_size: 4 }), { backend: "cpu" });
 * const hidden = randn([2, 5, 4], { backend: "cpu" });
 * const startPositions = tensor([1, 3], { dtype: "int32", backend: "cpu" });
 * assertEquals(pooler.call(hidden, { startPositions }).shape, [2, 5]);
 * assertThrows(() => pooler.call(hidden), TypeError, "startStates");
 * ```
 */
export class PoolerEndLogits extends Module {
  /** `Linear(2·hidden_size → hidden_size)`. */
  dense_0: Linear;
  /** `LayerNorm(hidden_size)`. */
  LayerNorm: LayerNorm;
  /** `Linear(hidden_size → 1)`. */
  dense_1: Linear;

  /**
   * Creates the layers.
   *
   * @param config The config (`hidden_size`; `layer_norm_eps`, default 1e-12).
   * @param options backend and dtype of the parameters.
   * @throws {TypeError} When `config.hidden_size` is not a positive integer.
   */
  constructor(config: PretrainedConfig, options: LayerOptions = {}) {
    super();
    const hidden = configInt(config, "hidden_size", "PoolerEndLogits");
    this.dense_0 = new Linear(2 * hidden, hidden, options);
    const eps = configOr(config, "layer_norm_eps", 1e-12);
    this.LayerNorm = new LayerNorm(hidden, { ...options, eps });
    this.dense_1 = new Linear(hidden, 1, options);
  }

  /**
   * Scores each position as a span end.
   *
   * @param hiddenStates `[B, S, h]` (or `[..., h]` with `startStates`).
   * @param options startStates, startPositions and pMask (one of the first two is required).
   * @returns End logits shaped like `hiddenStates` without its last dimension.
   * @throws {TypeError} When neither startStates nor startPositions is given.
   */
  forward(hiddenStates: Tensor, options: PoolerEndLogitsOptions = {}): Tensor {
    const { startPositions, pMask } = options;
    if (!options.startStates && !startPositions) {
      throw new TypeError(
        "Cannot compute PoolerEndLogits: one of startStates, startPositions should be given",
      );
    }
    const startStates = startPositions
      ? gatherStartStates(hiddenStates, startPositions)
      : options.startStates!;
    let x = this.dense_0.call(cat([hiddenStates, startStates], -1)).tanh();
    x = this.dense_1.call(this.LayerNorm.call(x)).squeeze(-1);
    return applyPMask(x, pMask, this.dense_0.weight.dtype);
  }
}
