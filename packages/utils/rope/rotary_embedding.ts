/**
 * `RotaryEmbedding`: the cos/sin tables of rotary position embeddings for given positions, after
 * the dynamic-NTK and LongRoPE frequency updates of `dynamicRopeUpdate`.
 *
 * Position ids usually come from host data, so the sequence length the updates need is passed
 * in (`{ seqLen }`) rather than read back from the device: model forwards stay synchronous.
 * Without it, position ids on the CPU are read synchronously; on WebGPU that is an error (use
 * {@linkcode seqLenFromPositionIds} to read it with an `await`).
 *
 * @module
 */

import {
  type BackendName,
  cat,
  Module,
  nonPersistent,
  ShapeError,
  type Tensor,
  tidy,
} from "@denoformers/core";
import { type DynamicRopeState, dynamicRopeUpdate } from "./dynamic_rope_update.ts";
import { ROPE_INIT_FUNCTIONS, type RopeInitFunction } from "./rope_init.ts";
import { type RopeConfig, standardizeRopeParameters } from "./rope_parameters.ts";

/** Options of the {@linkcode RotaryEmbedding} constructor. */
export interface RotaryEmbeddingOptions {
  /** Backend of the frequency buffers. @default {the current backend} */
  backend?: BackendName;
  /** The layer type, for per-layer-type RoPE parameters. @default {undefined} */
  layerType?: string;
}

/** Options of {@linkcode RotaryEmbedding.forward}. */
export interface RotaryForwardOptions {
  /**
   * `max(positionIds) + 1`, used by the dynamic and LongRoPE updates. For contiguous positions it
   * is the cached length plus the new tokens. Required for those types when the position ids are
   * not on the CPU.
   *
   * @default {read from CPU position ids when needed}
   */
  seqLen?: number;
}

/** The cos and sin tables, `[B, S, dim]` each. */
export interface RotaryCosSin {
  /** `cos(position · inv_freq) · attentionScaling`, in the dtype of `x`. */
  cos: Tensor;
  /** `sin(position · inv_freq) · attentionScaling`, in the dtype of `x`. */
  sin: Tensor;
}

function maxPlusOne(values: ArrayLike<number>, shape: readonly number[]): number {
  if (values.length === 0) {
    throw new ShapeError(
      "rotaryEmbedding",
      `Cannot compute seqLen: position ids of shape [${shape.join(", ")}] are empty`,
      [shape],
    );
  }
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  return max + 1;
}

/**
 * `max(positionIds) + 1`, read from any backend (one read).
 *
 * @param positionIds Position ids of any shape.
 * @returns The sequence length the dynamic updates use.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { seqLenFromPositionIds } from "./rotary_embedding.ts";
 *
 * const ids = tensor([[3, 4, 5]], { dtype: "int32", backend: "cpu" });
 * assertEquals(await seqLenFromPositionIds(ids), 6);
 * ```
 */
export async function seqLenFromPositionIds(positionIds: Tensor): Promise<number> {
  return maxPlusOne(await positionIds.data(), positionIds.shape);
}

function seqLenSync(positionIds: Tensor, ropeType: string): number {
  if (positionIds.backend !== "cpu") {
    throw new Error(
      `Cannot update rope_type "${ropeType}" frequencies: position ids on "${positionIds.backend}" cannot be read synchronously, pass { seqLen } (see seqLenFromPositionIds)`,
    );
  }
  return maxPlusOne(positionIds.dataSync(), positionIds.shape);
}

/**
 * Rotary position embeddings of a model: holds the inverse frequencies (`inv_freq`, and the
 * construction-time copy `original_inv_freq`, both non-persistent buffers) and returns cos/sin
 * tables for position ids. The frequencies come from `ROPE_INIT_FUNCTIONS[rope_type]`.
 *
 * `forward(x, positionIds, { seqLen })` first applies {@linkcode dynamicRopeUpdate}, then computes
 * `freqs[b, s, i] = positionIds[b, s] · inv_freq[i]` in float32, `emb = concat(freqs, freqs)`, and
 * returns `cos(emb)` and `sin(emb)` times `attentionScaling`, cast to the dtype of `x`.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals, assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { RotaryEmbedding } from "./rotary_embedding.ts";
 *
 * const rope = new RotaryEmbedding(
 *   { head_dim: 4, max_position_embeddings: 32, rope_parameters: { rope_theta: 100 } },
 *   { backend: "cpu" },
 * );
 * const x = tensor([[0]], { backend: "cpu" });
 * const positions = tensor([[0, 1]], { dtype: "int32", backend: "cpu" });
 * const { cos, sin } = rope.call(x, positions);
 * assertEquals(cos.shape, [1, 2, 4]);
 * const s = await sin.data();
 * assertAlmostEquals(s[4], Math.sin(1)); // position 1, frequency 1
 * assertAlmostEquals(s[5], Math.sin(0.1), 1e-6); // position 1, frequency 1/100^(2/4)
 * ```
 */
