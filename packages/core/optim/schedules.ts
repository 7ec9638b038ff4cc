/**
 * Learning-rate schedulers with `torch.optim.lr_scheduler` semantics, and the Hugging Face
 * schedules (`get_constant_schedule`, `get_constant_schedule_with_warmup`,
 * `get_linear_schedule_with_warmup`, `get_cosine_schedule_with_warmup`) with their exact lambdas.
 *
 * @module
 */

import type { BaseOptimizerOptions, Optimizer } from "./optimizer.ts";

/** The scheduler state saved by {@linkcode LRScheduler.stateDict}. */
export interface SchedulerStateDict {
  /** The step counter (`last_epoch`). */
  lastEpoch: number;
  /** The learning rates each group started from. */
  baseLrs: number[];
  /** The learning rates last set. */
  lastLr: number[];
}

/**
 * Base of learning-rate schedulers (`torch.optim.lr_scheduler.LRScheduler`). The counter
 * starts at `lastEpoch` (-1 for a fresh run); subclasses call {@linkcode LRScheduler.initialStep}
 * at the end of their constructor, which advances it to `lastEpoch + 1` and sets the learning
 * rates, as torch does on construction.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { SGD } from "@denoformers/core";
 * import { LambdaLR } from "@denoformers/core";
 *
 * const opt = new SGD([tensor([1], { backend: "cpu" })], { lr: 1 });
 * const sched = new LambdaLR(opt, (step) => 0.5 ** step);
 * sched.step();
 * assertEquals(sched.getLastLr(), [0.5]);
 * ```
 */
export abstract class LRScheduler {
  /** The optimizer whose group learning rates are set. */
  readonly optimizer: Optimizer<BaseOptimizerOptions>;
  #baseLrs: number[];
  #lastEpoch: number;
  #lastLr: number[] = [];

  /**
   * Records the base learning rates (`initialLr` of each group, set from `lr` on a fresh run).
   *
   * @param optimizer The optimizer.
   * @param lastEpoch The last step taken, to resume (-1 for a fresh run). @default {-1}
   * @throws {RangeError} When resuming and a group has no `initialLr`.
   */
  constructor(optimizer: Optimizer<BaseOptimizerOptions>, lastEpoch = -1) {
    this.optimizer = optimizer;
    optimizer.paramGroups.forEach((g, i) => {
      if (lastEpoch === -1) g.initialLr ??= g.lr;
      else if (g.initialLr === undefined) {
        throw new RangeError(
          `Cannot resume scheduler at step ${lastEpoch}: param group ${i} has no initialLr`,
        );
      }
    });
    this.#baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
    this.#lastEpoch = lastEpoch;
  }

  /** The learning rates the groups started from. @returns One per group. */
  get baseLrs(): readonly number[] {
    return this.#baseLrs;
  }

  /** The current step counter (`last_epoch`). @returns The counter. */
  get lastEpoch(): number {
    return this.#lastEpoch;
  }

  /**
   * The learning rates for step `lastEpoch`.
   *
   * @param lastEpoch The step.
   * @returns One learning rate per group.
   */
  protected abstract computeLr(lastEpoch: number): number[];

  /** Takes the construction-time step; subclasses call it last in their constructor. */
  protected initialStep(): void {
    this.step();
  }

