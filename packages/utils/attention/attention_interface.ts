/**
 * `AttentionInterface` and the shared `ALL_ATTENTION_FUNCTIONS`: where models look up the
 * attention implementation named by `config._attn_implementation`.
 *
 * @module
 */

import { GeneralInterface } from "./general_interface.ts";
import { sdpaAttentionForward } from "./sdpa.ts";
import type { AttentionFunction } from "./types.ts";

/**
 * The registry of attention implementations (Hugging Face `AttentionInterface`).
 *
 * The global layer holds `"sdpa"` ({@linkcode sdpaAttentionForward}). `"eager"` is deliberately
 * not registered: as in Hugging Face, each model passes its own eager function as the default of
 * {@linkcode AttentionInterface.getInterface}. Register a function globally with
 * `AttentionInterface.register(name, fn)` and set `config._attn_implementation = name`, and every
 * model that resolves its attention through {@linkcode ALL_ATTENTION_FUNCTIONS} uses it, with no
 * change to model code; `set(name, fn)` on one instance overrides for that instance only.
 *
 * @example Usage
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { AttentionInterface } from "./attention_interface.ts";
 * import type { AttentionFunction } from "./types.ts";
 * import { eagerAttentionForward } from "./eager.ts";
 *
 * const scaledBy2: AttentionFunction = (module, q, k, v, mask, options) =>
 *   eagerAttentionForward(module, q, k, v, mask, { ...options, scaling: 2 });
 * AttentionInterface.register("scaled_by_2", scaledBy2);
 *
 * const iface = new AttentionInterface();
 * assert(iface.getInterface("scaled_by_2", eagerAttentionForward) === scaledBy2);
 * assert(iface.getInterface("eager", eagerAttentionForward) === eagerAttentionForward);
 * assertEquals(iface.keys(), ["sdpa", "scaled_by_2"]);
 * ```
 */
export class AttentionInterface extends GeneralInterface<AttentionFunction> {
  static {
    AttentionInterface.register("sdpa", sdpaAttentionForward);
  }

  #warnedUnset = false;

  /**
   * Resolves `config._attn_implementation` to a function.
   *
   * - `null` or `undefined`: warns once per instance and returns `defaultFn`. This is normal for
   *   an attention module used on its own, outside a model that resolves the implementation.
   * - `"eager"`: a function registered as `"eager"` if there is one, else `defaultFn`.
   * - any other name: the registered function.
   *
   * @param implementation The implementation's name, usually `config._attn_implementation`.
   * @param defaultFn The model's own eager attention function.
   * @returns The function to call.
   * @throws {RangeError} When `implementation` is neither `"eager"` nor registered; the message
   * lists the valid names.
   *
   * @example Usage
   * ```ts
   * import { assert, assertThrows } from "@std/assert";
   * import { AttentionInterface } from "./attention_interface.ts";
   * import { eagerAttentionForward } from "./eager.ts";
   * import { sdpaAttentionForward } from "./sdpa.ts";
   *
   * const iface = new AttentionInterface();
   * assert(iface.getInterface("sdpa", eagerAttentionForward) === sdpaAttentionForward);
   * assertThrows(
   *   () => iface.getInterface("flash", eagerAttentionForward),
   *   RangeError,
   *   '"flash" is not a valid attention implementation',
   * );
   * ```
   */
  getInterface(
    implementation: string | null | undefined,
    defaultFn: AttentionFunction,
  ): AttentionFunction {
    if (implementation === null || implementation === undefined) {
      if (!this.#warnedUnset) {
        this.#warnedUnset = true;
        console.warn(
          "AttentionInterface.getInterface was called with `config._attn_implementation` unset: " +
            "using the model's default (eager) attention. This is expected when an attention " +
            "module runs on its own rather than inside a model.",
        );
      }
      return defaultFn;
    }
    if (implementation !== "eager" && !this.has(implementation)) {
      const valid = ["eager", ...this.keys().filter((k) => k !== "eager")];
      throw new RangeError(
        `Cannot get attention function: "${implementation}" is not a valid attention ` +
          `implementation registered in the AttentionInterface: valid implementations are ${
            valid.map((k) => `"${k}"`).join(", ")
          }`,
      );
    }
    return this.getOr(implementation, defaultFn);
  }
}

/**
 * The attention registry shared by every model: models resolve
 * `ALL_ATTENTION_FUNCTIONS.getInterface(config._attn_implementation, eagerAttentionForward)` at
 * call time, so a function registered (globally, or locally on this instance) takes effect
 * without touching model code.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { ALL_ATTENTION_FUNCTIONS } from "./attention_interface.ts";
 *
 * assert(ALL_ATTENTION_FUNCTIONS.has("sdpa"));
 * ```
 */
export const ALL_ATTENTION_FUNCTIONS: AttentionInterface = new AttentionInterface();