export class RotaryEmbedding extends Module implements DynamicRopeState {
  /** The frequencies in use, float32 `[dim / 2]` (non-persistent buffer). */
  inv_freq: Tensor;
  /** The frequencies computed at construction (non-persistent buffer). */
  original_inv_freq: Tensor;
  /** Factor applied to cos and sin. */
  attentionScaling: number;
  /** The sequence length the current frequencies were computed for. */
  maxSeqLenCached: number;
  /** `config.max_position_embeddings`. */
  readonly originalMaxSeqLen: number;
  /** The RoPE variant (`rope_parameters.rope_type`). */
  readonly ropeType: string;
  /** The model configuration. */
  readonly config: RopeConfig;
  /** The layer type, for per-layer-type RoPE parameters. */
  readonly layerType: string | undefined;
  /** The initialiser of `ropeType`. */
  readonly ropeInitFn: RopeInitFunction;

  /**
   * Computes the frequencies of a config.
   *
   * @param config The model configuration (`max_position_embeddings` is required).
   * @param options backend, layerType.
   * @throws {RangeError} When the rope type has no initialiser.
   * @throws {TypeError} When `max_position_embeddings` is not a positive integer.
   */
  constructor(config: RopeConfig, options: RotaryEmbeddingOptions = {}) {
    super();
    const { backend, layerType } = options;
    this.config = config;
    this.layerType = layerType;
    this.ropeType = standardizeRopeParameters(config, { layerType }).rope_type;
    if (!Object.hasOwn(ROPE_INIT_FUNCTIONS, this.ropeType)) {
      throw new RangeError(
        `Cannot build RotaryEmbedding: unknown rope_type "${this.ropeType}", expected one of ${
          Object.keys(ROPE_INIT_FUNCTIONS).map((t) => `"${t}"`).join(", ")
        }`,
      );
    }
    this.ropeInitFn = ROPE_INIT_FUNCTIONS[this.ropeType];
    const mpe = config.max_position_embeddings;
    if (!Number.isInteger(mpe) || (mpe as number) <= 0) {
      throw new TypeError(
        `Cannot build RotaryEmbedding: config.max_position_embeddings must be a positive integer, got ${mpe}`,
      );
    }
    this.originalMaxSeqLen = mpe as number;
    this.maxSeqLenCached = mpe as number;
    const { invFreq, attentionFactor } = this.ropeInitFn(config, { backend, layerType });
    this.inv_freq = nonPersistent(invFreq);
    this.original_inv_freq = nonPersistent(invFreq.clone());
    this.attentionScaling = attentionFactor;
  }

  /**
   * The cos and sin tables for positions.
   *
   * @param x Any tensor of the target dtype (only its dtype is used).
   * @param positionIds Positions, `[B, S]` (int32 or float).
   * @param options `seqLen` for the dynamic and LongRoPE updates.
   * @returns `{ cos, sin }`, `[B, S, dim]` each.
   * @throws {ShapeError} When `positionIds` is not 2-D.
   */
  forward(x: Tensor, positionIds: Tensor, options: RotaryForwardOptions = {}): RotaryCosSin {
    if (positionIds.ndim !== 2) {
      throw new ShapeError(
        "rotaryEmbedding",
        `Cannot compute rotary embeddings: expected position ids of shape [B, S], got [${
          positionIds.shape.join(", ")
        }]`,
        [positionIds.shape],
      );
    }
    if (this.ropeType.includes("dynamic") || this.ropeType === "longrope") {
      dynamicRopeUpdate(this, options.seqLen ?? seqLenSync(positionIds, this.ropeType));
    }
    return tidy(() => {
      // (B, S, 1) · (dim/2) -> (B, S, dim/2): one product per entry, as the fp32 matmul does.
      const freqs = positionIds.cast("float32").unsqueeze(-1).mul(this.inv_freq.cast("float32"));
      const emb = cat([freqs, freqs], -1); // (B, S, dim)
      let cos = emb.cos();
      let sin = emb.sin();
      if (this.attentionScaling !== 1) {
        cos = cos.mul(this.attentionScaling);
        sin = sin.mul(this.attentionScaling);
      }
      return { cos: cos.cast(x.dtype), sin: sin.cast(x.dtype) };
    });
  }
}
