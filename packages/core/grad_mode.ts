/**
 * Whether ops record the autograd graph.
 *
 * @module
 */

let enabled = true;

/**
 * Whether operations currently record gradients.
 *
 * @returns `false` inside {@linkcode noGrad}.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { isGradEnabled, noGrad } from "@denoformers/core";
 *
 * assert(isGradEnabled());
 * noGrad(() => assert(!isGradEnabled()));
 * ```
 */
export function isGradEnabled(): boolean {
  return enabled;
}

/**
 * Runs `fn` with gradient recording switched on or off, restoring the previous mode afterwards.
 *
 * @typeParam T The return type.
 * @param on Whether to record.
 * @param fn The function.
 * @returns What `fn` returns.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { isGradEnabled, noGrad, withGradMode } from "@denoformers/core";
 *
 * noGrad(() => withGradMode(true, () => assert(isGradEnabled())));
 * ```
 */
export function withGradMode<T>(on: boolean, fn: () => T): T {
  const prev = enabled;
  enabled = on;
  try {
    return fn();
  } finally {
    enabled = prev;
  }
}

/**
 * Runs `fn` without recording gradients (like `torch.no_grad()`).
 *
 * @typeParam T The return type.
 * @param fn The function.
 * @returns What `fn` returns.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { noGrad, tensor } from "@denoformers/core";
 *
 * const w = tensor([1, 2], { requiresGrad: true, backend: "cpu" });
 * assert(!noGrad(() => w.mul(2)).requiresGrad);
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}
