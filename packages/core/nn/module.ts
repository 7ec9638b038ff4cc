/**
 * `Module`: a plain class whose parameters, buffers and children are found by walking its fields,
 * so field names become Hugging Face state-dict keys (`encoder.layer.0.attention.self.query.weight`).
 *
 * @module
 */

import type { BackendName } from "../backends/backend.ts";
import { ShapeError } from "../errors.ts";
import { noGrad } from "../grad_mode.ts";
import { formatShape } from "../shape.ts";
import { fromTypedArray, Tensor } from "../tensor.ts";

const PARAMETERS = new WeakSet<Tensor>();
const NON_PERSISTENT = new WeakSet<Tensor>();

/**
 * Marks a tensor as a trainable parameter (it requires grad and stays a parameter when frozen).
 *
 * @param t A float tensor.
 * @returns The same tensor.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { parameter, zeros } from "@denoformers/core";
 *
 * assert(parameter(zeros([2], { backend: "cpu" })).requiresGrad);
 * ```
 */
export function parameter(t: Tensor): Tensor {
  PARAMETERS.add(t);
  return t.requiresGrad_(true);
}

/**
 * Marks a tensor field as a buffer left out of `stateDict()` (like PyTorch's
 * `register_buffer(..., persistent=False)`), for caches such as rotary frequencies.
 *
 * @param t The tensor.
 * @returns The same tensor.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Module, nonPersistent, ones, type Tensor } from "@denoformers/core";
 *
 * class Cache extends Module {
 *   table: Tensor = nonPersistent(ones([2], { backend: "cpu" }));
 *   forward(x: Tensor): Tensor {
 *     return x.mul(this.table);
 *   }
 * }
 * assertEquals(Object.keys(new Cache().stateDict()), []);
 * ```
 */
export function nonPersistent(t: Tensor): Tensor {
  NON_PERSISTENT.add(t);
  return t;
}

/** Called after `forward`; may return a replacement output. */
export type ForwardHook = (module: Module, args: unknown[], output: unknown) => unknown;
/** Called before `forward`; may return replacement arguments. */
export type ForwardPreHook = (module: Module, args: unknown[]) => unknown[] | void;
/** Wraps the call of `forward` (gradient checkpointing installs one). */
export type ForwardWrapper = (forward: (...args: unknown[]) => unknown, args: unknown[]) => unknown;

/** Handle returned by hook registration. */
export interface HookHandle {
  /** Unregisters the hook. */
  remove(): void;
}

/** What `loadStateDict` found. */
export interface LoadReport {
  /** Keys the module has but the state dict lacks. */
  missingKeys: string[];
  /** Keys the state dict has but the module lacks. */
  unexpectedKeys: string[];
}

/** Options of {@linkcode Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Throw when keys are missing or unexpected. @default {true} */
  strict?: boolean;
}

/**
 * Base class of every layer and model. Subclasses declare tensors and submodules as fields and
 * implement `forward`; callers use `call(...)`, the one entry point that runs pre-hooks, an
 * optional forward wrapper (gradient checkpointing), `forward` and hooks.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Linear, Module, type Tensor, tensor } from "@denoformers/core";
 *
 * class Mlp extends Module {
 *   fc1 = new Linear(2, 4, { backend: "cpu" });
 *   fc2 = new Linear(4, 1, { backend: "cpu" });
 *   forward(x: Tensor): Tensor {
 *     return this.fc2.call(this.fc1.call(x).relu());
 *   }
 * }
 * const m = new Mlp();
 * assertEquals(Object.keys(m.stateDict()), ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
 * assertEquals(m.call(tensor([[1, 2]], { backend: "cpu" })).shape, [1, 1]);
 * ```
 */
export abstract class Module {
  /** Whether the module is in training mode (dropout active). */
  training = true;
  #preHooks: ForwardPreHook[] = [];
  #hooks: ForwardHook[] = [];
  #wrapper: ForwardWrapper | null = null;

  /** The computation; call it through {@linkcode Module.call}. */
  abstract forward(...args: never[]): unknown;

