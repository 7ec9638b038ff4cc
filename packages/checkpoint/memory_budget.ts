/**
 * Budgeted checkpointing: checkpoint as few layers as possible while keeping the measured peak
 * memory of a training step under a budget.
 *
 * @module
 */

import { type BackendName, getBackend, memory, resetPeakMemory, tidy } from "@denoformers/core";
import { type CheckpointableModel, gradientCheckpointingEnable } from "./gradient_checkpointing.ts";
import { GradientCheckpointingLayer } from "./gradient_checkpointing_layer.ts";

/** Options of {@linkcode gradientCheckpointingWithinBudget}. */
export interface MemoryBudgetOptions {
  /** The most bytes a training step may hold at once (`memory().peakBytes` above what was live before). */
  memoryBudgetBytes: number;
  /** One representative training step (forward and backward, no optimizer step). */
  probe: () => void;
  /** The backend to measure. @default {the current backend} */
  backend?: BackendName;
}

/** What the budgeted mode chose and measured. */
export interface MemoryBudgetReport {
  /** Layers left unchecked (the last ones), out of `layers`. */
  unchecked: number;
  /** Number of checkpointing layers in the model. */
  layers: number;
  /** Measured peak of a step with the chosen setting, in bytes. */
  peakBytes: number;
  /** Measured peak with every layer checkpointed. */
  minimumBytes: number;
}

/**
 * Enables checkpointing on as few layers as possible so that a training step stays under
 * `memoryBudgetBytes`, measuring with `memory()`: one probe with every layer checkpointed (the
 * minimum), one with a single layer unchecked (the cost of one layer's activations), then the
 * largest number of unchecked layers predicted to fit, verified and reduced until it does.
 * Gradients the probes accumulate are cleared.
 *
 * @param model The model.
 * @param options The budget and a probe step.
 * @returns What was chosen and measured.
 * @throws {RangeError} When even full checkpointing exceeds the budget.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Linear, Module, type Tensor, tensor } from "@denoformers/core";
 * import { GradientCheckpointingLayer, gradientCheckpointingWithinBudget } from "@denoformers/checkpoint";
 *
 * class Block extends GradientCheckpointingLayer {
 *   fc = new Linear(4, 4, { backend: "cpu" });
 *   forward(x: Tensor): Tensor {
 *     return this.fc.call(x).tanh();
 *   }
 * }
 * class Stack extends Module {
 *   blocks = [new Block(), new Block()];
 *   forward(x: Tensor): Tensor {
 *     return this.blocks.reduce((h, b) => b.call(h), x);
 *   }
 * }
 * const model = new Stack();
 * const x = tensor([[1, 2, 3, 4]], { backend: "cpu" });
 * const report = gradientCheckpointingWithinBudget(model, {
 *   memoryBudgetBytes: 1e9,
 *   probe: () => model.call(x).sum().backward(),
 *   backend: "cpu",
 * });
 * assertEquals(report.unchecked, 2);
 * ```
 */
export function gradientCheckpointingWithinBudget(
  model: CheckpointableModel,
  options: MemoryBudgetOptions,
): MemoryBudgetReport {
  const backend = options.backend ?? getBackend();
  gradientCheckpointingEnable(model);
  const layers = model.namedModules().map(([, m]) => m).filter((
    m,
  ): m is GradientCheckpointingLayer => m instanceof GradientCheckpointingLayer);
  const setUnchecked = (k: number) =>
    layers.forEach((l, i) => (l.gradientCheckpointing = i < layers.length - k));
  const measure = (k: number) => {
    setUnchecked(k);
    const base = memory(backend).liveBytes;
    resetPeakMemory(backend);
    tidy(options.probe);
    const peak = memory(backend).peakBytes - base;
    for (const p of model.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
    return peak;
  };
  const minimumBytes = measure(0);
  if (minimumBytes > options.memoryBudgetBytes) {
    setUnchecked(0);
    throw new RangeError(
      `Cannot fit a training step in ${options.memoryBudgetBytes} bytes: it needs ${minimumBytes} with every layer checkpointed`,
    );
  }
  const perLayer = layers.length > 0 ? Math.max(1, measure(1) - minimumBytes) : 1;
  let k = Math.min(
    layers.length,
    Math.floor((options.memoryBudgetBytes - minimumBytes) / perLayer),
  );
  let peak = k > 0 ? measure(k) : minimumBytes;
  while (k > 0 && peak > options.memoryBudgetBytes) peak = measure(--k);
  setUnchecked(k);
  return { unchecked: k, layers: layers.length, peakBytes: peak, minimumBytes };
}
