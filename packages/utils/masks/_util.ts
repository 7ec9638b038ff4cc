/**
 * Small private helpers shared by the mask modules.
 *
 * @module
 */

/** Throws a `RangeError` unless `value` is a positive integer. */
export function checkPositiveInteger(what: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`Cannot create ${what}: ${name} must be a positive integer, got ${value}`);
  }
}

/** Formats a shape as `[2, 3]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
