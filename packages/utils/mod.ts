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
export {
  DEFAULT_ROPE_THETA,
  headDim,
  type RopeConfig,
  ropeDim,
  type RopeLayerOptions,
  ropeLayerTypes,
  type RopeParameters,
  standardizeRopeParameters,
  type StandardRopeParameters,
} from "./rope/rope_parameters.ts";
export { type ValidateRopeOptions, validateRopeParameters } from "./rope/rope_validation.ts";
export {
  ROPE_INIT_FUNCTIONS,
  type RopeInitFunction,
  type RopeInitOptions,
  type RopeInitResult,
  type YarnCorrectionRange,
  yarnCorrectionRange,
} from "./rope/rope_init.ts";
export {
  type ApplyRotaryOptions,
  applyRotaryPosEmb,
  type RotatedQueryKey,
  rotateHalf,
} from "./rope/rotary.ts";
export { type DynamicRopeState, dynamicRopeUpdate } from "./rope/dynamic_rope_update.ts";
export {
  type RotaryCosSin,
  RotaryEmbedding,
  type RotaryEmbeddingOptions,
  type RotaryForwardOptions,
  seqLenFromPositionIds,
} from "./rope/rotary_embedding.ts";
export { ALL_ATTENTION_FUNCTIONS, AttentionInterface } from "./attention/attention_interface.ts";
export { GeneralInterface } from "./attention/general_interface.ts";
export { repeatKv } from "./attention/repeat_kv.ts";
export { eagerAttentionForward } from "./attention/eager.ts";
export { sdpaAttentionForward } from "./attention/sdpa.ts";
export type {
  AttentionFunction,
  AttentionModule,
  AttentionOptions,
  AttentionOutput,
} from "./attention/types.ts";
export {
  addOffsetsToMaskFunction,
  andMasks,
  bidirectionalMaskFunction,
  causalMaskFunction,
  type MaskFunction,
  orMasks,
  slidingWindowBidirectionalMaskFunction,
  slidingWindowBidirectionalOverlay,
  slidingWindowCausalMaskFunction,
  slidingWindowOverlay,
} from "./masks/mask_functions.ts";
export {
  chunkedCausalMaskFunction,
  chunkedOverlay,
  packedSequenceMaskFunction,
  paddingMaskFunction,
} from "./masks/lookup_mask_functions.ts";
export { findPackedSequenceIndices, preparePaddingMask } from "./masks/padding.ts";
export { eagerMask, flashAttentionMask, minFiniteValue, sdpaMask } from "./masks/sdpa_mask.ts";
export { ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface } from "./masks/mask_interface.ts";
export {
  createCausalMask,
  createChunkedCausalMask,
  type CreateMaskOptions,
  createSlidingWindowCausalMask,
} from "./masks/create_masks.ts";
export {
  createBidirectionalMask,
  type CreateBidirectionalMaskOptions,
  createBidirectionalSlidingWindowMask,
} from "./masks/create_bidirectional_masks.ts";
export type { MaskBuilder, MaskBuilderOptions, MaskCache, MaskConfig } from "./masks/types.ts";
