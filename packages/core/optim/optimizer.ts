/**
 * The optimizer base: parameter groups with their hyperparameters, per-parameter state tensors
 * kept alive across `tidy` scopes, `zeroGrad`, and state save/load.
 *
 * @module
 */

import { tensor } from "../creation.ts";
import { type DType, isFloat } from "../dtype.ts";
import { noGrad } from "../grad_mode.ts";
import { keep, tidy } from "../memory.ts";
import type { Tensor } from "../tensor.ts";

/** Hyperparameters every optimizer has. */
export interface BaseOptimizerOptions {
  /** Learning rate. */
  lr: number;
}

/** A group of parameters sharing hyperparameters (`O`); schedulers read and write `lr`. */
export type ParamGroup<O extends BaseOptimizerOptions> = O & {
  /** The parameters of this group. */
  params: Tensor[];
  /** The learning rate a scheduler started from (set by the first scheduler). */
  initialLr?: number;
};

/** What an optimizer accepts: parameters, or groups of parameters with overriding options. */
export type Params<O extends BaseOptimizerOptions> =
  | readonly Tensor[]
  | readonly (Partial<O> & { params: readonly Tensor[] })[];

/** The state of one parameter: its step count and named state tensors. */
export interface ParamState {
  /** Number of updates applied so far. */
  step: number;
  /** State tensors by name (e.g. `expAvg`), on the parameter's backend. */
  tensors: Map<string, Tensor>;
}

/** A state tensor read back to the host. */
export interface SavedTensor {
  /** The shape. */
  shape: number[];
  /** The dtype. */
  dtype: DType;
  /** The values, row-major. */
  data: number[];
}

/** A serialisable snapshot of an optimizer (plain data; JSON-safe for finite values). */
export interface OptimizerStateDict {
  /** Per-parameter state, keyed by the parameter's position across all groups. */
  state: Record<number, { step: number; tensors: Record<string, SavedTensor> }>;
  /** Group hyperparameters, with `params` as positions across all groups. */
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

/** Options of {@linkcode Optimizer.zeroGrad}. */
export interface ZeroGradOptions {
  /** Dispose `.grad` and set it to `null` instead of filling it with zeros. @default {true} */
  setToNone?: boolean;
}

/**
 * Base class of optimizers (`torch.optim.Optimizer`). Subclasses implement
 * {@linkcode Optimizer.update} for one parameter; {@linkcode Optimizer.step} runs it under
 * `noGrad` and `tidy` for every parameter with a gradient.
 *
 * @typeParam O The hyperparameters of a group.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor, type Tensor } from "@denoformers/core";
 * import { type BaseOptimizerOptions, Optimizer, type ParamGroup } from "@denoformers/core";
 *
 * class PlainGd extends Optimizer<BaseOptimizerOptions> {
 *   protected update(p: Tensor, g: Tensor, _s: unknown, group: ParamGroup<BaseOptimizerOptions>) {
 *     p.assign(p.sub(g.mul(group.lr)));
 *   }
 * }
 * const w = tensor([1, 2], { requiresGrad: true, backend: "cpu" });
 * const opt = new PlainGd([w], { lr: 0.5 });
 * w.mul(w).sum().backward();
 * opt.step();
 * assertEquals(await w.toArray(), [0, 0]);
 * ```
 */
export abstract class Optimizer<O extends BaseOptimizerOptions> {
  /** The default hyperparameters. */
  readonly defaults: Readonly<O>;
  /** The parameter groups (edit `lr` here, or let a scheduler do it). */
  readonly paramGroups: ParamGroup<O>[] = [];
  #state = new Map<Tensor, ParamState>();
  // Typed loosely so that `Optimizer<SGDOptions>` stays assignable to `Optimizer<BaseOptimizerOptions>`.
  #validate: (group: BaseOptimizerOptions) => void;

  /**
   * Creates the optimizer.
   *
   * @param params Parameters, or groups `{ params, ...overrides }`.
   * @param defaults Default hyperparameters.
   * @param validate Throws for invalid hyperparameters of a group.
   */
  constructor(params: Params<O>, defaults: O, validate: (group: O) => void = () => {}) {
    this.defaults = Object.freeze({ ...defaults });
    this.#validate = validate as unknown as (group: BaseOptimizerOptions) => void;
    if (params.length === 0) {
      throw new RangeError("Cannot create optimizer: the parameter list is empty");
    }
    const groups = params[0] instanceof Object && "params" in params[0]
      ? params as readonly (Partial<O> & { params: readonly Tensor[] })[]
      : [{ params: params as readonly Tensor[] } as Partial<O> & { params: readonly Tensor[] }];
    for (const g of groups) this.addParamGroup(g);
  }

  /**
   * Adds a group of parameters (`add_param_group`); missing options come from the defaults.
   *
   * @param group The parameters and option overrides.
   */
  addParamGroup(group: Partial<O> & { params: readonly Tensor[] }): void {
    const merged = { ...this.defaults, ...group, params: [...group.params] } as ParamGroup<O>;
    this.#validate(merged);
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    for (const p of merged.params) {
      if (seen.has(p)) {
        throw new RangeError(
          "Cannot add parameter group: a parameter appears in more than one group",
        );
      }
      if (!isFloat(p.dtype)) {
        throw new TypeError(
          `Cannot optimize a ${p.dtype} tensor of shape [${
            p.shape.join(", ")
          }]: expected a float tensor`,
        );
      }
      seen.add(p);
    }
    this.paramGroups.push(merged);
  }

