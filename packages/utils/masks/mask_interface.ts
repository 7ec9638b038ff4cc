/**
 * `AttentionMaskInterface`: which mask builder each attention implementation uses, with
 * class-wide registrations and per-instance overrides.
 *
 * @module
 */

import { eagerMask, flashAttentionMask, sdpaMask } from "./sdpa_mask.ts";
import type { MaskBuilder } from "./types.ts";

function checkBuilder(key: string, fn: unknown): void {
  if (typeof fn !== "function") {
    throw new TypeError(
      `Cannot register mask builder "${key}": expected a function, got ${
        fn === null ? "null" : typeof fn
      }`,
    );
  }
}

/**
 * Maps an attention implementation name (`config._attn_implementation`) to the mask builder that
 * produces the mask format it consumes, in two layers:
 * - a class-wide global mapping, written by the static {@linkcode AttentionMaskInterface.register}
 *   and visible to every instance, existing and future;
 * - a per-instance local mapping, written by {@linkcode AttentionMaskInterface.set}, which
 *   overrides the global one for that instance only.
 *
 * Lookups check the local mapping first. Default global keys: `sdpa` (bool mask or `null`),
 * `eager` (additive float mask) and `flash_attention_2` (2-D padding mask or `null`).
 *
 * @example Usage
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { AttentionMaskInterface } from "./mask_interface.ts";
 * import { eagerMask, sdpaMask } from "./sdpa_mask.ts";
 *
 * const mine = new AttentionMaskInterface();
 * mine.set("sdpa", eagerMask); // only this instance builds float masks for "sdpa"
 * assertEquals(mine.get("sdpa"), eagerMask);
 * assertEquals(new AttentionMaskInterface().get("sdpa"), sdpaMask);
 * assert(mine.keys().includes("eager"));
 * ```
 */
export class AttentionMaskInterface {
  static #global: Map<string, MaskBuilder> = new Map<string, MaskBuilder>([
    ["sdpa", sdpaMask],
    ["eager", eagerMask],
    ["flash_attention_2", flashAttentionMask],
  ]);
  #local = new Map<string, MaskBuilder>();

  /**
   * Registers `fn` under `key` for every instance (replacing any global entry for `key`).
   *
   * @param key The attention implementation name.
   * @param fn The mask builder.
   * @throws {TypeError} When `fn` is not a function.
   */
  static register(key: string, fn: MaskBuilder): void {
    checkBuilder(key, fn);
    AttentionMaskInterface.#global.set(key, fn);
  }

  /**
   * Removes a global registration (for plugins and tests that register temporary keys).
   *
   * @param key The attention implementation name.
   * @returns Whether a global entry was removed.
   */
  static unregister(key: string): boolean {
    return AttentionMaskInterface.#global.delete(key);
  }

  /**
   * Whether `key` has a global registration. The public mask builders build no mask (they return
   * `null`) for an implementation that is not registered globally.
   *
   * @param key The attention implementation name.
   * @returns `true` for a globally registered key.
   */
  static isRegistered(key: string): boolean {
    return AttentionMaskInterface.#global.has(key);
  }

  /**
   * The builder for `key`: the local override if any, else the global registration.
   *
   * @param key The attention implementation name.
   * @returns The builder, or `undefined` when `key` is unknown.
   */
  get(key: string): MaskBuilder | undefined;
  /**
   * The builder for `key`, or `defaultValue` when `key` is unknown.
   *
   * @param key The attention implementation name.
   * @param defaultValue What to return for an unknown key.
   * @returns The builder or the default.
   */
  get(key: string, defaultValue: MaskBuilder): MaskBuilder;
  get(key: string, defaultValue?: MaskBuilder): MaskBuilder | undefined {
    return this.#local.get(key) ?? AttentionMaskInterface.#global.get(key) ?? defaultValue;
  }

  /**
   * Overrides `key` for this instance only.
   *
   * @param key The attention implementation name.
   * @param fn The mask builder.
   * @returns This interface.
   * @throws {TypeError} When `fn` is not a function.
   */
  set(key: string, fn: MaskBuilder): this {
    checkBuilder(key, fn);
    this.#local.set(key, fn);
    return this;
  }

  /**
   * Removes this instance's override of `key` (global registrations stay).
   *
   * @param key The attention implementation name.
   * @throws {RangeError} When this instance has no override for `key`.
   */
  delete(key: string): void {
    if (!this.#local.delete(key)) {
      throw new RangeError(
        `Cannot delete mask builder "${key}": this instance has no local registration for it`,
      );
    }
  }

  /**
   * Whether `key` is registered locally or globally.
   *
   * @param key The attention implementation name.
   * @returns `true` when {@linkcode AttentionMaskInterface.get} finds a builder.
   */
  has(key: string): boolean {
    return this.#local.has(key) || AttentionMaskInterface.#global.has(key);
  }

  /**
   * Every key, local and global, each once.
   *
   * @returns The keys.
   */
  keys(): string[] {
    return [...new Set([...AttentionMaskInterface.#global.keys(), ...this.#local.keys()])];
  }

  /** Number of distinct keys, local and global. */
  get size(): number {
    return this.keys().length;
  }
}

/**
 * The mask interface shared by every model. Local overrides set on it affect all users of this
 * instance; create a new `AttentionMaskInterface` for a private override.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { ALL_MASK_ATTENTION_FUNCTIONS } from "./mask_interface.ts";
 *
 * assert(ALL_MASK_ATTENTION_FUNCTIONS.has("sdpa") && ALL_MASK_ATTENTION_FUNCTIONS.has("eager"));
 * ```
 */
export const ALL_MASK_ATTENTION_FUNCTIONS: AttentionMaskInterface = new AttentionMaskInterface();
