/**
 * `SQuADHead`: the XLNet/XLM span-extraction head with beam search over starts and ends and an
 * answerability score (Hugging Face v4.34 `modeling_utils.py`).
 *
 * @module
 */

import {
  bceWithLogits,
  crossEntropy,
  type LayerOptions,
  Module,
  type PretrainedConfig,
  type Tensor,
} from "@denoformers/core";
import { configOr, squeezeLast } from "./_common.ts";
import { PoolerAnswerClass } from "./pooler_answer_class.ts";
import { PoolerEndLogits } from "./pooler_end_logits.ts";
import { PoolerStartLogits } from "./pooler_start_logits.ts";

/** Options of {@linkcode SQuADHead.forward}. */
export interface SquadHeadOptions {
  /** int32 span starts `[B]`; with `endPositions` the head computes the training loss. @default {undefined} */
  startPositions?: Tensor | null;
  /** int32 span ends `[B]`. @default {undefined} */
  endPositions?: Tensor | null;
  /** int32 CLS position per row `[B]`. @default {undefined} (the last token) */
  clsIndex?: Tensor | null;
  /** float `[B]`, 1 for unanswerable questions; with `clsIndex` adds the answerability loss. @default {undefined} */
  isImpossible?: Tensor | null;
  /** float `[B, S]`, 1.0 where a position cannot be part of the answer. @default {undefined} */
  pMask?: Tensor | null;
}

/**
 * What {@linkcode SQuADHead} returns (Hugging Face `SquadHeadOutput`): the loss when positions
 * were given, otherwise the beam-search results. The "log probs" are probabilities, as in the
 * original.
 */
export interface SquadHeadOutput {
  /** `(CE_start + CE_end) / 2`, plus `0.5 · BCE` of the answerability logits when requested. */
  loss?: Tensor;
  /** Top start probabilities `[B, start_n_top]`. */
  startTopLogProbs?: Tensor;
  /** Their int32 positions `[B, start_n_top]`. */
  startTopIndex?: Tensor;
  /** Top end probabilities `[B, end_n_top · start_n_top]`; entry `e · start_n_top + s` is the e-th best end for the s-th best start. */
  endTopLogProbs?: Tensor;
  /** Their int32 positions, laid out like `endTopLogProbs`. */
  endTopIndex?: Tensor;
  /** Answerability logits `[B]`. */
  clsLogits?: Tensor;
}

/**
 * The SQuAD 2.0 head of XLNet and XLM. With `startPositions` and `endPositions` it returns the
 * training loss: the mean of the start and end cross-entropies (the end pooler conditioned on the
 * true start), plus `0.5 · BCEWithLogits(answerability, isImpossible)` when `clsIndex` and
 * `isImpossible` are both given. Otherwise it runs the beam search: the `start_n_top` most likely
 * starts (softmax over positions), for each of them the `end_n_top` most likely ends, and the
 * answerability logit from the probability-weighted average of the hidden states. Top-k runs on
 * the device; nothing is read back.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PretrainedConfig, randn } from "@denoformers/core";
 * import { SQuADHead } from "@denoformers/heads";
 *
 * const config = new PretrainedConfig({ hidden_size: 4, start_n_top: 2, end_n_top: 3 });
 * const head = new SQuADHead(config, { backend: "cpu" }).eval();
 * const out = head.call(randn([1, 6, 4], { backend: "cpu" }));
 * assertEquals(out.startTopIndex!.shape, [1, 2]);
 * assertEquals(out.endTopIndex!.shape, [1, 6]);
 * assertEquals(out.clsLogits!.shape, [1]);
 * ```
 */
export class SQuADHead extends Module {
  /** How many starts the beam search keeps (`config.start_n_top`). */
  readonly startNTop: number;
  /** How many ends per start (`config.end_n_top`). */
  readonly endNTop: number;
  /** Start scores. */
  start_logits: PoolerStartLogits;
  /** End scores given a start. */
  end_logits: PoolerEndLogits;
  /** Answerability score. */
  answer_class: PoolerAnswerClass;

  /**
   * Creates the poolers.
   *
   * @param config The config (`hidden_size`, `layer_norm_eps`; `start_n_top` and `end_n_top`, default 5).
   * @param options backend and dtype of the parameters.
   * @throws {TypeError} When `config.hidden_size` is not a positive integer.
   */
  constructor(config: PretrainedConfig, options: LayerOptions = {}) {
    super();
    this.startNTop = configOr(config, "start_n_top", 5);
    this.endNTop = configOr(config, "end_n_top", 5);
    this.start_logits = new PoolerStartLogits(config, options);
    this.end_logits = new PoolerEndLogits(config, options);
    this.answer_class = new PoolerAnswerClass(config, options);
  }

  /**
   * Computes the training loss (when both positions are given) or the beam-search results.
   *
   * @param hiddenStates Final hidden states `[B, S, h]`.
   * @param options startPositions, endPositions, clsIndex, isImpossible and pMask.
   * @returns The loss, or the top starts, ends and answerability logits.
   */
  forward(hiddenStates: Tensor, options: SquadHeadOptions = {}): SquadHeadOutput {
    const { pMask } = options;
    const startLogits = this.start_logits.call(hiddenStates, pMask); // (B, S)
    if (options.startPositions && options.endPositions) {
      const start = squeezeLast(options.startPositions);
      const end = squeezeLast(options.endPositions);
      const endLogits = this.end_logits.call(hiddenStates, { startPositions: start, pMask });
      let loss = crossEntropy(startLogits, start).add(crossEntropy(endLogits, end)).div(2);
      if (options.clsIndex && options.isImpossible) {
        const clsLogits = this.answer_class.call(hiddenStates, {
          startPositions: start,
          clsIndex: squeezeLast(options.clsIndex),
        });
        loss = loss.add(bceWithLogits(clsLogits, squeezeLast(options.isImpossible)).mul(0.5));
      }
      return { loss };
    }
    return this.#beamSearch(hiddenStates, startLogits, options);
  }

  #beamSearch(hidden: Tensor, startLogits: Tensor, options: SquadHeadOptions): SquadHeadOutput {
    const [batch, seq, width] = hidden.shape;
    const ks = this.startNTop;
    const ke = this.endNTop;
    const startProbs = startLogits.softmax(-1); // (B, S)
    const startTop = startProbs.topk(ks, { dim: -1 }); // (B, ks)
    const index = startTop.indices.unsqueeze(-1).expand([batch, ks, width]);
    const startStates = hidden.gather(-2, index).unsqueeze(1).expand([batch, seq, ks, width]);
    const hiddenExpanded = hidden.unsqueeze(2).expand([batch, seq, ks, width]);
    const pMask = options.pMask ? options.pMask.unsqueeze(-1) : null; // (B, S, 1)
    const endLogits = this.end_logits.call(hiddenExpanded, { startStates, pMask }); // (B, S, ks)
    const endTop = endLogits.softmax(1).topk(ke, { dim: 1 }); // (B, ke, ks)
    // The beam's start summary: hidden states averaged with the start probabilities as weights.
    const startSummary = hidden.mul(startProbs.unsqueeze(-1)).sum(1); // (B, h)
    const clsLogits = this.answer_class.call(hidden, {
      startStates: startSummary,
      clsIndex: options.clsIndex ? squeezeLast(options.clsIndex) : null,
    });
    return {
      startTopLogProbs: startTop.values,
      startTopIndex: startTop.indices,
      endTopLogProbs: endTop.values.reshape([batch, ke * ks]),
      endTopIndex: endTop.indices.reshape([batch, ke * ks]),
      clsLogits,
    };
  }
}
