/**
 * `checkpoint`: run a function without keeping its intermediates and recompute them during
 * backward, replaying its random numbers exactly.
 *
 * @module
 */

import {
  attachVjp,
  cat,
  getRngState,
  grad,
  isGradEnabled,
  noGrad,
  type OpTrace,
  setRngState,
  type Tensor,
  tidy,
  traceOps,
  withGradMode,
} from "@denoformers/core";

/**
 * A recomputation did not repeat the first run (different ops or shapes), so the gradients it
 * would give are not those of the original forward.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { CheckpointError } from "@denoformers/checkpoint";
 *
 * assert(new CheckpointError("x") instanceof Error);
 * ```
 */
export class CheckpointError extends Error {
  /**
   * Creates the error.
   *
   * @param message What differed.
   */
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

/**
 * Options of {@linkcode checkpoint}; pass an instance as the last argument.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { checkpoint, CheckpointOptions } from "@denoformers/checkpoint";
 *
 * const x = tensor([1, 2], { requiresGrad: true, backend: "cpu" });
 * const y = checkpoint((a) => a.mul(a), x, new CheckpointOptions({ determinismCheck: "none" }));
 * assertEquals(await y.toArray(), [1, 4]);
 * ```
 */
export class CheckpointOptions {
  /** `"default"` compares the recomputation's ops and shapes with the first run; `"none"` skips it. */
  readonly determinismCheck: "default" | "none";
  /** Replay the random stream of the first run during recomputation. */
  readonly preserveRngState: boolean;

  /**
   * Creates the options.
   *
   * @param options determinismCheck (default "default"), preserveRngState (default true).
   */
  constructor(options: { determinismCheck?: "default" | "none"; preserveRngState?: boolean } = {}) {
    this.determinismCheck = options.determinismCheck ?? "default";
    this.preserveRngState = options.preserveRngState ?? true;
  }
}

/** Float tensors inside a result (arrays and plain objects are searched), in order. */
function outputsOf(value: unknown, out: Tensor[] = [], depth = 0): Tensor[] {
  if (value === null || typeof value !== "object" || depth > 8) return out;
  if ("shape" in value && "dtype" in value && "dispose" in value) {
    const t = value as Tensor;
    if (t.dtype.startsWith("float") && !out.includes(t)) out.push(t);
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value)) { for (const v of value) outputsOf(v, out, depth + 1); }
  else if (proto === Object.prototype || proto === null) {
    for (const v of Object.values(value)) outputsOf(v, out, depth + 1);
  }
  return out;
}

/** A copy of `value` with tensors swapped through `map` (same array / object structure). */
function replaceTensors(value: unknown, map: Map<Tensor, Tensor>, depth = 0): unknown {
  if (value === null || typeof value !== "object" || depth > 8) return value;
  if (map.has(value as Tensor)) return map.get(value as Tensor);
  if (Array.isArray(value)) return value.map((v) => replaceTensors(v, map, depth + 1));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, replaceTensors(v, map, depth + 1)]),
  );
}

function compareTraces(first: OpTrace, again: OpTrace): void {
  const n = Math.min(first.ops.length, again.ops.length);
  for (let i = 0; i < n; i++) {
    if (first.ops[i] !== again.ops[i]) {
      throw new CheckpointError(
        `Cannot recompute checkpointed segment: op #${i} was "${
          first.ops[i]
        }" in the first run but "${again.ops[i]}" in the recomputation`,
      );
    }
  }
  if (first.ops.length !== again.ops.length) {
    throw new CheckpointError(
      `Cannot recompute checkpointed segment: the first run executed ${first.ops.length} ops but the recomputation executed ${again.ops.length} (a cache or other state changed between them?)`,
    );
  }
}

