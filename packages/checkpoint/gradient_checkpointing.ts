/**
 * Model-level gradient checkpointing: enable, disable, query, the `config.gradient_checkpointing`
 * back-compat, and the input-embedding hook that lets gradients enter checkpointed layers of a
 * model whose embeddings are frozen.
 *
 * @module
 */

import type { HookHandle, Module, Tensor } from "@denoformers/core";
import { CheckpointOptions } from "./checkpoint.ts";
import { GradientCheckpointingLayer } from "./gradient_checkpointing_layer.ts";

/** A model that may declare whether it supports checkpointing and expose its input embeddings. */
export interface CheckpointableModel extends Module {
  /** Hugging Face's `supports_gradient_checkpointing` (default: it has checkpointing layers). */
  supportsGradientCheckpointing?: boolean;
  /** The input embedding module, for `enableInputRequireGrads`. */
  getInputEmbeddings?(): Module | null;
  /** The configuration (for `config.gradient_checkpointing` back-compat). */
  config?: Record<string, unknown>;
}

/** Options of {@linkcode gradientCheckpointingEnable}. */
export interface GradientCheckpointingOptions {
  /** Compare recomputations with the first run. @default {"default"} */
  determinismCheck?: "default" | "none";
}

function layersOf(model: Module): GradientCheckpointingLayer[] {
  return model.namedModules().map(([, m]) => m).filter((m): m is GradientCheckpointingLayer =>
    m instanceof GradientCheckpointingLayer
  );
}

/**
 * Whether a model supports gradient checkpointing: its `supportsGradientCheckpointing` flag, or
 * else whether it contains any {@linkcode GradientCheckpointingLayer}.
 *
 * @param model The model.
 * @returns `true` when supported.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { Linear } from "@denoformers/core";
 * import { supportsGradientCheckpointing } from "@denoformers/checkpoint";
 *
 * assert(!supportsGradientCheckpointing(new Linear(2, 2, { backend: "cpu" })));
 * ```
 */
export function supportsGradientCheckpointing(model: CheckpointableModel): boolean {
  return model.supportsGradientCheckpointing ?? layersOf(model).length > 0;
}

/**
 * Turns checkpointing on for every {@linkcode GradientCheckpointingLayer} of the model (they
 * checkpoint only while training) and, like Hugging Face, makes the input embeddings' output
 * require grad so gradients reach the layers even when the embeddings are frozen.
 *
 * @param model The model.
 * @param options determinismCheck.
 * @throws {Error} With Hugging Face's messages when the model does not support checkpointing or
 * has no checkpointing layer.
 *
 * @example Usage
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { Linear } from "@denoformers/core";
 * import { gradientCheckpointingEnable } from "@denoformers/checkpoint";
 *
 * assertThrows(() => gradientCheckpointingEnable(new Linear(2, 2, { backend: "cpu" })), Error, "does not support");
 * ```
 */
export function gradientCheckpointingEnable(
  model: CheckpointableModel,
  options: GradientCheckpointingOptions = {},
): void {
  const name = model.constructor.name;
  if (!supportsGradientCheckpointing(model)) {
    throw new Error(`${name} does not support gradient checkpointing.`);
  }
  const layers = layersOf(model);
  if (layers.length === 0) {
    throw new Error(
      `${name} is not compatible with gradient checkpointing. Make sure all the architecture support it by setting a boolean attribute \`gradient_checkpointing\` to modules of the model that uses checkpointing.`,
    );
  }
  const ckpt = new CheckpointOptions({ determinismCheck: options.determinismCheck });
  for (const layer of layers) {
    layer.gradientCheckpointing = true;
    layer.checkpointOptions = ckpt;
  }
  if (model.getInputEmbeddings) enableInputRequireGrads(model);
}

/**
 * Turns checkpointing off on every layer (the input-embedding hook stays, as in Hugging Face).
 *
 * @param model The model.
 *
 * @example Usage
 * ```ts
 * import { Linear } from "@denoformers/core";
 * import { gradientCheckpointingDisable } from "@denoformers/checkpoint";
 *
 * gradientCheckpointingDisable(new Linear(2, 2, { backend: "cpu" }));
 * ```
 */