  /** The state of each parameter that has been updated. @returns The state map. */
  get state(): ReadonlyMap<Tensor, ParamState> {
    return this.#state;
  }

  /**
   * Updates one parameter in place (with `param.assign`); runs under `noGrad` inside a `tidy`.
   * New state tensors go through {@linkcode Optimizer.setState} so they outlive the scope.
   *
   * @param param The parameter.
   * @param grad Its gradient.
   * @param state Its state (step already incremented).
   * @param group Its group's hyperparameters.
   */
  protected abstract update(
    param: Tensor,
    grad: Tensor,
    state: ParamState,
    group: ParamGroup<O>,
  ): void;

  /**
   * Stores `value` as state tensor `name`: assigned into the existing tensor, or kept as a new one.
   *
   * @param state The parameter's state.
   * @param name The state name.
   * @param value The new value (owned by the state afterwards).
   * @returns The stored state tensor.
   */
  protected setState(state: ParamState, name: string, value: Tensor): Tensor {
    const old = state.tensors.get(name);
    if (old) return old.assign(value);
    const owned = keep(value.detach());
    state.tensors.set(name, owned);
    return owned;
  }

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    noGrad(() =>
      tidy(() => {
        for (const group of this.paramGroups) {
          for (const p of group.params) {
            if (!p.grad) continue;
            let s = this.#state.get(p);
            if (!s) this.#state.set(p, s = { step: 0, tensors: new Map() });
            s.step++;
            this.update(p, p.grad, s, group);
          }
        }
      })
    );
  }

  /**
   * Clears the gradients of all parameters.
   *
   * @param options setToNone (dispose and set `null`, the default) or fill with zeros.
   */
  zeroGrad(options: ZeroGradOptions = {}): void {
    const { setToNone = true } = options;
    for (const p of this.paramGroups.flatMap((g) => g.params)) {
      if (!p.grad) continue;
      if (setToNone) {
        p.grad.dispose();
        p.grad = null;
      } else {
        const g = p.grad;
        noGrad(() => g.assign(g.zerosLike()));
      }
    }
  }

  /**
   * Reads the state back to the host (hence async): step counts, state tensors and group
   * hyperparameters, with parameters named by their position across all groups.
   *
   * @returns The snapshot.
   */
  async stateDict(): Promise<OptimizerStateDict> {
    const all = this.paramGroups.flatMap((g) => g.params);
    const state: OptimizerStateDict["state"] = {};
    for (const [i, p] of all.entries()) {
      const s = this.#state.get(p);
      if (!s) continue;
      const tensors: Record<string, SavedTensor> = {};
      for (const [name, t] of s.tensors) {
        tensors[name] = { shape: [...t.shape], dtype: t.dtype, data: Array.from(await t.data()) };
      }
      state[i] = { step: s.step, tensors };
    }
    let at = 0;
    const paramGroups = this.paramGroups.map(({ params, ...rest }) => ({
      ...structuredClone(rest),
      params: params.map(() => at++),
    }));
    return { state, paramGroups };
  }

  /**
   * Restores a snapshot from {@linkcode Optimizer.stateDict}: hyperparameters of each group
   * and the state of each parameter (created on the parameter's backend, in its dtype).
   *
   * @param dict The snapshot.
   * @throws {RangeError} When the groups do not match this optimizer's.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    if (dict.paramGroups.length !== this.paramGroups.length) {
      throw new RangeError(
        `Cannot load optimizer state: it has ${dict.paramGroups.length} parameter groups, expected ${this.paramGroups.length}`,
      );
    }
    dict.paramGroups.forEach((g, i) => {
      if (g.params.length !== this.paramGroups[i].params.length) {
        throw new RangeError(
          `Cannot load optimizer state: group ${i} has ${g.params.length} parameters, expected ${
            this.paramGroups[i].params.length
          }`,
        );
      }
    });
    const all = this.paramGroups.flatMap((g) => g.params);
    this.#disposeState();
    dict.paramGroups.forEach(({ params: _, ...rest }, i) => {
      Object.assign(this.paramGroups[i], structuredClone(rest));
    });
    for (const [key, saved] of Object.entries(dict.state)) {
      const p = all[Number(key)];
      const tensors = new Map<string, Tensor>();
      for (const [name, t] of Object.entries(saved.tensors)) {
        const dtype = isFloat(t.dtype) ? p.dtype : t.dtype;
        tensors.set(name, keep(tensor(t.data, { dtype, shape: t.shape, backend: p.backend })));
      }
      this.#state.set(p, { step: saved.step, tensors });
    }
  }

  /** Releases the state tensors (the optimizer starts afresh on its next step). */
  dispose(): void {
    this.#disposeState();
  }

  #disposeState(): void {
    for (const s of this.#state.values()) for (const t of s.tensors.values()) t.dispose();
    this.#state.clear();
  }
}
