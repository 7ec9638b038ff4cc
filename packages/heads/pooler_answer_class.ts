/**
 * `PoolerAnswerClass`: the answerability score of the SQuAD head (Hugging Face v4.34
 * `modeling_utils.py`).
 *
 * @module
 */

import {
  cat,
  type LayerOptions,
  Linear,
  Module,
  type PretrainedConfig,
  type Tensor,
} from "@denoformers/core";
import { configInt } from "./_common.ts";

/** Options of {@linkcode PoolerAnswerClass.forward}. */
export interface PoolerAnswerClassOptions {
  /** The span-start representation `[B, h]`. @default {undefined} */
  startStates?: Tensor | null;
  /** int32 span starts `[B]`; when given they win over `startStates`. @default {undefined} */
  startPositions?: Tensor | null;
  /** int32 position of each row's CLS token `[B]`. @default {undefined} (the last token) */
  clsIndex?: Tensor | null;
}

/** `hiddenStates[b, index[b], :]` → `[B, h]`. */
function rowAt(hiddenStates: Tensor, index: Tensor): Tensor {
  const [batch, , hidden] = hiddenStates.shape;
  const i = index.reshape([batch, 1, 1]).expand([batch, 1, hidden]);
  return hiddenStates.gather(-2, i).squeeze(-2);
}

/**
 * Scores whether a question is answerable from the span-start state and the CLS state:
 * `dense_1(tanh(dense_0([start ; cls])))` squeezed to `[B]`, with
 * `dense_0 = Linear(2·hidden_size → hidden_size)` and `dense_1 = Linear(hidden_size → 1, bias=false)`.
 * The CLS state is the hidden state at `clsIndex`, or the last token's. No `p_mask`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PretrainedConfig, randn, tensor } from "@denoformers/core";
 * import { PoolerAnswerClass } from "@denoformers/heads";
 *
 * const pooler = new PoolerAnswerClass(new PretrainedConfig({ hidden_size: 4 }), { backend: "cpu" });
 * const hidden = randn([2, 5, 4], { backend: "cpu" });
 * const startPositions = tensor([1, 3], { dtype: "int32", backend: "cpu" });
 * assertEquals(pooler.call(hidden, { startPositions }).shape, [2]);
 * assertEquals(pooler.dense_1.bias, null);
 * ```
 */
export class PoolerAnswerClass extends Module {
  /** `Linear(2·hidden_size → hidden_size)`. */
  dense_0: Linear;
  /** `Linear(hidden_size → 1)` without bias. */
  dense_1: Linear;

  /**
   * Creates the layers.
   *
   * @param config The config (`hidden_size`).
   * @param options backend and dtype of the parameters.
   * @throws {TypeError} When `config.hidden_size` is not a positive integer.
   */
  constructor(config: PretrainedConfig, options: LayerOptions = {}) {
    super();
    const hidden = configInt(config, "hidden_size", "PoolerAnswerClass");
    this.dense_0 = new Linear(2 * hidden, hidden, options);
    this.dense_1 = new Linear(hidden, 1, { ...options, bias: false });
  }

  /**
   * Scores answerability.
   *
   * @param hiddenStates `[B, S, h]`.
   * @param options startStates, startPositions and clsIndex (one of the first two is required).
   * @returns Logits `[B]`.
   * @throws {TypeError} When neither startStates nor startPositions is given.
   */
  forward(hiddenStates: Tensor, options: PoolerAnswerClassOptions = {}): Tensor {
    const { startPositions, clsIndex } = options;
    if (!options.startStates && !startPositions) {
      throw new TypeError(
        "Cannot compute PoolerAnswerClass: one of startStates, startPositions should be given",
      );
    }
    const startStates = startPositions ? rowAt(hiddenStates, startPositions) : options.startStates!;
    const clsState = clsIndex
      ? rowAt(hiddenStates, clsIndex)
      : hiddenStates.slice(-2, -1).squeeze(-2);
    const x = this.dense_0.call(cat([startStates, clsState], -1)).tanh();
    return this.dense_1.call(x).squeeze(-1);
  }
}
