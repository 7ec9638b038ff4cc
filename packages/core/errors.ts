/**
 * The error classes every package throws. Each subclasses the closest built-in so `instanceof
 * RangeError` and `instanceof TypeError` keep working.
 *
 * @module
 */

/**
 * A shape or axis is wrong for an op.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { ShapeError } from "./errors.ts";
 *
 * const e = new ShapeError("matmul", "Cannot matmul tensors: inner dimensions differ", [[2, 3], [4, 5]]);
 * assert(e instanceof RangeError && e.op === "matmul");
 * ```
 */
export class ShapeError extends RangeError {
  /** The op that rejected its input. */
  readonly op: string;
  /** The shapes involved. */
  readonly shapes: readonly (readonly number[])[];
  /**
   * Creates the error.
   *
   * @param op The op name.
   * @param message The message, in "Cannot <action>: <state>" form.
   * @param shapes The shapes involved.
   */
  constructor(op: string, message: string, shapes: readonly (readonly number[])[] = []) {
    super(message);
    this.name = "ShapeError";
    this.op = op;
    this.shapes = shapes;
  }
}

/**
 * A dtype is wrong for an op.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { DTypeError } from "./errors.ts";
 *
 * assert(new DTypeError("gather", "Cannot gather: index dtype is float32", ["float32"]) instanceof TypeError);
 * ```
 */
export class DTypeError extends TypeError {
  /** The op that rejected its input. */
  readonly op: string;
  /** The dtypes involved. */
  readonly dtypes: readonly string[];
  /**
   * Creates the error.
   *
   * @param op The op name.
   * @param message The message.
   * @param dtypes The dtypes involved.
   */
  constructor(op: string, message: string, dtypes: readonly string[] = []) {
    super(message);
    this.name = "DTypeError";
    this.op = op;
    this.dtypes = dtypes;
  }
}

/**
 * A backend cannot run an op for a dtype (for example `float64` on WebGPU).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { UnsupportedOpError } from "./errors.ts";
 *
 * const e = new UnsupportedOpError("exp", "float64", "webgpu");
 * assertEquals(e.message, 'Cannot run op "exp" on backend "webgpu": dtype "float64" is not supported');
 * ```
 */
export class UnsupportedOpError extends Error {
  /** The op name. */
  readonly op: string;
  /** The dtype. */
  readonly dtype: string;
  /** The backend. */
  readonly backend: string;
  /**
   * Creates the error.
   *
   * @param op The op name.
   * @param dtype The dtype that is not supported.
   * @param backend The backend name.
   */
  constructor(op: string, dtype: string, backend: string) {
    super(`Cannot run op "${op}" on backend "${backend}": dtype "${dtype}" is not supported`);
    this.name = "UnsupportedOpError";
    this.op = op;
    this.dtype = dtype;
    this.backend = backend;
  }
}

/**
 * The WebGPU device was lost; tensors on it are gone and the backend must be set up again.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { DeviceLostError } from "./errors.ts";
 *
 * assert(new DeviceLostError("destroyed") instanceof Error);
 * ```
 */
export class DeviceLostError extends Error {
  /**
   * Creates the error.
   *
   * @param reason What the device reported.
   */
  constructor(reason: string) {
    super(`Cannot use WebGPU device: the device was lost (${reason})`);
    this.name = "DeviceLostError";
  }
}
