/**
 * `dynamicRopeUpdate`: the frequency updates Hugging Face's `dynamic_rope_update` decorator runs
 * before each rotary forward (v4.57 semantics): dynamic NTK growth and reset, and LongRoPE's
 * switch between short and long factors.
 *
 * @module
 */

import { keep, nonPersistent, type Tensor } from "@denoformers/core";
import type { RopeInitFunction } from "./rope_init.ts";
import { type RopeConfig, standardizeRopeParameters } from "./rope_parameters.ts";

/** What {@linkcode dynamicRopeUpdate} reads and updates (a `RotaryEmbedding` has all of it). */
export interface DynamicRopeState {
  /** The model configuration the frequencies come from. */
  readonly config: RopeConfig;
  /** The RoPE variant. */
  readonly ropeType: string;
  /** The layer type, for per-layer-type RoPE parameters. */
  readonly layerType?: string;
  /** Computes frequencies for a sequence length. */
  readonly ropeInitFn: RopeInitFunction;
  /** The frequencies in use. */
  inv_freq: Tensor;
  /** The frequencies computed at construction. */
  original_inv_freq: Tensor;
  /** Factor applied to cos and sin. */
  attentionScaling: number;
  /** The sequence length the current frequencies were computed for. */
  maxSeqLenCached: number;
  /** `config.max_position_embeddings`. */
  readonly originalMaxSeqLen: number;
}

/** LongRoPE's long-context frequencies, computed once per module. */
const LONG_INV_FREQ = new WeakMap<DynamicRopeState, Tensor>();

function useInvFreq(state: DynamicRopeState, next: Tensor): void {
  const old = state.inv_freq;
  if (old === next) return;
  state.inv_freq = nonPersistent(next);
  if (old !== state.original_inv_freq && old !== LONG_INV_FREQ.get(state)) old.dispose();
}

function dynamicUpdate(state: DynamicRopeState, seqLen: number): void {
  if (seqLen > state.maxSeqLenCached) {
    const { invFreq, attentionFactor } = state.ropeInitFn(state.config, {
      seqLen,
      backend: state.original_inv_freq.backend,
      layerType: state.layerType,
    });
    useInvFreq(state, keep(invFreq));
    state.attentionScaling = attentionFactor;
    state.maxSeqLenCached = seqLen;
  }
  // Short inputs after long ones go back to the original frequencies (more precise there).
  if (seqLen < state.originalMaxSeqLen && state.maxSeqLenCached > state.originalMaxSeqLen) {
    useInvFreq(state, state.original_inv_freq);
    state.maxSeqLenCached = state.originalMaxSeqLen;
  }
}

function longropeUpdate(state: DynamicRopeState, seqLen: number): void {
  const params = standardizeRopeParameters(state.config, { layerType: state.layerType });
  const omp = params.original_max_position_embeddings ?? state.originalMaxSeqLen;
  if (seqLen <= omp) return useInvFreq(state, state.original_inv_freq);
  const backend = state.original_inv_freq.backend;
  let long = LONG_INV_FREQ.get(state);
  if (!long || long.isDisposed || long.backend !== backend) {
    if (long && !long.isDisposed && long !== state.inv_freq) long.dispose();
    const options = { seqLen: omp + 1, backend, layerType: state.layerType };
    long = keep(state.ropeInitFn(state.config, options).invFreq);
    LONG_INV_FREQ.set(state, long);
  }
  useInvFreq(state, long);
}

/**
 * Updates the frequencies of a rotary embedding for a sequence length, as Hugging Face's
 * `dynamic_rope_update` does before each forward (v4.57 semantics).
 *
 * - A type containing `"dynamic"`: when `seqLen > maxSeqLenCached`, frequencies (and
 *   `attentionScaling`) are recomputed for `seqLen` and `maxSeqLenCached = seqLen`; then, when
 *   `seqLen < originalMaxSeqLen` while `maxSeqLenCached > originalMaxSeqLen`, the original
 *   frequencies and length are restored. `seqLen == originalMaxSeqLen` triggers neither.
 * - `"longrope"`: long-factor frequencies (computed once, for `omp + 1`) when
 *   `seqLen > original_max_position_embeddings`, else the original ones; `attentionScaling` is
 *   unchanged.
 * - Any other type: nothing.
 *
 * New frequency tensors are exempt from enclosing `tidy` scopes; replaced dynamic ones are disposed.
 *
 * @param module The rotary embedding (or any object with its state).
 * @param seqLen `max(position_ids) + 1`.
 * @throws {RangeError} When `seqLen` is not a non-negative integer.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { dynamicRopeUpdate } from "./dynamic_rope_update.ts";
 * import { RotaryEmbedding } from "./rotary_embedding.ts";
 *
 * const rope = new RotaryEmbedding({
 *   head_dim: 8,
 *   max_position_embeddings: 16,
 *   rope_parameters: { rope_type: "dynamic", factor: 2 },
 * }, { backend: "cpu" });
 * dynamicRopeUpdate(rope, 64);
 * assertEquals(rope.maxSeqLenCached, 64);
 * dynamicRopeUpdate(rope, 4);
 * assertEquals(rope.inv_freq, rope.original_inv_freq);
 * ```
 */
export function dynamicRopeUpdate(module: DynamicRopeState, seqLen: number): void {
  if (!Number.isInteger(seqLen) || seqLen < 0) {
    throw new RangeError(
      `Cannot update rope frequencies: seqLen must be a non-negative integer, got ${seqLen}`,
    );
  }
  if (module.ropeType.includes("dynamic")) dynamicUpdate(module, seqLen);
  else if (module.ropeType === "longrope") longropeUpdate(module, seqLen);
}