  /**
   * Runs the module: pre-hooks, the forward wrapper (if any), `forward`, then hooks.
   *
   * @param args The arguments of `forward`.
   * @returns What `forward` (or a hook) returns.
   */
  call<T extends Module>(
    this: T,
    ...args: Parameters<T["forward"]>
  ): ReturnType<T["forward"]> {
    let input: unknown[] = args;
    for (const hook of this.#preHooks) input = hook(this, input) ?? input;
    const forward = (...a: unknown[]) => (this.forward as (...x: unknown[]) => unknown)(...a);
    let out = this.#wrapper ? this.#wrapper(forward, input) : forward(...input);
    for (const hook of this.#hooks) {
      const replaced = hook(this, input, out);
      if (replaced !== undefined) out = replaced;
    }
    return out as ReturnType<T["forward"]>;
  }

  /**
   * Registers a hook run after every forward.
   *
   * @param hook The hook.
   * @returns A handle to remove it.
   */
  registerForwardHook(hook: ForwardHook): HookHandle {
    this.#hooks.push(hook);
    return { remove: () => void (this.#hooks = this.#hooks.filter((h) => h !== hook)) };
  }

  /**
   * Registers a hook run before every forward.
   *
   * @param hook The hook.
   * @returns A handle to remove it.
   */
  registerForwardPreHook(hook: ForwardPreHook): HookHandle {
    this.#preHooks.push(hook);
    return { remove: () => void (this.#preHooks = this.#preHooks.filter((h) => h !== hook)) };
  }

  /**
   * Installs (or with `null` removes) the wrapper through which `call` runs `forward`.
   *
   * @param wrapper The wrapper.
   */
  setForwardWrapper(wrapper: ForwardWrapper | null): void {
    this.#wrapper = wrapper;
  }

  /** The installed forward wrapper, if any. */
  get forwardWrapper(): ForwardWrapper | null {
    return this.#wrapper;
  }

  /**
   * Direct children with their field names (array elements are named by index).
   *
   * @returns `[name, module]` pairs in field order.
   */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof Module) out.push([key, value]);
      else if (Array.isArray(value)) {
        value.forEach((v, i) => v instanceof Module && out.push([`${key}.${i}`, v]));
      }
    }
    return out;
  }

  /**
   * This module and every descendant, once each, with dotted names (`""` for this one).
   *
   * @param prefix Prefix for the names.
   * @returns `[name, module]` pairs, depth first in field order.
   */
  namedModules(prefix = ""): [string, Module][] {
    const seen = new Set<Module>();
    const out: [string, Module][] = [];
    const walk = (m: Module, name: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      for (const [key, child] of m.namedChildren()) walk(child, name ? `${name}.${key}` : key);
    };
    walk(this, prefix);
    return out;
  }

  /** Tensor fields of this module only (not descendants), with their field names. */
  #ownTensors(): [string, Tensor][] {
    return Object.entries(this).filter((e): e is [string, Tensor] => e[1] instanceof Tensor);
  }

  /**
   * Every parameter (a tensor marked with `parameter()` or requiring grad), once each even when
   * shared (tied), with its dotted name.
   *
   * @returns `[name, tensor]` pairs.
   */
  namedParameters(): [string, Tensor][] {
    return this.#namedTensors((t) => isParameter(t), true);
  }

  /**
   * Every parameter tensor, once each.
   *
   * @returns The parameters.
   */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /**
   * Every buffer (a tensor field that is not a parameter), with its dotted name.
   *
   * @returns `[name, tensor]` pairs.
   */
  namedBuffers(): [string, Tensor][] {
    return this.#namedTensors((t) => !isParameter(t), true);
  }

  #namedTensors(keep: (t: Tensor) => boolean, dedupe: boolean): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [key, t] of m.#ownTensors()) {
        if (!keep(t) || (dedupe && seen.has(t))) continue;
        seen.add(t);
        out.push([prefix ? `${prefix}.${key}` : key, t]);
      }
    }
    return out;
  }

  /**
   * Parameters and persistent buffers by dotted name. Tied tensors appear under every name.
   *
   * @returns The state dict (the tensors themselves, not copies).
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, t] of this.#namedTensors((t) => !NON_PERSISTENT.has(t), false)) out[name] = t;
    return out;
  }

  /**
   * Copies values into this module's tensors by name, in place (tensor identities are kept, so
   * optimizers stay attached). Shapes must match; dtypes are converted. Source tensors must be on
   * this module's backend or on the CPU.
   *
   * @param stateDict Tensors by name.
   * @param options strict (default true: missing or unexpected keys throw).
   * @returns The missing and unexpected keys.
   * @throws {ShapeError} When a shape differs.
   */
  loadStateDict(stateDict: Record<string, Tensor>, options: LoadStateDictOptions = {}): LoadReport {
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !(k in stateDict));
    const unexpectedKeys = Object.keys(stateDict).filter((k) => !(k in own));
    if ((options.strict ?? true) && (missingKeys.length || unexpectedKeys.length)) {
      throw new Error(
        `Cannot load state dict into ${this.constructor.name}: missing keys [${
          missingKeys.join(", ")
        }], unexpected keys [${unexpectedKeys.join(", ")}]`,
      );
    }
    for (const [name, target] of Object.entries(own)) {
      const src = stateDict[name];
      if (!src) continue;
      if (formatShape(src.shape) !== formatShape(target.shape)) {
        throw new ShapeError(
          "loadStateDict",
          `Cannot load weight "${name}": expected shape ${
            formatShape(target.shape)
          }, checkpoint has ${formatShape(src.shape)}`,
          [target.shape, src.shape],
        );
      }
    }
    noGrad(() => {
      for (const [name, target] of Object.entries(own)) {
        const src = stateDict[name];
        if (src && src !== target) target.assign(moveSync(src, target).cast(target.dtype).clone());
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Sets training mode on this module and every descendant.
   *
   * @param mode Training (true) or evaluation (false). @default {true}
   * @returns This module.
   */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /**
   * Evaluation mode (`train(false)`).
   *
   * @returns This module.
   */
  eval(): this {
    return this.train(false);
  }

  /**
   * Calls `fn` on every descendant and then on this module (PyTorch's order).
   *
   * @param fn The function.
   * @returns This module.
   */
  apply(fn: (m: Module) => void): this {
    const mods = this.namedModules().map(([, m]) => m);
    for (const m of mods.reverse()) fn(m);
    return this;
  }

  /**
   * Freezes (`false`) or unfreezes every parameter; frozen ones stay parameters.
   *
   * @param on Whether parameters require grad. @default {true}
   * @returns This module.
   */
  requiresGrad_(on = true): this {
    for (const p of this.parameters()) p.requiresGrad = on;
    return this;
  }

  /**
   * Moves every parameter and buffer to another backend in place (identities are kept).
   *
   * @param backend The target backend.
   * @returns This module.
   */
  async to(backend: BackendName): Promise<this> {
    const tensors = new Set<Tensor>();
    for (const [, m] of this.namedModules()) for (const [, t] of m.#ownTensors()) tensors.add(t);
    for (const t of tensors) {
      if (t.backend === backend) continue;
      t.grad?.dispose();
      t.grad = null;
      t.assign(await t.to(backend));
    }
    return this;
  }
}

/**
 * Whether a tensor counts as a parameter: marked with {@linkcode parameter} or requiring grad.
 *
 * @param t The tensor.
 * @returns `true` for parameters.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { isParameter, parameter, zeros } from "@denoformers/core";
 *
 * const p = parameter(zeros([1], { backend: "cpu" }));
 * p.requiresGrad = false;
 * assert(isParameter(p));
 * ```
 */
export function isParameter(t: Tensor): boolean {
  return PARAMETERS.has(t) || t.requiresGrad;
}

/** A copy of `src` on `like`'s backend, read synchronously (the source must be on the CPU). */
function moveSync(src: Tensor, like: Tensor): Tensor {
  if (src.backend === like.backend) return src;
  if (src.backend !== "cpu") {
    throw new Error(
      `Cannot load a ${src.backend} tensor into a ${like.backend} module synchronously: move it with \`await t.to("${like.backend}")\` first`,
    );
  }
  return fromTypedArray(src.dataSync(), src.shape, like.backend);
}
