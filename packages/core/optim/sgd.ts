/**
 * Stochastic gradient descent with momentum, dampening, Nesterov momentum, weight decay and
 * maximisation, exactly as `torch.optim.SGD` computes it.
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import { Optimizer, type ParamGroup, type Params, type ParamState } from "./optimizer.ts";

/** Hyperparameters of {@linkcode SGD}. */
export interface SGDOptions {
  /** Learning rate. @default {1e-3} */
  lr: number;
  /** Momentum factor. @default {0} */
  momentum: number;
  /** Dampening of the momentum. @default {0} */
  dampening: number;
  /** L2 penalty added to the gradient (coupled weight decay). @default {0} */
  weightDecay: number;
  /** Use Nesterov momentum (needs momentum > 0 and dampening 0). @default {false} */
  nesterov: boolean;
  /** Maximise the objective instead of minimising it. @default {false} */
  maximize: boolean;
}

function validate(o: SGDOptions): void {
  for (const key of ["lr", "momentum", "weightDecay"] as const) {
    if (!(o[key] >= 0)) {
      throw new RangeError(
        `Cannot create SGD: ${key} is ${o[key]}, expected a non-negative number`,
      );
    }
  }
  if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
    throw new RangeError(
      `Cannot create SGD: nesterov needs momentum > 0 and dampening 0, got momentum ${o.momentum} and dampening ${o.dampening}`,
    );
  }
}

/**
 * SGD (`torch.optim.SGD`). Per step, with gradient g of parameter p:
 * `g ← -g` if maximize; `g ← g + weightDecay·p`; with momentum, the buffer is `b ← g` on the
 * first step and `b ← momentum·b + (1 - dampening)·g` after, and `g ← g + momentum·b` (Nesterov)
 * or `g ← b`; finally `p ← p - lr·g`.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { SGD } from "@denoformers/core";
 *
 * const w = tensor([1], { requiresGrad: true, backend: "cpu" });
 * const opt = new SGD([w], { lr: 0.1, momentum: 0.9 });
 * for (let i = 0; i < 2; i++) {
 *   opt.zeroGrad();
 *   w.mul(w).sum().backward(); // gradient 2w
 *   opt.step();
 * }
 * // Step 1: b = 2, w = 0.8. Step 2: b = 0.9·2 + 1.6 = 3.4, w = 0.8 - 0.34 = 0.46.
 * assertAlmostEquals(await w.item(), 0.46, 1e-6);
 * ```
 */
export class SGD extends Optimizer<SGDOptions> {
  /**
   * Creates the optimizer.
   *
   * @param params Parameters, or groups `{ params, ...overrides }`.
   * @param options Hyperparameters (see {@linkcode SGDOptions} for defaults).
   * @throws {RangeError} For negative hyperparameters or an invalid Nesterov setting.
   */
  constructor(params: Params<SGDOptions>, options: Partial<SGDOptions> = {}) {
    const defaults: SGDOptions = {
      lr: 1e-3,
      momentum: 0,
      dampening: 0,
      weightDecay: 0,
      nesterov: false,
      maximize: false,
      ...options,
    };
    super(params, defaults, validate);
  }

  /**
   * One SGD update of `param`.
   *
   * @param param The parameter.
   * @param grad Its gradient.
   * @param state Its state (`momentumBuffer`).
   * @param group The hyperparameters.
   */
  protected update(
    param: Tensor,
    grad: Tensor,
    state: ParamState,
    group: ParamGroup<SGDOptions>,
  ): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    let d = maximize ? grad.neg() : grad;
    if (weightDecay !== 0) d = d.add(param.mul(weightDecay));
    if (momentum !== 0) {
      const old = state.tensors.get("momentumBuffer");
      const buf = this.setState(
        state,
        "momentumBuffer",
        // The first buffer is g itself (torch clones it; state tensors never alias here).
        old ? old.mul(momentum).add(d.mul(1 - dampening)) : d,
      );
      d = nesterov ? d.add(buf.mul(momentum)) : buf;
    }
    param.assign(param.sub(d.mul(lr)));
  }
}