export function gradientCheckpointingDisable(model: CheckpointableModel): void {
  for (const layer of layersOf(model)) layer.gradientCheckpointing = false;
}

/**
 * Whether any layer of the model has checkpointing on.
 *
 * @param model The model.
 * @returns `true` when some layer checkpoints.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { Linear } from "@denoformers/core";
 * import { isGradientCheckpointing } from "@denoformers/checkpoint";
 *
 * assert(!isGradientCheckpointing(new Linear(2, 2, { backend: "cpu" })));
 * ```
 */
export function isGradientCheckpointing(model: CheckpointableModel): boolean {
  return layersOf(model).some((l) => l.gradientCheckpointing);
}

/**
 * Hugging Face's init-time back-compat: when `config.gradient_checkpointing` is truthy and the
 * model supports checkpointing, enable it and delete the key so it is not saved again.
 *
 * @param model The model (with a `config`).
 * @returns Whether checkpointing was enabled.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Linear } from "@denoformers/core";
 * import { applyConfigGradientCheckpointing } from "@denoformers/checkpoint";
 *
 * assertEquals(applyConfigGradientCheckpointing(new Linear(2, 2, { backend: "cpu" })), false);
 * ```
 */
export function applyConfigGradientCheckpointing(model: CheckpointableModel): boolean {
  const config = model.config;
  if (!config?.gradient_checkpointing || !supportsGradientCheckpointing(model)) return false;
  gradientCheckpointingEnable(model);
  delete config.gradient_checkpointing;
  return true;
}

const inputHooks = new WeakMap<Module, HookHandle[]>();
let warnedNoEmbeddings = false;

/**
 * Registers a forward hook on the input embeddings of the model (and of every nested model that
 * exposes `getInputEmbeddings()`, each embedding hooked once) that makes their output require
 * grad, so the first layer's input carries a graph even when the embedding weights are frozen.
 *
 * @param model The model.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { Embedding, Module, type Tensor, tensor } from "@denoformers/core";
 * import { enableInputRequireGrads } from "@denoformers/checkpoint";
 *
 * class M extends Module {
 *   emb = new Embedding(4, 2, { backend: "cpu" });
 *   getInputEmbeddings() {
 *     return this.emb;
 *   }
 *   forward(ids: Tensor): Tensor {
 *     return this.emb.call(ids);
 *   }
 * }
 * const m = new M().requiresGrad_(false);
 * enableInputRequireGrads(m);
 * assert(m.call(tensor([1], { dtype: "int32", backend: "cpu" })).requiresGrad);
 * ```
 */
export function enableInputRequireGrads(model: CheckpointableModel): void {
  disableInputRequireGrads(model);
  const hooked = new Set<Module>();
  const handles: HookHandle[] = [];
  for (const [, m] of model.namedModules()) {
    const owner = m as CheckpointableModel;
    if (typeof owner.getInputEmbeddings !== "function") continue;
    let emb: Module | null = null;
    try {
      emb = owner.getInputEmbeddings();
    } catch {
      continue;
    }
    if (!emb || hooked.has(emb)) continue;
    hooked.add(emb);
    handles.push(emb.registerForwardHook((_m, _args, out) => {
      (out as Tensor).requiresGrad = true;
    }));
  }
  if (handles.length === 0 && !warnedNoEmbeddings) {
    warnedNoEmbeddings = true;
    console.warn(
      `${model.constructor.name} does not expose input embeddings. Gradients cannot flow back to the token embeddings when using adapters or gradient checkpointing.`,
    );
  }
  inputHooks.set(model, handles);
}

/**
 * Removes the hooks installed by {@linkcode enableInputRequireGrads}.
 *
 * @param model The model.
 *
 * @example Usage
 * ```ts
 * import { Linear } from "@denoformers/core";
 * import { disableInputRequireGrads } from "@denoformers/checkpoint";
 *
 * disableInputRequireGrads(new Linear(2, 2, { backend: "cpu" }));
 * ```
 */
export function disableInputRequireGrads(model: Module): void {
  for (const h of inputHooks.get(model) ?? []) h.remove();
  inputHooks.delete(model);
}
