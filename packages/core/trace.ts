/**
 * Tracing what a block of code does with tensors: which tensors requiring grad it reads, and which
 * ops it runs with what output shapes. Gradient checkpointing uses it to find every tensor a
 * segment depends on (arguments, option objects, closures, parameters) and to check that a
 * recomputation repeats the first run.
 *
 * @module
 */

import type { Tensor } from "./tensor.ts";

/** What {@linkcode traceOps} observed. */
export interface OpTrace {
  /** Tensors requiring grad that ops read, in first-use order. */
  readonly reads: Set<Tensor>;
  /** One entry per op: `"<op> [shape] dtype"`. */
  readonly ops: string[];
}

const active: OpTrace[] = [];

/**
 * Runs `fn` and records the ops it runs and the grad-requiring tensors they read.
 * Traces nest: an op is recorded by every enclosing trace.
 *
 * @typeParam T The return type.
 * @param fn A synchronous function.
 * @returns `fn`'s result and the trace.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { noGrad, tensor, traceOps } from "@denoformers/core";
 *
 * const w = tensor([1, 2], { requiresGrad: true, backend: "cpu" });
 * // Without a graph only outside tensors require grad, so `reads` lists what the code depends on.
 * const { trace } = noGrad(() => traceOps(() => w.mul(2).sum()));
 * assertEquals([...trace.reads], [w]);
 * assertEquals(trace.ops, ["mul [2] float32", "sum [] float32"]);
 * ```
 */
export function traceOps<T>(fn: () => T): { result: T; trace: OpTrace } {
  const trace: OpTrace = { reads: new Set(), ops: [] };
  active.push(trace);
  try {
    return { result: fn(), trace };
  } finally {
    active.splice(active.lastIndexOf(trace), 1);
  }
}

/** @internal Called by `apply` for every op. */
export function noteOp(name: string, inputs: readonly Tensor[], out: Tensor): void {
  if (active.length === 0) return;
  const entry = `${name} [${out.shape.join(", ")}] ${out.dtype}`;
  for (const trace of active) {
    trace.ops.push(entry);
    for (const t of inputs) if (t.requiresGrad) trace.reads.add(t);
  }
}
