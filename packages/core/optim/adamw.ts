/**
 * Adam with decoupled weight decay, exactly as `torch.optim.AdamW` computes it.
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import { Optimizer, type ParamGroup, type Params, type ParamState } from "./optimizer.ts";

/** Hyperparameters of {@linkcode AdamW}. */
export interface AdamWOptions {
  /** Learning rate. @default {1e-3} */
  lr: number;
  /** Decay rates of the first and second moment estimates. @default {[0.9, 0.999]} */
  betas: [number, number];
  /** Added to the denominator for numerical stability. @default {1e-8} */
  eps: number;
  /** Decoupled weight decay: `p ← p·(1 - lr·weightDecay)` before each step. @default {1e-2} */
  weightDecay: number;
  /** Use the AMSGrad variant (the running maximum of the second moment). @default {false} */
  amsgrad: boolean;
  /** Maximise the objective instead of minimising it. @default {false} */
  maximize: boolean;
}

function validate(o: AdamWOptions): void {
  for (const key of ["lr", "eps", "weightDecay"] as const) {
    if (!(o[key] >= 0)) {
      throw new RangeError(
        `Cannot create AdamW: ${key} is ${o[key]}, expected a non-negative number`,
      );
    }
  }
  o.betas.forEach((b, i) => {
    if (!(b >= 0 && b < 1)) {
      throw new RangeError(`Cannot create AdamW: betas[${i}] is ${b}, expected a number in [0, 1)`);
    }
  });
}

/**
 * AdamW (`torch.optim.AdamW`). Per step t (from 1), with gradient g of parameter p:
 * `p ← p·(1 - lr·λ)`; `m ← β1·m + (1 - β1)·g`; `v ← β2·v + (1 - β2)·g²`;
 * `v̂ ← max(v̂, v)` with amsgrad (else `v̂ = v`);
 * `p ← p - (lr / (1 - β1^t)) · m / (sqrt(v̂) / sqrt(1 - β2^t) + eps)`.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { AdamW } from "@denoformers/core";
 *
 * const w = tensor([1], { requiresGrad: true, backend: "cpu" });
 * const opt = new AdamW([w], { lr: 0.1, weightDecay: 0 });
 * w.mul(3).sum().backward();
 * opt.step();
 * // The first Adam step moves by lr·g/(|g| + eps) ≈ lr.
 * assertAlmostEquals(await w.item(), 0.9, 1e-6);
 * ```
 */
export class AdamW extends Optimizer<AdamWOptions> {
  /**
   * Creates the optimizer.
   *
   * @param params Parameters, or groups `{ params, ...overrides }`.
   * @param options Hyperparameters (see {@linkcode AdamWOptions} for defaults).
   * @throws {RangeError} For out-of-range hyperparameters.
   */
  constructor(params: Params<AdamWOptions>, options: Partial<AdamWOptions> = {}) {
    const defaults: AdamWOptions = {
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 1e-2,
      amsgrad: false,
      maximize: false,
      ...options,
    };
    super(params, defaults, validate);
  }

  /**
   * One AdamW update of `param`.
   *
   * @param param The parameter.
   * @param grad Its gradient.
   * @param state Its state (`expAvg`, `expAvgSq`, and `maxExpAvgSq` with amsgrad).
   * @param group The hyperparameters.
   */
  protected update(
    param: Tensor,
    grad: Tensor,
    state: ParamState,
    group: ParamGroup<AdamWOptions>,
  ): void {
    const { lr, betas: [beta1, beta2], eps, weightDecay, amsgrad, maximize } = group;
    const g = maximize ? grad.neg() : grad;
    const t = state.step;
    const m0 = state.tensors.get("expAvg");
    const v0 = state.tensors.get("expAvgSq");
    // Zero-initialised moments: the first step needs no old value.
    const m = this.setState(
      state,
      "expAvg",
      m0 ? m0.mul(beta1).add(g.mul(1 - beta1)) : g.mul(1 - beta1),
    );
    const gg = g.mul(g).mul(1 - beta2);
    const v = this.setState(state, "expAvgSq", v0 ? v0.mul(beta2).add(gg) : gg);
    let vHat = v;
    if (amsgrad) {
      const old = state.tensors.get("maxExpAvgSq");
      vHat = this.setState(state, "maxExpAvgSq", old ? old.maximum(v) : v.clone());
    }
    const stepSize = lr / (1 - beta1 ** t);
    const denom = vHat.sqrt().div(Math.sqrt(1 - beta2 ** t)).add(eps);
    const decayed = weightDecay !== 0 ? param.mul(1 - lr * weightDecay) : param;
    param.assign(decayed.sub(m.div(denom).mul(stepSize)));
  }
}
