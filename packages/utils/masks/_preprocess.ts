/**
 * The steps every public mask builder shares: early exits, sizes from the inputs or the cache,
 * packed-sequence detection, and the final call into the mask interface.
 *
 * @module
 */

import { ShapeError, type Tensor } from "@denoformers/core";
import { moveTo } from "./_host.ts";
import { formatShape } from "./_util.ts";
import { packedSequenceMaskFunction } from "./lookup_mask_functions.ts";
import { andMasks, type MaskFunction, orMasks } from "./mask_functions.ts";
import { ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface } from "./mask_interface.ts";
import { findPackedSequenceIndices } from "./padding.ts";
import type { MaskCache, MaskConfig } from "./types.ts";

/** The inputs of the preprocessing step (a union of the public builders' options). */
export interface PreprocessInputs {
  config: MaskConfig;
  inputsEmbeds: Tensor;
  attentionMask?: Tensor | null;
  pastKeyValues?: MaskCache | null;
  positionIds?: Tensor | null;
  encoderHiddenStates?: Tensor | null;
}

/** Sizes and prepared inputs of a mask that is to be built. */
export interface Prepared {
  exit: false;
  implementation: string;
  mask: Tensor | null;
  packed: Tensor | null;
  qLength: number;
  kvLength: number;
  qOffset: number;
  kvOffset: number;
}

/** What to return at once: a prepared 4-D mask unchanged, or `null` for no mask at all. */
export interface EarlyExit {
  exit: true;
  value: Tensor | null;
}

/**
 * The first cache layer that is (or, for `sliding = false`, is not) a sliding-window layer, else 0.
 */
export function layerIndex(cache: MaskCache | null | undefined, sliding: boolean): number {
  const idx = cache?.isSliding?.indexOf(sliding) ?? -1;
  return idx >= 0 ? idx : 0;
}

/**
 * Reads the sizes and prepares the 2-D mask and packed-sequence ids (Hugging Face's
 * `_preprocess_mask_arguments`).
 */
export function preprocess(inputs: PreprocessInputs, layerIdx: number): Prepared | EarlyExit {
  const { config, inputsEmbeds, attentionMask, pastKeyValues: cache } = inputs;
  if (attentionMask && attentionMask.ndim === 4) return { exit: true, value: attentionMask };
  const implementation = config._attn_implementation;
  if (typeof implementation !== "string" || !AttentionMaskInterface.isRegistered(implementation)) {
    return { exit: true, value: null };
  }
  if (inputsEmbeds.ndim < 2) {
    throw new ShapeError(
      "createMask",
      `Cannot create an attention mask: the input embeddings have shape ${
        formatShape(inputsEmbeds.shape)
      }, expected [batch, length, ...]`,
      [inputsEmbeds.shape],
    );
  }
  if (attentionMask && attentionMask.ndim !== 2) {
    throw new ShapeError(
      "createMask",
      `Cannot create an attention mask: expected a 2-D padding mask or a prepared 4-D mask, got shape ${
        formatShape(attentionMask.shape)
      }`,
      [attentionMask.shape],
    );
  }
  const backend = inputsEmbeds.backend;
  const mask = attentionMask
    ? moveTo(attentionMask.cast("bool"), backend, "2-D attention mask")
    : null;
  const [batchSize, qLength] = inputsEmbeds.shape;
  let qOffset = 0;
  let kvOffset = 0;
  let kvLength: number;
  if (cache) {
    qOffset = cache.getSeqLength();
    [kvLength, kvOffset] = cache.getMaskSizes(qLength, layerIdx);
  } else if (mask) {
    // The mask may be longer than the input (prefix tuning); it wins over encoder states.
    kvLength = mask.shape[1];
  } else {
    kvLength = inputs.encoderHiddenStates?.shape[1] ?? qLength;
  }
  let packed: Tensor | null = null;
  if (inputs.positionIds && !mask && !cache) {
    let positions = inputs.positionIds;
    if (positions.ndim === 1) positions = positions.unsqueeze(0);
    // Position ids are often given for one row and meant for all.
    if (positions.shape[0] !== batchSize) positions = positions.expand([batchSize, -1]);
    packed = findPackedSequenceIndices(moveTo(positions, backend, "position ids"));
  }
  return { exit: false, implementation, mask, packed, qLength, kvLength, qOffset, kvOffset };
}

/** Reads a positive integer config key that a builder requires. */
export function requireConfigSize(
  config: MaskConfig,
  key: "sliding_window" | "attention_chunk_size",
  what: string,
): number {
  const value = config[key];
  if (value === undefined || value === null) {
    throw new TypeError(`Cannot create ${what}: the config has no \`${key}\``);
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot create ${what}: \`${key}\` must be a positive integer, got ${String(value)}`,
    );
  }
  return value;
}

/** How a builder combines its base pattern with the caller's and detected extras. */
export interface BuildPlan {
  /** The base pattern (causal, sliding window, chunked, bidirectional…). */
  base: MaskFunction;
  /** Union with the base pattern, applied first. */
  orMaskFunction?: MaskFunction | null;
  /** Intersection with the base pattern, applied after `orMaskFunction`. */
  andMaskFunction?: MaskFunction | null;
  /** Causal builders allow the causal skip; bidirectional ones the bidirectional skip. */
  causal: boolean;
  /** The local attention size (window or chunk). */
  localSize: number | null;
  /** Embeddings that give the batch size and dtype (encoder states for cross-attention). */
  embeds: Tensor;
  /** The cache, whose `isCompileable` forbids the causal skip. */
  cache: MaskCache | null | undefined;
  /** The backend to build on. */
  backend: Tensor["backend"];
}

/** Composes the mask function and calls the builder registered for the implementation. */
export function build(prep: Prepared, plan: BuildPlan, config: MaskConfig): Tensor | null {
  let fn = plan.base;
  let allowSkip = plan.causal ? !(plan.cache?.isCompileable ?? false) : true;
  if (plan.orMaskFunction) {
    fn = orMasks(fn, plan.orMaskFunction);
    allowSkip = false;
  }
  if (plan.andMaskFunction) {
    fn = andMasks(fn, plan.andMaskFunction);
    allowSkip = false;
  }
  if (prep.packed) {
    fn = andMasks(fn, packedSequenceMaskFunction(prep.packed));
    allowSkip = false;
  }
  const builder = ALL_MASK_ATTENTION_FUNCTIONS.get(prep.implementation)!;
  return builder({
    batchSize: plan.embeds.shape[0],
    qLength: prep.qLength,
    kvLength: prep.kvLength,
    qOffset: prep.qOffset,
    kvOffset: prep.kvOffset,
    maskFunction: fn,
    attentionMask: prep.mask,
    allowIsCausalSkip: plan.causal && allowSkip,
    allowIsBidirectionalSkip: !plan.causal && allowSkip,
    localSize: plan.localSize,
    dtype: plan.embeds.dtype,
    config,
    backend: plan.backend,
  });
}