  /** Advances the counter by one and sets each group's learning rate. */
  step(): void {
    this.#lastEpoch++;
    const lrs = this.computeLr(this.#lastEpoch);
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs[i]));
    this.#lastLr = lrs;
  }

  /** The learning rates last set. @returns One per group. */
  getLastLr(): number[] {
    return [...this.#lastLr];
  }

  /** The counter and learning rates, for resuming. @returns The state. */
  stateDict(): SchedulerStateDict {
    return { lastEpoch: this.#lastEpoch, baseLrs: [...this.#baseLrs], lastLr: [...this.#lastLr] };
  }

  /**
   * Restores a state from {@linkcode LRScheduler.stateDict} (group learning rates come back
   * with the optimizer's own state).
   *
   * @param state The state.
   */
  loadStateDict(state: SchedulerStateDict): void {
    this.#lastEpoch = state.lastEpoch;
    this.#baseLrs = [...state.baseLrs];
    this.#lastLr = [...state.lastLr];
  }
}

/** A multiplier of the base learning rate as a function of the step. */
export type LrLambda = (step: number) => number;

/**
 * `lr = baseLr · λ(step)` (`torch.optim.lr_scheduler.LambdaLR`), one λ for all groups or one
 * per group.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { SGD } from "@denoformers/core";
 * import { LambdaLR } from "@denoformers/core";
 *
 * const opt = new SGD([tensor([1], { backend: "cpu" })], { lr: 2 });
 * new LambdaLR(opt, (step) => step + 0.5);
 * assertEquals(opt.paramGroups[0].lr, 1);
 * ```
 */
export class LambdaLR extends LRScheduler {
  #lambdas: LrLambda[];

  /**
   * Creates the scheduler and sets the learning rates for step `lastEpoch + 1`.
   *
   * @param optimizer The optimizer.
   * @param lrLambda One λ, or one per parameter group.
   * @param lastEpoch The last step taken (-1 for a fresh run). @default {-1}
   * @throws {RangeError} When the number of λs differs from the number of groups.
   */
  constructor(
    optimizer: Optimizer<BaseOptimizerOptions>,
    lrLambda: LrLambda | readonly LrLambda[],
    lastEpoch = -1,
  ) {
    super(optimizer, lastEpoch);
    const n = optimizer.paramGroups.length;
    if (typeof lrLambda !== "function" && lrLambda.length !== n) {
      throw new RangeError(
        `Cannot create LambdaLR: got ${lrLambda.length} lr lambdas for ${n} parameter groups`,
      );
    }
    this.#lambdas = typeof lrLambda === "function" ? Array(n).fill(lrLambda) : [...lrLambda];
    this.initialStep();
  }

  /**
   * `baseLr · λ(lastEpoch)` per group.
   *
   * @param lastEpoch The step.
   * @returns The learning rates.
   */
  protected computeLr(lastEpoch: number): number[] {
    return this.baseLrs.map((base, i) => base * this.#lambdas[i](lastEpoch));
  }
}

/** Options of the Hugging Face schedules. */
export interface ScheduleOptions {
  /** Steps of linear warmup from 0 to the base learning rate. @default {0} */
  numWarmupSteps?: number;
  /** The last step taken, to resume (-1 for a fresh run). @default {-1} */
  lastEpoch?: number;
}

/** Options of the schedules that decay over a fixed number of steps. */
export interface DecayScheduleOptions extends ScheduleOptions {
  /** Total number of training steps. */
  numTrainingSteps: number;
}

/** Options of {@linkcode cosineScheduleWithWarmup}. */
export interface CosineScheduleOptions extends DecayScheduleOptions {
  /** Number of cosine waves after warmup (0.5 decays from the maximum to 0 once). @default {0.5} */
  numCycles?: number;
}

function warmup(step: number, numWarmupSteps: number): number {
  return step / Math.max(1, numWarmupSteps);
}

/**
 * A constant learning rate (`get_constant_schedule`).
 *
 * @param optimizer The optimizer.
 * @param options lastEpoch.
 * @returns The scheduler.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { SGD } from "@denoformers/core";
 * import { constantSchedule } from "@denoformers/core";
 *
 * const s = constantSchedule(new SGD([tensor([1], { backend: "cpu" })], { lr: 0.1 }));
 * s.step();
 * assertEquals(s.getLastLr(), [0.1]);
 * ```
 */
export function constantSchedule(
  optimizer: Optimizer<BaseOptimizerOptions>,
  options: Pick<ScheduleOptions, "lastEpoch"> = {},
): LambdaLR {
  return new LambdaLR(optimizer, () => 1, options.lastEpoch);
}

/**
 * Linear warmup from 0, then constant (`get_constant_schedule_with_warmup`):
 * `λ(s) = s / max(1, warmup)` for `s < warmup`, else 1.
 *
 * @param optimizer The optimizer.
 * @param options numWarmupSteps and lastEpoch.
 * @returns The scheduler.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { SGD } from "@denoformers/core";
 * import { constantScheduleWithWarmup } from "@denoformers/core";
 *
 * const opt = new SGD([tensor([1], { backend: "cpu" })], { lr: 1 });
 * const s = constantScheduleWithWarmup(opt, { numWarmupSteps: 4 });
 * s.step();
 * assertEquals(s.getLastLr(), [0.25]);
 * ```
 */
export function constantScheduleWithWarmup(
  optimizer: Optimizer<BaseOptimizerOptions>,
  options: ScheduleOptions = {},
): LambdaLR {
  const { numWarmupSteps = 0, lastEpoch } = options;
  return new LambdaLR(
    optimizer,
    (s) => (s < numWarmupSteps ? warmup(s, numWarmupSteps) : 1),
    lastEpoch,
  );
}

/**
 * Linear warmup, then linear decay to 0 at `numTrainingSteps`
 * (`get_linear_schedule_with_warmup`): after warmup
 * `λ(s) = max(0, (total - s) / max(1, total - warmup))`.
 *
 * @param optimizer The optimizer.
 * @param options numWarmupSteps, numTrainingSteps and lastEpoch.
 * @returns The scheduler.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { SGD } from "@denoformers/core";
 * import { linearScheduleWithWarmup } from "@denoformers/core";
 *
 * const opt = new SGD([tensor([1], { backend: "cpu" })], { lr: 1 });
 * const s = linearScheduleWithWarmup(opt, { numWarmupSteps: 10, numTrainingSteps: 100 });
 * for (let i = 0; i < 5; i++) s.step();
 * assertEquals(s.getLastLr(), [0.5]);
 * ```
 */
export function linearScheduleWithWarmup(
  optimizer: Optimizer<BaseOptimizerOptions>,
  options: DecayScheduleOptions,
): LambdaLR {
  const { numWarmupSteps = 0, numTrainingSteps, lastEpoch } = options;
  return new LambdaLR(optimizer, (s) => {
    if (s < numWarmupSteps) return warmup(s, numWarmupSteps);
    return Math.max(0, (numTrainingSteps - s) / Math.max(1, numTrainingSteps - numWarmupSteps));
  }, lastEpoch);
}

/**
 * Linear warmup, then a cosine from the base learning rate (`get_cosine_schedule_with_warmup`):
 * after warmup, with `progress = (s - warmup) / max(1, total - warmup)`,
 * `λ(s) = max(0, 0.5·(1 + cos(π · numCycles · 2 · progress)))`.
 *
 * @param optimizer The optimizer.
 * @param options numWarmupSteps, numTrainingSteps, numCycles and lastEpoch.
 * @returns The scheduler.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { SGD } from "@denoformers/core";
 * import { cosineScheduleWithWarmup } from "@denoformers/core";
 *
 * const opt = new SGD([tensor([1], { backend: "cpu" })], { lr: 1 });
 * const s = cosineScheduleWithWarmup(opt, { numWarmupSteps: 0, numTrainingSteps: 10 });
 * for (let i = 0; i < 5; i++) s.step();
 * assertAlmostEquals(s.getLastLr()[0], 0.5);
 * ```
 */
export function cosineScheduleWithWarmup(
  optimizer: Optimizer<BaseOptimizerOptions>,
  options: CosineScheduleOptions,
): LambdaLR {
  const { numWarmupSteps = 0, numTrainingSteps, numCycles = 0.5, lastEpoch } = options;
  return new LambdaLR(optimizer, (s) => {
    if (s < numWarmupSteps) return warmup(s, numWarmupSteps);
    const progress = (s - numWarmupSteps) / Math.max(1, numTrainingSteps - numWarmupSteps);
    return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * progress)));
  }, lastEpoch);
}
