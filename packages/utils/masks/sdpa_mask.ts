/**
 * The mask builders behind the mask interface's default keys: `sdpaMask` (bool, `true` = attend,
 * or `null` when skippable), `eagerMask` (additive float) and `flashAttentionMask` (2-D).
 *
 * @module
 */

import {
  arange,
  type DType,
  DTypeError,
  full,
  ShapeError,
  type Tensor,
  tidy,
  zeros,
} from "@denoformers/core";
import { hostValues, moveTo } from "./_host.ts";
import { formatShape } from "./_util.ts";
import { paddingMaskFunction } from "./lookup_mask_functions.ts";
import { andMasks, causalMaskFunction } from "./mask_functions.ts";
import { preparePaddingMask } from "./padding.ts";
import type { MaskBuilderOptions } from "./types.ts";

function checkSize(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot build an attention mask: ${name} must be a non-negative integer, got ${value}`,
    );
  }
}

/** Whether the 2-D bool mask is true in columns `[start, end)` of every row; `null` if unknown. */
function allTrue(mask: Tensor, start: number, end: number): boolean | null {
  const [rows, width] = mask.shape;
  if (end > width) return false; // the columns past the mask are padded with false
  const values = hostValues(mask);
  if (values === null) return null;
  for (let r = 0; r < rows; r++) {
    for (let c = start; c < end; c++) if (!values[r * width + c]) return false;
  }
  return true;
}

/** The 2-D mask as bool on `backend`, checked against the batch size. */
function boolMask(options: MaskBuilderOptions, mask: Tensor): Tensor {
  if (mask.ndim !== 2 || mask.shape[0] !== options.batchSize) {
    throw new ShapeError(
      "sdpaMask",
      `Cannot build an attention mask: the 2-D mask has shape ${
        formatShape(mask.shape)
      }, expected [${options.batchSize}, length]`,
      [mask.shape],
    );
  }
  return moveTo(mask.cast("bool"), options.backend, "2-D attention mask");
}

/**
 * Builds the 4-D bool mask `[B, 1, Q, K]` for scaled-dot-product attention (`true` = attend) by
 * evaluating the mask function on the position grid, AND-ed with the 2-D padding mask if given.
 *
 * Returns `null` when the mask can be skipped:
 * - causal skip (when `allowIsCausalSkip`): `Q == 1` or `K == Q`, `localSize` unset or above `K`,
 *   and no padding in the key/value window; attention then uses its causal mode;
 * - bidirectional skip (when `allowIsBidirectionalSkip`): no padding anywhere, `localSize` unset
 *   or above `K`.
 *
 * Checking for padding reads the 2-D mask on the host, which only CPU tensors allow synchronously
 * (a mask moved here from the CPU keeps its host copy); a mask on WebGPU is never skipped.
 *
 * @param options Sizes, offsets, pattern, padding mask and skip rules.
 * @returns The bool mask, or `null` when skippable.
 * @throws {RangeError} When a size or offset is not a non-negative integer.
 * @throws {ShapeError} When the 2-D mask is not `[B, length]`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { sdpaMask } from "./sdpa_mask.ts";
 *
 * assertEquals(sdpaMask({ batchSize: 1, qLength: 3, kvLength: 3, backend: "cpu" }), null);
 * const mask = sdpaMask({
 *   batchSize: 1,
 *   qLength: 3,
 *   kvLength: 3,
 *   allowIsCausalSkip: false,
 *   backend: "cpu",
 * })!;
 * assertEquals(await mask.toArray(), [[[
 *   [true, false, false],
 *   [true, true, false],
 *   [true, true, true],
 * ]]]);
 * ```
 */
export function sdpaMask(options: MaskBuilderOptions): Tensor | null {
  const { batchSize, qLength, kvLength, qOffset = 0, kvOffset = 0 } = options;
  for (const [name, value] of Object.entries({ batchSize, qLength, kvLength, qOffset, kvOffset })) {
    checkSize(name, value);
  }
  const localSize = options.localSize ?? null;
  const local = localSize === null || kvLength < localSize;
  const backend = options.backend ?? options.attentionMask?.backend;
  return tidy(() => {
    const mask = options.attentionMask
      ? boolMask({ ...options, backend }, options.attentionMask)
      : null;
    const causalShape = qLength === 1 || kvLength === qLength;
    if (options.allowIsCausalSkip ?? true) {
      if (causalShape && local && (!mask || allTrue(mask, kvOffset, kvOffset + kvLength))) {
        return null;
      }
    }
    if (options.allowIsBidirectionalSkip ?? false) {
      if (local && (!mask || allTrue(mask, 0, Math.max(mask.shape[1], kvOffset + kvLength)))) {
        return null;
      }
    }
    let fn = options.maskFunction ?? causalMaskFunction;
    if (mask) fn = andMasks(fn, paddingMaskFunction(preparePaddingMask(mask, kvLength, kvOffset)));
    const on = { backend };
    const b = arange(batchSize, undefined, 1, on).reshape([batchSize, 1, 1, 1]);
    const h = zeros([1, 1, 1, 1], { dtype: "int32", ...on });
    const q = arange(qOffset, qOffset + qLength, 1, on).reshape([1, 1, qLength, 1]);
    const kv = arange(kvOffset, kvOffset + kvLength, 1, on).reshape([1, 1, 1, kvLength]);
    return fn(b, h, q, kv).cast("bool").expand([batchSize, 1, qLength, kvLength]);
  });
}

/**
 * The most negative finite value of a float dtype (what masked positions hold in an eager mask).
 *
 * @param dtype A float dtype.
 * @returns `-3.4028234663852886e38` for float32, `-65504` for float16, `-Number.MAX_VALUE` for
 * float64.
 * @throws {DTypeError} For a non-float dtype.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { minFiniteValue } from "./sdpa_mask.ts";
 *
 * assertEquals(minFiniteValue("float16"), -65504);
 * ```
 */
export function minFiniteValue(dtype: DType): number {
  switch (dtype) {
    case "float32":
      return -3.4028234663852886e38;
    case "float16":
      return -65504;
    case "float64":
      return -Number.MAX_VALUE;
  }
  throw new DTypeError(
    "eagerMask",
    `Cannot build an additive mask of dtype ${dtype}: expected a float dtype`,
    [dtype],
  );
}

/**
 * Builds the additive float mask `[B, 1, Q, K]` for eager attention: `0` where attention is
 * allowed and the dtype's most negative finite value where it is not (finite, so a fully masked
 * row softmaxes to a uniform distribution rather than NaN). It is never skipped for causal masks
 * (`allowIsCausalSkip` is ignored); it is `null` only for a skippable bidirectional mask.
 *
 * @param options The `sdpaMask` options plus `dtype` (default `"float32"`).
 * @returns The float mask, or `null` for a skipped bidirectional mask.
 * @throws {DTypeError} When `dtype` is not a float dtype.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { eagerMask } from "./sdpa_mask.ts";
 *
 * const mask = eagerMask({ batchSize: 1, qLength: 2, kvLength: 2, dtype: "float16", backend: "cpu" })!;
 * assertEquals(mask.dtype, "float16");
 * assertEquals(await mask.toArray(), [[[[0, -65504], [0, 0]]]]);
 * ```
 */
export function eagerMask(options: MaskBuilderOptions): Tensor | null {
  const dtype = options.dtype ?? "float32";
  const masked = minFiniteValue(dtype);
  return tidy(() => {
    const mask = sdpaMask({ ...options, allowIsCausalSkip: false });
    if (mask === null) return null;
    return full([], 0, { dtype, backend: mask.backend }).where(mask, masked);
  });
}

/**
 * The mask flash attention takes: the 2-D padding mask cut to its last `kvLength` columns, or
 * `null` when there is none or it has no padding (causality and windows are handled inside the
 * kernel). A mask that cannot be read synchronously (WebGPU) is returned even when all true.
 *
 * @param options The builder options; only `attentionMask`, `kvLength` and `backend` are used.
 * @returns The bool 2-D mask `[B, min(L, K)]`, or `null`.
 * @throws {ShapeError} When the 2-D mask is not `[B, length]`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { flashAttentionMask } from "./sdpa_mask.ts";
 *
 * const attentionMask = tensor([[0, 1, 1, 1]], { backend: "cpu" });
 * const options = { batchSize: 1, qLength: 1, attentionMask };
 * assertEquals(flashAttentionMask({ ...options, kvLength: 3 }), null);
 * assertEquals(await flashAttentionMask({ ...options, kvLength: 4 })!.toArray(), [[false, true, true, true]]);
 * ```
 */
export function flashAttentionMask(options: MaskBuilderOptions): Tensor | null {
  if (!options.attentionMask) return null;
  const backend = options.backend ?? options.attentionMask.backend;
  return tidy(() => {
    const mask = boolMask({ ...options, backend }, options.attentionMask!);
    const width = mask.shape[1];
    const start = options.kvLength > 0 ? Math.max(0, width - options.kvLength) : 0;
    if (allTrue(mask, start, width) === true) return null;
    return mask.slice(1, start);
  });
}
