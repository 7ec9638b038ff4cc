/**
 * The layers and utilities transformer architectures are assembled from: GPT-2's `Conv1D`,
 * head pruning, chunked feed-forward, and (in `attention/`, `masks/`, `rope/`) the attention,
 * attention-mask and rotary-embedding interfaces.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Linear } from "@denoformers/core";
 * import { findPruneableHeadsAndIndices, pruneLinearLayer } from "@denoformers/utils";
 *
 * const { index } = findPruneableHeadsAndIndices([1], 2, 2, new Set());
 * assertEquals(pruneLinearLayer(new Linear(4, 4, { backend: "cpu" }), index).weight.shape, [2, 4]);
 * ```
 *
 * @module
 */

export { Conv1D } from "./conv1d.ts";
export {
  indexTensor,
  pruneLinearLayer,
  type PruneOptions,
  selectParameter,
} from "./prune_linear_layer.ts";
export { pruneConv1dLayer } from "./prune_conv1d_layer.ts";
export { pruneLayer } from "./prune_layer.ts";
export {
  findPruneableHeadsAndIndices,
  type PruneableHeads,
} from "./find_pruneable_heads_and_indices.ts";
export { applyChunkingToForward } from "./apply_chunking_to_forward.ts";
