/**
 * `GradientCheckpointingLayer`: a layer that runs through `checkpoint` when checkpointing is
 * enabled and it is training, dropping caches first (Hugging Face `GradientCheckpointingLayer`).
 *
 * @module
 */

import { Module } from "@denoformers/core";
import { checkpoint, CheckpointOptions } from "./checkpoint.ts";

/** Cache options dropped under checkpointing: option key → how Hugging Face names it. */
const CACHE_OPTIONS: readonly [string, string, "false" | "null"][] = [
  ["useCache", "use_cache", "false"],
  ["use_cache", "use_cache", "false"],
  ["pastKeyValue", "past_key_value", "null"],
  ["past_key_value", "past_key_value", "null"],
  ["pastKeyValues", "past_key_values", "null"],
  ["past_key_values", "past_key_values", "null"],
  ["layerPast", "layer_past", "null"],
  ["layer_past", "layer_past", "null"],
];

const warned = new Set<string>();

/**
 * Returns a copy of a trailing options object with caching switched off, and the Hugging Face
 * names of what was changed.
 */
function dropCaches(
  options: Record<string, unknown>,
): { options: Record<string, unknown>; changed: string[] } {
  const out = { ...options };
  const changed: string[] = [];
  for (const [key, hfName, kind] of CACHE_OPTIONS) {
    if (!(key in out)) continue;
    const value = out[key];
    if (kind === "false" ? value : value !== null && value !== undefined) {
      out[key] = kind === "false" ? false : null;
      const text = `\`${hfName}=${kind === "false" ? "False" : "None"}\``;
      if (!changed.includes(text)) changed.push(text);
    }
  }
  return { options: out, changed };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Base class of transformer layers that gradient checkpointing can wrap. When
 * `gradientCheckpointing` is on and the layer is training, `call(...)` turns off cache options in
 * a trailing options object (warning once per layer class, worded as Hugging Face does) and runs
 * `forward` through {@linkcode checkpoint}; otherwise it is an ordinary call.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Linear, type Tensor, tensor } from "@denoformers/core";
 * import { GradientCheckpointingLayer } from "@denoformers/checkpoint";
 *
 * class Block extends GradientCheckpointingLayer {
 *   fc = new Linear(2, 2, { backend: "cpu" });
 *   forward(x: Tensor): Tensor {
 *     return this.fc.call(x).relu();
 *   }
 * }
 * const block = new Block();
 * block.gradientCheckpointing = true;
 * block.call(tensor([[1, 2]], { backend: "cpu" })).sum().backward();
 * assertEquals(block.fc.weight.grad!.shape, [2, 2]);
 * ```
 */
export abstract class GradientCheckpointingLayer extends Module {
  /** Whether calls in training mode are checkpointed. */
  gradientCheckpointing = false;
  /** Options for the checkpoint calls. */
  checkpointOptions: CheckpointOptions = new CheckpointOptions();

  /** Installs the forward wrapper that checkpoints. */
  constructor() {
    super();
    this.setForwardWrapper((forward, args) => {
      if (!(this.gradientCheckpointing && this.training)) return forward(...args);
      let callArgs = args;
      const last = args.at(-1);
      if (isPlainObject(last)) {
        const { options, changed } = dropCaches(last);
        callArgs = [...args.slice(0, -1), options];
        const name = this.constructor.name;
        if (changed.length && !warned.has(name)) {
          warned.add(name);
          console.warn(
            `Caching is incompatible with gradient checkpointing in ${name}. Setting ${
              changed.join(", ")
            }.`,
          );
        }
      }
      return checkpoint((...a: unknown[]) => forward(...a), ...callArgs, this.checkpointOptions);
    });
  }
}
