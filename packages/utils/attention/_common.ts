/**
 * Internal pieces shared by the eager and sdpa attention functions: input checks, the scaled
 * scores, the softmax and the output layout.
 *
 * @module
 */

import { type DType, DTypeError, ShapeError, type Tensor } from "@denoformers/core";
import { repeatKv } from "./repeat_kv.ts";
import type { AttentionModule, AttentionOptions } from "./types.ts";

/** A shape as `[2, 3]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** The most negative finite value of a float dtype (what masked scores hold). */
export function minValue(dtype: DType): number {
  if (dtype === "float16") return -65504;
  if (dtype === "float64") return -Number.MAX_VALUE;
  return -3.4028234663852886e38;
}

/**
 * Checks the inputs of an attention function before any op is queued (shapes, head groups,
 * the mask's dtype and broadcast, dropout and softcap), then widens keys and values to one head
 * per query head.
 *
 * @param op The function's name, for messages.
 * @param inputs The function's arguments.
 * @param maskKinds The mask dtypes the function accepts besides float ones.
 */
export function prepareInputs(
  op: string,
  inputs: {
    module: AttentionModule;
    query: Tensor;
    key: Tensor;
    value: Tensor;
    mask: Tensor | null;
    options: AttentionOptions;
  },
  maskKinds: "float" | "bool or float",
): { key: Tensor; value: Tensor } {
  const { module, query, key, value, mask, options } = inputs;
  const fail = (state: string): never => {
    throw new ShapeError(
      op,
      `Cannot compute attention in ${op}: ${state} (query ${formatShape(query.shape)}, key ${
        formatShape(key.shape)
      }, value ${formatShape(value.shape)})`,
      [query.shape, key.shape, value.shape],
    );
  };
  if (query.ndim !== 4 || key.ndim !== 4 || value.ndim !== 4) {
    fail("query, key and value must be 4-D ([B, H, S, D])");
  }
  const [b, h, q, d] = query.shape;
  const [kb, kvh, k, kd] = key.shape;
  if (kb !== b || value.shape[0] !== b) fail("batch sizes differ");
  if (kd !== d) fail("query and key head dimensions differ");
  if (value.shape[1] !== kvh || value.shape[2] !== k) fail("key and value shapes differ");
  const nRep = module.numKeyValueGroups ?? h / kvh;
  if (!Number.isInteger(nRep) || nRep < 1 || kvh * nRep !== h) {
    fail(`${h} query heads are not ${nRep} groups of ${kvh} key/value heads`);
  }
  if (mask) checkMask(op, mask, [b, h, q, k], maskKinds);
  const p = options.dropout ?? 0;
  if (!(typeof p === "number" && p >= 0 && p <= 1)) {
    throw new RangeError(
      `Cannot apply attention dropout ${p} in ${op}: expected a probability in [0, 1]`,
    );
  }
  const cap = options.softcap;
  if (cap !== undefined && cap !== null && !(typeof cap === "number" && cap > 0)) {
    throw new RangeError(
      `Cannot soft-cap attention scores with softcap ${cap} in ${op}: expected a positive number`,
    );
  }
  return { key: repeatKv(key, nRep), value: repeatKv(value, nRep) };
}

function checkMask(
  op: string,
  mask: Tensor,
  scores: readonly number[],
  maskKinds: "float" | "bool or float",
): void {
  const wrongDType = mask.dtype === "int32" || (mask.dtype === "bool" && maskKinds === "float");
  if (wrongDType) {
    const expected = maskKinds === "float"
      ? "an additive float mask (0 where attending, min(dtype) where masked)"
      : "a bool mask (true = attend) or an additive float mask";
    throw new DTypeError(
      op,
      `Cannot apply attention mask of dtype ${mask.dtype} in ${op}: expected ${expected}`,
      [mask.dtype],
    );
  }
  const lead = scores.length - mask.ndim;
  const ok = lead >= 0 && mask.shape.every((m, i) => m === 1 || m === scores[lead + i]);
  if (!ok) {
    throw new ShapeError(
      op,
      `Cannot apply attention mask of shape ${formatShape(mask.shape)} in ${op}: ` +
        `it does not broadcast to the scores' shape [B, H, Q, K] = ${formatShape(scores)}`,
      [mask.shape, scores],
    );
  }
}

/** `Q·Kᵀ · scaling`, soft-capped when asked: `[B, H, Q, K]` in the query's dtype. */
export function attentionScores(query: Tensor, key: Tensor, options: AttentionOptions): Tensor {
  const scaling = options.scaling ?? query.shape[3] ** -0.5;
  const scores = query.matmul(key.transpose(2, 3)).mul(scaling); // (B, H, Q, K)
  const cap = options.softcap;
  return cap ? scores.div(cap).tanh().mul(cap) : scores;
}

/** Softmax over keys in float32 (float64 stays float64), cast back to `dtype`. */
export function attentionSoftmax(scores: Tensor, dtype: DType): Tensor {
  const x = scores.dtype === "float64" ? scores : scores.cast("float32");
  return x.softmax(-1).cast(dtype);
}

/** Dropout (training only), `probs · V`, and the `[B, Q, H, D]` contiguous layout. */
export function attendValues(
  module: AttentionModule,
  probs: Tensor,
  value: Tensor,
  options: AttentionOptions,
): { output: Tensor; probs: Tensor } {
  const dropped = probs.dropout(options.dropout ?? 0, module.training);
  const output = dropped.matmul(value) // (B, H, Q, D)
    .transpose(1, 2) // (B, Q, H, D)
    .contiguous();
  return { output, probs: dropped };
}
