/**
 * The contracts shared by the mask builders: what a builder receives, what a config and a cache
 * must provide.
 *
 * @module
 */

import type { BackendName, DType, Tensor } from "@denoformers/core";
import type { MaskFunction } from "./mask_functions.ts";

/**
 * The model config keys the mask builders read, spelled as in Hugging Face's `config.json`.
 * Any object works, a `PretrainedConfig` included; other keys are ignored.
 */
export interface MaskConfig {
  /** The attention implementation, a key of the mask interface (`"sdpa"`, `"eager"`, …). */
  readonly _attn_implementation?: string | null;
  /** `false` turns a causal mask into a bidirectional one. @default {true} */
  readonly is_causal?: unknown;
  /** The window of sliding-window attention, required by the sliding-window builders. */
  readonly sliding_window?: unknown;
  /** The chunk size of chunked attention, required by the chunked builder. */
  readonly attention_chunk_size?: unknown;
  /** Any other config key. */
  readonly [key: string]: unknown;
}

/**
 * What the mask builders need from a key/value cache. The models package's caches implement it.
 */
export interface MaskCache {
  /**
   * Number of tokens already cached (the absolute position of the first new query).
   *
   * @param layerIdx The layer. @default {0}
   */
  getSeqLength(layerIdx?: number): number;
  /**
   * The key/value length and the absolute position of the first key/value that attention will
   * see at `layerIdx` once `qLength` new tokens are added.
   *
   * @param qLength Number of new tokens.
   * @param layerIdx The layer.
   */
  getMaskSizes(qLength: number, layerIdx: number): [kvLength: number, kvOffset: number];
  /** Static caches are compileable; masks for them are never skipped. @default {false} */
  readonly isCompileable?: boolean;
  /** Per layer, whether it is a sliding-window layer (hybrid caches). */
  readonly isSliding?: readonly boolean[];
}

/** The arguments every mask builder of the mask interface receives. */
export interface MaskBuilderOptions {
  /** Batch size `B`. */
  batchSize: number;
  /** Number of query positions `Q`. */
  qLength: number;
  /** Number of key/value positions `K`. */
  kvLength: number;
  /** Absolute position of the first query. @default {0} */
  qOffset?: number;
  /** Absolute position of the first key/value. @default {0} */
  kvOffset?: number;
  /** The attention pattern. @default {causalMaskFunction} */
  maskFunction?: MaskFunction;
  /** A 2-D padding mask `[B, L]` indexed by absolute key/value position (non-zero = real token). */
  attentionMask?: Tensor | null;
  /** Return `null` when the backend's causal mode gives the same result (sdpa). @default {true} */
  allowIsCausalSkip?: boolean;
  /** Return `null` for a full bidirectional mask without padding. @default {false} */
  allowIsBidirectionalSkip?: boolean;
  /** The local attention size (window or chunk); a mask at least this long is never skipped. */
  localSize?: number | null;
  /** The backend to build on. @default {the 2-D mask's backend, else the current backend} */
  backend?: BackendName;
  /** The dtype of an additive float mask (eager). @default {"float32"} */
  dtype?: DType;
  /** The model config, for custom builders. */
  config?: MaskConfig;
}

/** A mask builder: the 4-D mask (or 2-D for flash attention) an implementation needs, or `null`. */
export type MaskBuilder = (options: MaskBuilderOptions) => Tensor | null;