/**
 * Runs `fn(...inputs)` without keeping its intermediate activations; during backward, re-runs it
 * with gradients on (replaying the random stream of the first run, so dropout masks match) and
 * back-propagates through the recomputed graph.
 *
 * Every tensor `fn` reads that requires grad receives its gradient: positional inputs, tensors
 * inside option objects or closures, and parameters of modules called inside. The surrounding
 * random stream is left as if no recomputation happened. Works with `backward()` and `grad()`,
 * nested checkpoints, and outputs that are tensors inside arrays or plain objects. Without
 * gradient recording it is a plain call.
 *
 * @typeParam A The argument types.
 * @typeParam R The result type.
 * @param fn The segment.
 * @param inputs Its arguments, optionally followed by a {@linkcode CheckpointOptions}.
 * @returns What `fn` returns (its tensors now carry the recomputing gradient rule).
 * @throws {CheckpointError} During backward, if the recomputation differs from the first run.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { checkpoint } from "@denoformers/checkpoint";
 *
 * const w = tensor([1, 2, 3], { requiresGrad: true, backend: "cpu" });
 * const x = tensor([4, 5, 6], { backend: "cpu" });
 * const y = checkpoint((a, opts: { scale: number }) => a.mul(w).tanh().mul(opts.scale), x, { scale: 2 });
 * y.sum().backward();
 * // d/dw 2·tanh(a·w) = 2·a·(1 - tanh²(a·w)): tanh(4) ≈ 0.99933, so the gradient is small.
 * const expected = [4, 5, 6].map((a, i) => 2 * a * (1 - Math.tanh(a * (i + 1)) ** 2));
 * (await w.grad!.toArray() as number[]).forEach((g, i) => assertAlmostEquals(g, expected[i], 1e-4));
 * ```
 */
export function checkpoint<A extends unknown[], R>(
  fn: (...args: A) => R,
  ...inputs: [...A] | [...A, CheckpointOptions]
): R {
  const last = inputs.at(-1);
  const options = last instanceof CheckpointOptions ? last : new CheckpointOptions();
  const args = (last instanceof CheckpointOptions ? inputs.slice(0, -1) : inputs) as A;
  if (!isGradEnabled()) return fn(...args);

  const entryRng = getRngState();
  const { result, trace } = noGrad(() => traceOps(() => tidy(() => fn(...args))));
  const externals = [...trace.reads];
  const outs = outputsOf(result);
  if (externals.length === 0 || outs.length === 0) return result;

  const recompute = (): Tensor[] => {
    const resume = getRngState();
    if (options.preserveRngState) setRngState(entryRng);
    try {
      const again = withGradMode(true, () => traceOps(() => fn(...args)));
      if (options.determinismCheck === "default") compareTraces(trace, again.trace);
      return outputsOf(again.result);
    } finally {
      setRngState(resume);
    }
  };
  const localGrads = (fresh: Tensor[], gradOutputs: Tensor[], needs: readonly boolean[]) => {
    const wanted = externals.filter((_, i) => needs[i]);
    const live = fresh.map((t, i) => [t, gradOutputs[i]] as const).filter(([t]) => t.requiresGrad);
    if (live.length === 0) return externals.map(() => null);
    const gs = grad(live.map(([t]) => t), wanted, {
      gradOutputs: live.map(([, g]) => g),
      allowUnused: true,
      createGraph: isGradEnabled(),
      stopAtInputs: true,
    });
    let k = 0;
    return externals.map((_, i) => (needs[i] ? gs[k++] : null));
  };

  if (outs.length === 1) {
    attachVjp(outs[0], externals, (g, needs) => localGrads(recompute(), [g], needs), "checkpoint");
    return result;
  }
  // Several outputs share one recomputation: pack them into one tensor that carries the rule and
  // hand out views of it.
  const dtype = outs[0].dtype;
  const packed = noGrad(() => cat(outs.map((t) => t.cast(dtype).reshape([-1]))));
  attachVjp(packed, externals, (g, needs) => {
    const fresh = recompute();
    let at = 0;
    const pieces = fresh.map((t) => {
      const piece = g.narrow(0, at, t.size).reshape(t.shape).cast(t.dtype);
      at += t.size;
      return piece;
    });
    return localGrads(fresh, pieces, needs);
  }, "checkpoint");
  const views = new Map<Tensor, Tensor>();
  let at = 0;
  for (const t of outs) {
    views.set(t, packed.narrow(0, at, t.size).reshape(t.shape).cast(t.dtype));
    at += t.size;
  }
  for (const t of outs) t.dispose();
  return replaceTensors(result, views) as R;
}
