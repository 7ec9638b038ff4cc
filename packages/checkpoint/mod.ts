/**
 * Gradient checkpointing: recompute activations in backward instead of keeping them, replaying
 * dropout exactly, so deep models train in less memory with the same gradients.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { checkpoint } from "@denoformers/checkpoint";
 *
 * const x = tensor([1, 2], { requiresGrad: true, backend: "cpu" });
 * checkpoint((a) => a.mul(a).sum(), x).backward();
 * assertEquals(await x.grad!.toArray(), [2, 4]);
 * ```
 *
 * @module
 */

export { checkpoint, CheckpointError, CheckpointOptions } from "./checkpoint.ts";
export { GradientCheckpointingLayer } from "./gradient_checkpointing_layer.ts";
export {
  applyConfigGradientCheckpointing,
  type CheckpointableModel,
  disableInputRequireGrads,
  enableInputRequireGrads,
  gradientCheckpointingDisable,
  gradientCheckpointingEnable,
  type GradientCheckpointingOptions,
  isGradientCheckpointing,
  supportsGradientCheckpointing,
} from "./gradient_checkpointing.ts";
export {
  gradientCheckpointingWithinBudget,
  type MemoryBudgetOptions,
  type MemoryBudgetReport,
} from "./memory_budget.ts";
