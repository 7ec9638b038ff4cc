/**
 * `SequenceSummary`: one vector per sequence from its hidden states, as GPT-2's double heads,
 * XLNet and XLM use it (Hugging Face v4.34 `modeling_utils.py`).
 *
 * @module
 */

import {
  type Activation,
  Dropout,
  full,
  getActivation,
  type LayerOptions,
  Linear,
  Module,
  type PretrainedConfig,
  type Tensor,
} from "@denoformers/core";
import { configInt, configOr } from "./_common.ts";

/** How {@linkcode SequenceSummary} picks the vector ("attn" is declared but refused, as in the original). */
export type SummaryType = "last" | "first" | "mean" | "cls_index" | "attn";

const SUMMARY_TYPES: readonly string[] = ["last", "first", "mean", "cls_index"];

function refuseAttn(): never {
  throw new Error('Cannot use SequenceSummary with summary_type "attn": it is not implemented');
}

/**
 * Summarises a sequence of hidden states into one vector, configured by the Hugging Face keys:
 * - `summary_type` (default `"last"`): `"last"` → `hidden[:, -1]`, `"first"` → `hidden[:, 0]`,
 *   `"mean"` → mean over positions, `"cls_index"` → the hidden state at `clsIndex` (default: the
 *   last token), which also works on multiple-choice input `[B, C, S, h]` with `clsIndex [B, C]`;
 *   `"attn"` is refused at construction and in forward.
 * - `summary_use_proj`: project with `summary = Linear(h → num_labels)` when
 *   `summary_proj_to_labels` is set and `num_labels > 0`, else `Linear(h → h)`; otherwise no projection.
 * - `summary_activation`: an activation name (`"tanh"`, `"gelu"`, ...); empty or null: none.
 * - `summary_first_dropout` / `summary_last_dropout` > 0: dropout before the projection / after
 *   the activation.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PretrainedConfig, tensor } from "@denoformers/core";
 * import { SequenceSummary } from "@denoformers/heads";
 *
 * const hidden = tensor([[[1, 2], [3, 4], [5, 6]]], { backend: "cpu" });
 * const mean = new SequenceSummary(new PretrainedConfig({ hidden_size: 2, summary_type: "mean" }));
 * assertEquals(await mean.call(hidden).toArray(), [[3, 4]]);
 * const cls = new SequenceSummary(new PretrainedConfig({ hidden_size: 2, summary_type: "cls_index" }));
 * const clsIndex = tensor([1], { dtype: "int32", backend: "cpu" });
 * assertEquals(await cls.call(hidden, clsIndex).toArray(), [[3, 4]]);
 * ```
 */
export class SequenceSummary extends Module {
  /** The summary type. */
  readonly summaryType: SummaryType;
  /** The projection, or null without `summary_use_proj`. */
  summary: Linear | null;
  /** The activation, or null. */
  readonly activation: Activation | null;
  /** Dropout before the projection, or null. */
  first_dropout: Dropout | null;
  /** Dropout after the activation, or null. */
  last_dropout: Dropout | null;

  /**
   * Creates the summary from the config.
   *
   * @param config The config (`hidden_size`, `num_labels` and the `summary_*` keys).
   * @param options backend and dtype of the projection.
   * @throws {Error} For `summary_type` "attn".
   * @throws {RangeError} For an unknown `summary_type` or activation.
   * @throws {TypeError} When `config.hidden_size` is not a positive integer.
   */
  constructor(config: PretrainedConfig, options: LayerOptions = {}) {
    super();
    const type = configOr<string>(config, "summary_type", "last");
    if (type === "attn") refuseAttn();
    if (!SUMMARY_TYPES.includes(type)) {
      throw new RangeError(
        `Cannot create SequenceSummary: summary_type is "${type}", expected "last", "first", "mean", "cls_index" or "attn"`,
      );
    }
    this.summaryType = type as SummaryType;
    this.summary = null;
    if (config.summary_use_proj) {
      const hidden = configInt(config, "hidden_size", "SequenceSummary");
      const toLabels = config.summary_proj_to_labels && config.num_labels > 0;
      this.summary = new Linear(hidden, toLabels ? config.num_labels : hidden, options);
    }
    const activation = configOr<string>(config, "summary_activation", "");
    this.activation = activation ? getActivation(activation) : null;
    const first = configOr(config, "summary_first_dropout", 0);
    this.first_dropout = first > 0 ? new Dropout(first) : null;
    const last = configOr(config, "summary_last_dropout", 0);
    this.last_dropout = last > 0 ? new Dropout(last) : null;
  }

  /**
   * Summarises the hidden states.
   *
   * @param hiddenStates `[B, S, h]` (or `[..., S, h]` for `"cls_index"`).
   * @param clsIndex int32 `[B]` (or the leading dims) for `"cls_index"`. @default {undefined} (the last token)
   * @returns `[B, h]` (or `[B, num_labels]` when projected to labels).
   * @throws {Error} For `summary_type` "attn".
   */
  forward(hiddenStates: Tensor, clsIndex?: Tensor | null): Tensor {
    let output: Tensor;
    switch (this.summaryType) {
      case "last":
        output = hiddenStates.slice(1, -1).squeeze(1);
        break;
      case "first":
        output = hiddenStates.slice(1, 0, 1).squeeze(1);
        break;
      case "mean":
        output = hiddenStates.mean(1);
        break;
      case "cls_index":
        output = hiddenStates.gather(-2, clsGatherIndex(hiddenStates, clsIndex)).squeeze(-2);
        break;
      default:
        refuseAttn();
    }
    if (this.first_dropout) output = this.first_dropout.call(output);
    if (this.summary) output = this.summary.call(output);
    if (this.activation) output = this.activation(output);
    if (this.last_dropout) output = this.last_dropout.call(output);
    return output;
  }
}

/** int32 `[..., 1, h]` gather index for `"cls_index"` (the last position when none is given). */
function clsGatherIndex(hiddenStates: Tensor, clsIndex: Tensor | null | undefined): Tensor {
  const shape = hiddenStates.shape;
  const width = shape[shape.length - 1];
  const seq = shape[shape.length - 2];
  if (!clsIndex) {
    return full([...shape.slice(0, -2), 1, width], seq - 1, {
      dtype: "int32",
      backend: hiddenStates.backend,
    });
  }
  const index = clsIndex.unsqueeze(-1).unsqueeze(-1);
  return index.expand([...index.shape.slice(0, -1), width]);
}
