/**
 * The `Tensor` class and `apply`, the one path from the public API to a kernel: it checks inputs,
 * runs the op's shape rule, allocates, dispatches and records the autograd node.
 *
 * @module
 */

import type { Backend, BackendName } from "./backends/backend.ts";
import { backendOf } from "./backends/registry.ts";
import {
  arrayDType,
  convertArray,
  type DType,
  isFloat,
  promoteTypes,
  type TypedArray,
} from "./dtype.ts";
import { isGradEnabled } from "./grad_mode.ts";
import { atomic, trackBytes, trackTensor } from "./memory.ts";
import type { DTypeRule } from "./ops/elementwise.ts";
import { collapsedBatchStride } from "./ops/matmul.ts";
import { type OpArgs, type OpName, OPS } from "./ops/mod.ts";
import type { KernelOpDef, OpDef, ViewMeta } from "./ops/op_def.ts";
import type { PadArgs } from "./ops/movement.ts";
import {
  broadcastShapes,
  contiguousStrides,
  formatShape,
  isContiguous,
  normalizeAxes,
  normalizeAxis,
  sizeOf,
  viewStrides,
} from "./shape.ts";
import { ShapeError } from "./errors.ts";
import { nextRandomOffset, rngSeed } from "./rng.ts";
import { noteOp } from "./trace.ts";
import { blocksFor, type Distribution } from "./ops/random.ts";
import { backward as runBackward, type BackwardOptions } from "./autograd.ts";

/** A backend buffer shared by a tensor and its views; freed when the last one is disposed. */
class Storage {
  refs = 1;
  constructor(
    readonly backend: Backend,
    readonly handle: unknown,
    readonly bytes: number,
    readonly tracked: boolean,
  ) {
    if (tracked) trackBytes(backend.name, bytes);
  }
  release(): void {
    if (--this.refs > 0) return;
    this.backend.free(this.handle);
    if (this.tracked) trackBytes(this.backend.name, -this.bytes);
  }
}

/** @internal The autograd record of the op that produced a tensor. */
export interface GraphNode {
  readonly op: OpDef<unknown>;
  inputs: readonly Tensor[];
  readonly args: unknown;
  released: boolean;
}

/** Nested arrays of numbers or booleans, as accepted by {@linkcode tensor}. */
export type NestedArray = number | boolean | readonly NestedArray[];

/** Options for reductions. */
export interface ReduceOptions {
  /** Keep reduced dimensions with size 1. @default {false} */
  keepdim?: boolean;
}

/**
 * An n-dimensional array on a backend, with optional gradient tracking.
 *
 * Ops return new tensors at once; only reads (`data`, `toArray`, `item`) are awaited.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 *
 * const x = tensor([[1, 2], [3, 4]], { backend: "cpu" });
 * assertEquals(x.shape, [2, 2]);
 * assertEquals(await x.matmul(x).toArray(), [[7, 10], [15, 22]]);
 * ```
 */
export class Tensor {
  /** The dimensions. */
  readonly shape: readonly number[];
  /** Element strides of this view over its storage. */
  readonly strides: readonly number[];
  /** Element offset of this view into its storage. */
  readonly offset: number;
  /** The element type. */
  readonly dtype: DType;
  /** Whether gradients flow to this tensor. */
  requiresGrad: boolean;
  /** Accumulated gradient (set by `backward`). */
  grad: Tensor | null = null;
  /** @internal How this tensor was computed, when it needs a gradient. */
  node: GraphNode | null = null;
  #storage: Storage;
  #disposed = false;
  #persistent: boolean;

  /** @internal Use the creation functions (`tensor`, `zeros`, …) instead. */
  constructor(storage: Storage, meta: ViewMeta, requiresGrad = false) {
    this.#storage = storage;
    this.shape = Object.freeze([...meta.shape]);
    this.strides = Object.freeze([...meta.strides]);
    this.offset = meta.offset;
    this.dtype = meta.dtype;
    this.requiresGrad = requiresGrad;
    this.#persistent = !storage.tracked;
    if (!this.#persistent) trackTensor(storage.backend.name, 1, this);
  }

  /** The backend holding the data. */
  get backend(): BackendName {
    return this.#storage.backend.name;
  }
  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }
  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }
  /** Whether {@linkcode Tensor.dispose} has been called. */
  get isDisposed(): boolean {
    return this.#disposed;
  }
  /** Whether this view is laid out densely in row-major order. */
  get isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }

  /** @internal The storage (for `apply` and in-place assignment). */
  get storage(): Storage {
    this.assertLive("use");
    return this.#storage;
  }

  /** @internal Throws if the tensor was disposed. */
  assertLive(op: string): void {
    if (this.#disposed) {
      throw new Error(
        `Cannot ${op === "use" ? "use tensor" : op}: tensor of shape ${
          formatShape(this.shape)
        } has been disposed`,
      );
    }
  }

  /** Releases the tensor's memory (views keep the shared buffer alive until they go too). */
  dispose(): void {
    if (this.#disposed || this.#persistent) return;
    this.#disposed = true;
    this.#storage.release();
    trackTensor(this.#storage.backend.name, -1);
  }
  /** Disposes at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * Replaces this tensor's data with `value`'s, in place (for optimizer updates and moves between
   * backends); `value` is disposed.
   *
   * @param value A tensor of the same shape (and dtype unless `allowDtypeChange`).
   * @param options allowDtypeChange (default false), for casting parameters in place.
   * @returns This tensor.
   */
  assign(value: Tensor, options: { allowDtypeChange?: boolean } = {}): this {
    this.assertLive("assign");
    value.assertLive("assign");
    const dtypeOk = value.dtype === this.dtype || options.allowDtypeChange;
    if (formatShape(value.shape) !== formatShape(this.shape) || !dtypeOk) {
      throw new ShapeError(
        "assign",
        `Cannot assign tensor of shape ${formatShape(value.shape)} (${value.dtype}) to ${
          formatShape(this.shape)
        } (${this.dtype})`,
        [value.shape, this.shape],
      );
    }
    const src = value.contiguous();
    src.#storage.refs++;
    const from = this.#storage.backend.name;
    this.#storage.release();
    this.#storage = src.#storage;
    // Moving across backends (Module.to) moves this tensor's count too.
    if (from !== this.#storage.backend.name && !this.#persistent) {
      trackTensor(from, -1);
      trackTensor(this.#storage.backend.name, 1);
    }
    (this as { strides: readonly number[] }).strides = src.strides;
    (this as { offset: number }).offset = src.offset;
    (this as { dtype: DType }).dtype = src.dtype;
    if (src !== value) src.dispose();
    value.dispose();
    return this;
  }

  // ---- reads -------------------------------------------------------------------------------

  /**
   * Reads the elements, row-major, into a new typed array.
   *
   * @returns The values.
   */
  async data(): Promise<TypedArray> {
    this.assertLive("read tensor");
    const dense = this.isContiguous ? this : this.contiguous();
    const s = dense.#storage;
    try {
      return await s.backend.read(s.handle, dense.dtype, dense.offset, dense.size);
    } finally {
      if (dense !== this) dense.dispose();
    }
  }

  /**
   * Reads the elements synchronously (CPU tensors only).
   *
   * @returns The values.
   */
  dataSync(): TypedArray {
    this.assertLive("read tensor");
    const backend = this.#storage.backend;
    if (!backend.readSync) {
      throw new Error(`Cannot read a ${backend.name} tensor synchronously: use \`await t.data()\``);
    }
    const dense = this.isContiguous ? this : this.contiguous();
    const out = backend.readSync(dense.#storage.handle, dense.dtype, dense.offset, dense.size);
    if (dense !== this) dense.dispose();
    return out;
  }

  /**
   * Reads the elements as nested arrays (booleans for bool tensors).
   *
   * @returns The nested values.
   */
  async toArray(): Promise<NestedArray> {
    const flat = Array.from(await this.data(), (v) => (this.dtype === "bool" ? v !== 0 : v));
    const build = (dim: number, start: number): NestedArray => {
      if (dim === this.ndim) return flat[start];
      const step = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, start + i * step));
    };
    return build(0, 0);
  }

  /**
   * Reads the single element of a one-element tensor.
   *
   * @returns The value.
   */
  async item(): Promise<number> {
    if (this.size !== 1) {
      throw new ShapeError(
        "item",
        `Cannot convert tensor of shape ${
          formatShape(this.shape)
        } to a number: it has ${this.size} elements`,
        [this.shape],
      );
    }
    return (await this.data())[0];
  }

  /**
   * Copies to another backend (a read when leaving the GPU).
   *
   * @param backend The target backend.
   * @returns A tensor on `backend` (this one when it is already there).
   */
  async to(backend: BackendName): Promise<Tensor> {
    if (backend === this.backend) return this;
    const data = await this.data();
    const out = fromTypedArray(data, this.shape, backend);
    out.requiresGrad = this.requiresGrad;
    return out;
  }

  // ---- autograd ----------------------------------------------------------------------------

  /**
   * Back-propagates from this tensor, accumulating into `.grad` of every leaf that requires grad.
   *
   * @param gradient The gradient of this tensor (required unless it has one element).
   * @param options Graph retention options.
   */
  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    runBackward(this, gradient, options);
  }

  /**
   * A tensor sharing this one's data but cut from the graph.
   *
   * @returns The detached view.
   */
  detach(): Tensor {
    this.assertLive("detach");
    this.#storage.refs++;
    return new Tensor(this.#storage, this);
  }

  /**
   * Sets whether gradients flow to this (leaf) tensor.
   *
   * @param on Whether to track.
   * @returns This tensor.
   */
  requiresGrad_(on = true): this {
    if (on && !isFloat(this.dtype)) {
      throw new TypeError(
        `Cannot require gradients for a ${this.dtype} tensor: only float tensors have gradients`,
      );
    }
    this.requiresGrad = on;
    return this;
  }

  // ---- dtype and layout --------------------------------------------------------------------

  /**
   * Converts to another dtype.
   *
   * @param dtype The target dtype.
   * @returns A new tensor, or this one when the dtype already matches.
   */
  cast(dtype: DType): Tensor {
    this.assertLive("cast");
    return dtype === this.dtype ? this : apply("cast", [this], { dtype });
  }
  /**
   * A dense row-major copy, or this tensor when it already is one.
   *
   * @returns A contiguous tensor.
   */
  contiguous(): Tensor {
    this.assertLive("contiguous");
    return this.isContiguous ? this : apply("copy", [this], undefined);
  }
  /**
   * A dense copy that never shares storage.
   *
   * @returns The copy.
   */
  clone(): Tensor {
    return apply("copy", [this], undefined);
  }

  // ---- views -------------------------------------------------------------------------------

  /**
   * Same data, new shape (one entry may be `-1`); copies only when the view is not contiguous.
   *
   * @param shape The new shape.
   * @returns The reshaped tensor.
   */
  reshape(shape: readonly number[]): Tensor {
    this.assertLive("reshape");
    const resolved = resolveShape(this.shape, shape);
    if (formatShape(resolved) === formatShape(this.shape)) return this;
    // Copy only when no strides express the new shape (the size check above runs first).
    const base = viewStrides(this.shape, this.strides, resolved) ? this : this.contiguous();
    return apply("reshape", [base], { shape: resolved });
  }
  /**
   * Flattens dimensions `startDim..endDim` into one.
   *
   * @param startDim First dimension. @default {0}
   * @param endDim Last dimension. @default {-1}
   * @returns The flattened tensor.
   */
  flatten(startDim = 0, endDim = -1): Tensor {
    if (this.ndim === 0) return this.reshape([1]);
    const s = normalizeAxis("flatten", startDim, this.ndim);
    const e = normalizeAxis("flatten", endDim, this.ndim);
    return this.reshape([
      ...this.shape.slice(0, s),
      sizeOf(this.shape.slice(s, e + 1)),
      ...this.shape.slice(e + 1),
    ]);
  }
  /**
   * Removes size-1 dimensions (all, or the given ones).
   *
   * @param dims Dimensions to remove.
   * @returns The squeezed tensor.
   */
  squeeze(dims?: number | readonly number[]): Tensor {
    const axes = normalizeAxes("squeeze", dims, this.ndim);
    return this.reshape(this.shape.filter((d, i) => !(axes.includes(i) && d === 1)));
  }
  /**
   * Inserts a size-1 dimension at `dim`.
   *
   * @param dim Position in the result (negative counts from the end).
   * @returns The tensor with one more dimension.
   */
  unsqueeze(dim: number): Tensor {
    const d = normalizeAxis("unsqueeze", dim, this.ndim + 1);
    return this.reshape([...this.shape.slice(0, d), 1, ...this.shape.slice(d)]);
  }
  /**
   * Reorders dimensions (a view).
   *
   * @param dims A permutation (negative entries allowed).
   * @returns The permuted view.
   */
  permute(dims: readonly number[]): Tensor {
    return apply("permute", [this], {
      dims: dims.map((d) => normalizeAxis("permute", d, this.ndim)),
    });
  }
  /**
   * Swaps two dimensions (a view).
   *
   * @param dim0 First dimension.
   * @param dim1 Second dimension.
   * @returns The transposed view.
   */
  transpose(dim0: number, dim1: number): Tensor {
    const a = normalizeAxis("transpose", dim0, this.ndim);
    const b = normalizeAxis("transpose", dim1, this.ndim);
    const dims = [...this.shape.keys()];
    [dims[a], dims[b]] = [b, a];
    return this.permute(dims);
  }
  /**
   * Broadcasts size-1 dimensions to `shape` (a view; `-1` keeps a size).
   *
   * @param shape The target shape.
   * @returns The expanded view.
   */
  expand(shape: readonly number[]): Tensor {
    this.assertLive("expand");
    const lead = shape.length - this.ndim;
    const resolved = shape.map((d, i) => (d === -1 && i >= lead ? this.shape[i - lead] : d));
    if (formatShape(resolved) === formatShape(this.shape)) return this;
    return apply("expand", [this], { shape: resolved });
  }
  /**
   * Takes `start:end:step` along one dimension (a view; negative bounds count from the end).
   *
   * @param dim The dimension.
   * @param start First index. @default {0}
   * @param end One past the last index (clamped). @default {the size}
   * @param step Positive step. @default {1}
   * @returns The sliced view.
   */
  slice(dim: number, start = 0, end?: number, step = 1): Tensor {
    const d = normalizeAxis("slice", dim, this.ndim);
    const n = this.shape[d];
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    const s = clamp(start);
    const e = clamp(end ?? n);
    if (!Number.isInteger(step) || step < 1) {
      throw new ShapeError("slice", `Cannot slice with step ${step}: expected a positive integer`);
    }
    const len = Math.max(0, Math.ceil((e - s) / step));
    const starts = this.shape.map((_, i) => (i === d ? s : 0));
    const sizes = this.shape.map((v, i) => (i === d ? len : v));
    const steps = this.shape.map((_, i) => (i === d ? step : 1));
    return this.stridedSlice(starts, sizes, steps);
  }
  /**
   * `length` elements of `dim` from `start` (a view, like `torch.narrow`).
   *
   * @param dim The dimension.
   * @param start First index.
   * @param length Number of elements.
   * @returns The narrowed view.
   */
  narrow(dim: number, start: number, length: number): Tensor {
    const d = normalizeAxis("narrow", dim, this.ndim);
    const s = start < 0 ? start + this.shape[d] : start;
    if (s < 0 || length < 0 || s + length > this.shape[d]) {
      throw new ShapeError(
        "narrow",
        `Cannot narrow dimension ${dim} of shape ${
          formatShape(this.shape)
        }: start ${start}, length ${length} is out of range`,
        [this.shape],
      );
    }
    return this.slice(d, s, s + length);
  }
  /**
   * Multi-dimensional strided window (a view).
   *
   * @param starts First index per dimension.
   * @param sizes Element count per dimension.
   * @param steps Step per dimension.
   * @returns The view.
   */
  stridedSlice(
    starts: readonly number[],
    sizes: readonly number[],
    steps: readonly number[],
  ): Tensor {
    if (sizes.every((s, i) => s === this.shape[i] && starts[i] === 0)) return this;
    return apply("slice", [this], { starts, sizes, steps });
  }
  /**
   * Places this tensor inside a larger one filled with `value` (the adjoint of a slice).
   *
   * @param args Output shape, placement and fill value.
   * @returns The padded tensor.
   */
  pad(args: PadArgs): Tensor {
    return apply("pad", [this], args);
  }
  /**
   * Splits along `dim` into pieces of `size` elements (the last may be smaller), or into the listed sizes.
   *
   * @param sizes A piece size, or one size per piece.
   * @param dim The dimension. @default {0}
   * @returns The pieces (views).
   */
  split(sizes: number | readonly number[], dim = 0): Tensor[] {
    const d = normalizeAxis("split", dim, this.ndim);
    const n = this.shape[d];
    const list = typeof sizes === "number"
      ? Array.from(
        { length: Math.max(1, Math.ceil(n / sizes)) },
        (_, i) => Math.min(sizes, n - i * sizes),
      )
      : [...sizes];
    if (list.reduce((a, b) => a + b, 0) !== n || list.some((s) => s < 0)) {
      throw new ShapeError("split", `Cannot split dimension ${dim} of size ${n} into [${list}]`, [
        this.shape,
      ]);
    }
    let at = 0;
    return list.map((s) => this.slice(d, at, at += s));
  }
  /**
   * Splits along `dim` into `chunks` pieces of equal size (the last may be smaller), like `torch.chunk`.
   *
   * @param chunks Number of pieces.
   * @param dim The dimension. @default {0}
   * @returns The pieces (views).
   */
  chunk(chunks: number, dim = 0): Tensor[] {
    const d = normalizeAxis("chunk", dim, this.ndim);
    return this.split(Math.ceil(this.shape[d] / chunks), d);
  }

  // ---- elementwise -------------------------------------------------------------------------

  /** Elementwise `this + other` with broadcasting. @param other Tensor or number. @returns The sum. */
  add(other: Tensor | number): Tensor {
    return binary("add", this, other);
  }
  /** Elementwise `this - other`. @param other Tensor or number. @returns The difference. */
  sub(other: Tensor | number): Tensor {
    return binary("sub", this, other);
  }
  /** Elementwise `this * other`. @param other Tensor or number. @returns The product. */
  mul(other: Tensor | number): Tensor {
    return binary("mul", this, other);
  }
  /** Elementwise true division. @param other Tensor or number. @returns The quotient. */
  div(other: Tensor | number): Tensor {
    return binary("div", this, other);
  }
  /** Elementwise power. @param other Tensor or number. @returns `this ** other`. */
  pow(other: Tensor | number): Tensor {
    return binary("pow", this, other);
  }
  /** Elementwise maximum. @param other Tensor or number. @returns The maxima. */
  maximum(other: Tensor | number): Tensor {
    return binary("maximum", this, other);
  }
  /** Elementwise minimum. @param other Tensor or number. @returns The minima. */
  minimum(other: Tensor | number): Tensor {
    return binary("minimum", this, other);
  }
  /** `this == other`. @param other Tensor or number. @returns A bool tensor. */
  eq(other: Tensor | number): Tensor {
    return binary("eq", this, other);
  }
  /** `this != other`. @param other Tensor or number. @returns A bool tensor. */
  ne(other: Tensor | number): Tensor {
    return binary("ne", this, other);
  }
  /** `this < other`. @param other Tensor or number. @returns A bool tensor. */
  lt(other: Tensor | number): Tensor {
    return binary("lt", this, other);
  }
  /** `this <= other`. @param other Tensor or number. @returns A bool tensor. */
  le(other: Tensor | number): Tensor {
    return binary("le", this, other);
  }
  /** `this > other`. @param other Tensor or number. @returns A bool tensor. */
  gt(other: Tensor | number): Tensor {
    return binary("gt", this, other);
  }
  /** `this >= other`. @param other Tensor or number. @returns A bool tensor. */
  ge(other: Tensor | number): Tensor {
    return binary("ge", this, other);
  }
  /** Logical and. @param other Tensor or number. @returns A bool tensor. */
  logicalAnd(other: Tensor | number): Tensor {
    return binary("logicalAnd", this, other);
  }
  /** Logical or. @param other Tensor or number. @returns A bool tensor. */
  logicalOr(other: Tensor | number): Tensor {
    return binary("logicalOr", this, other);
  }
  /** Logical not. @returns A bool tensor. */
  logicalNot(): Tensor {
    return unary("logicalNot", this);
  }
  /** Negation. @returns `-this`. */
  neg(): Tensor {
    return unary("neg", this);
  }
  /** Absolute value. @returns `|this|`. */
  abs(): Tensor {
    return unary("abs", this);
  }
  /** Sign (-1, 0 or 1). @returns The signs. */
  sign(): Tensor {
    return unary("sign", this);
  }
  /** Exponential. @returns `e ** this`. */
  exp(): Tensor {
    return unary("exp", this);
  }
  /** Natural logarithm. @returns `ln(this)`. */
  log(): Tensor {
    return unary("log", this);
  }
  /** Square root. @returns `sqrt(this)`. */
  sqrt(): Tensor {
    return unary("sqrt", this);
  }
  /** Reciprocal square root. @returns `1 / sqrt(this)`. */
  rsqrt(): Tensor {
    return unary("rsqrt", this);
  }
  /** Sine. @returns `sin(this)`. */
  sin(): Tensor {
    return unary("sin", this);
  }
  /** Cosine. @returns `cos(this)`. */
  cos(): Tensor {
    return unary("cos", this);
  }
  /** Hyperbolic tangent. @returns `tanh(this)`. */
  tanh(): Tensor {
    return unary("tanh", this);
  }
  /** Logistic sigmoid. @returns `1 / (1 + exp(-this))`. */
  sigmoid(): Tensor {
    return unary("sigmoid", this);
  }
  /** Gauss error function. @returns `erf(this)`. */
  erf(): Tensor {
    return unary("erf", this);
  }
  /** Rectified linear unit. @returns `max(this, 0)`. */
  relu(): Tensor {
    return unary("relu", this);
  }
  /**
   * Clamps into `[min, max]` (either bound may be omitted).
   *
   * @param min Lower bound.
   * @param max Upper bound.
   * @returns The clamped tensor.
   */
  clamp(min?: Tensor | number, max?: Tensor | number): Tensor {
    const lo = min === undefined ? this : this.maximum(min);
    return max === undefined ? lo : lo.minimum(max);
  }
  /**
   * `this` where `condition` holds, else `other` (like `Tensor.where` in PyTorch).
   *
   * @param condition A bool tensor.
   * @param other Values where the condition is false.
   * @returns The selection.
   */
  where(condition: Tensor, other: Tensor | number): Tensor {
    const cond = condition.cast("bool");
    const b = lift(other, this);
    const dtype = promoteTypes(this.dtype, b.dtype);
    return apply("where", [cond, this.cast(dtype), b.cast(dtype)], undefined);
  }
  /**
   * Fills positions where `mask` is true with `value`.
   *
   * @param mask A bool tensor broadcastable to this shape.
   * @param value The fill value.
   * @returns The filled tensor.
   */
  maskedFill(mask: Tensor, value: number): Tensor {
    return lift(value, this).cast(this.dtype).where(mask, this);
  }

  // ---- reductions --------------------------------------------------------------------------

  /** Sum over `axes` (all by default). @param axes Axes. @param options keepdim. @returns The sums. */
  sum(axes?: number | readonly number[], options: ReduceOptions = {}): Tensor {
    const x = this.dtype === "bool" ? this.cast("int32") : this;
    return reduce("sum", x, axes, options);
  }
  /** Mean over `axes`. @param axes Axes. @param options keepdim. @returns The means. */
  mean(axes?: number | readonly number[], options: ReduceOptions = {}): Tensor {
    const ax = normalizeAxes("mean", axes, this.ndim);
    const n = ax.reduce((p, a) => p * this.shape[a], 1);
    return this.cast(isFloat(this.dtype) ? this.dtype : "float32").sum(ax, options).div(n);
  }
  /** Maximum over `axes` (values only; see `argmax`). @param axes Axes. @param options keepdim. @returns The maxima. */
  max(axes?: number | readonly number[], options: ReduceOptions = {}): Tensor {
    return reduce("max", this, axes, options);
  }
  /** Minimum over `axes`. @param axes Axes. @param options keepdim. @returns The minima. */
  min(axes?: number | readonly number[], options: ReduceOptions = {}): Tensor {
    return reduce("min", this, axes, options);
  }
  /** Index of the first maximum along `axis` (over all elements, flattened, by default). @param axis Axis. @param options keepdim. @returns int32 indices. */
  argmax(axis?: number, options: ReduceOptions = {}): Tensor {
    return axis === undefined
      ? reduce("argmax", this.flatten(), 0, {})
      : reduce("argmax", this, axis, options);
  }
  /** Index of the first minimum along `axis`. @param axis Axis. @param options keepdim. @returns int32 indices. */
  argmin(axis?: number, options: ReduceOptions = {}): Tensor {
    return axis === undefined
      ? reduce("argmin", this.flatten(), 0, {})
      : reduce("argmin", this, axis, options);
  }
  /**
   * Variance over `axes` with Bessel's correction by default (`torch.var`).
   *
   * @param axes Axes.
   * @param options keepdim and correction (default 1).
   * @returns The variances.
   */
  var(
    axes?: number | readonly number[],
    options: ReduceOptions & { correction?: number } = {},
  ): Tensor {
    const ax = normalizeAxes("var", axes, this.ndim);
    const n = ax.reduce((p, a) => p * this.shape[a], 1);
    const centered = this.sub(this.mean(ax, { keepdim: true }));
    return centered.mul(centered).sum(ax, options).div(Math.max(0, n - (options.correction ?? 1)));
  }
  /** `log(sum(exp(x)))` over `axes`, computed stably. @param axes Axes. @param options keepdim. @returns The result. */
  logsumexp(axes?: number | readonly number[], options: ReduceOptions = {}): Tensor {
    const ax = normalizeAxes("logsumexp", axes, this.ndim);
    const m = this.max(ax, { keepdim: true }).detach();
    const finite = m.where(m.abs().lt(Infinity), 0);
    const out = this.sub(finite).exp().sum(ax, { keepdim: true }).log().add(finite);
    return options.keepdim ? out : out.squeeze(ax);
  }
  /** Whether all elements (over `axes`) are true. @param axes Axes. @param options keepdim. @returns A bool tensor. */
  all(axes?: number | readonly number[], options: ReduceOptions = {}): Tensor {
    return this.cast("bool").cast("int32").min(axes, options).cast("bool");
  }
  /** Whether any element (over `axes`) is true. @param axes Axes. @param options keepdim. @returns A bool tensor. */
  any(axes?: number | readonly number[], options: ReduceOptions = {}): Tensor {
    return this.cast("bool").cast("int32").max(axes, options).cast("bool");
  }

  // ---- linear algebra and indexing -----------------------------------------------------------

  /**
   * Matrix product with `torch.matmul` semantics (1-D, 2-D, batched, broadcast batch dims).
   *
   * @param other The right operand.
   * @returns The product.
   */
  matmul(other: Tensor): Tensor {
    return matmulFrontend(this, other);
  }
  /** `torch.gather` along `dim`. @param dim The dimension. @param index int32 indices. @returns Gathered values. */
  gather(dim: number, index: Tensor): Tensor {
    return apply("gather", [this, index], { dim: normalizeAxis("gather", dim, this.ndim) });
  }
  /** Rows (along `dim`) at a 1-D int32 index. @param dim The dimension. @param index Indices. @returns The selection. */
  indexSelect(dim: number, index: Tensor): Tensor {
    return apply("indexSelect", [this, index], {
      dim: normalizeAxis("indexSelect", dim, this.ndim),
    });
  }
  /** Out-of-place `torch.scatter_add`. @param dim The dimension. @param index Indices. @param src Values. @returns The result. */
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    const d = normalizeAxis("scatterAdd", dim, this.ndim);
    // Accumulate half precision in float32 (GPU atomics are 32-bit), then round once.
    if (this.dtype === "float16") {
      return apply("scatterAdd", [this.cast("float32"), index, src.cast("float32")], { dim: d })
        .cast("float16");
    }
    return apply("scatterAdd", [this, index, src], { dim: d });
  }
  /**
   * The `k` largest (or smallest) entries along `dim`, sorted, with their int32 indices.
   *
   * @param k How many.
   * @param options dim (default -1) and largest (default true).
   * @returns `{ values, indices }`.
   */
  topk(
    k: number,
    options: { dim?: number; largest?: boolean } = {},
  ): { values: Tensor; indices: Tensor } {
    const dim = normalizeAxis("topk", options.dim ?? -1, this.ndim);
    const indices = apply("topk", [this], { k, dim, largest: options.largest ?? true });
    return { values: this.gather(dim, indices), indices };
  }
  /** Lower triangle of the last two dims (above `diagonal` zeroed). @param diagonal Offset. @returns The triangle. */
  tril(diagonal = 0): Tensor {
    return triangle(this, diagonal, true);
  }
  /** Upper triangle of the last two dims. @param diagonal Offset. @returns The triangle. */
  triu(diagonal = 0): Tensor {
    return triangle(this, diagonal, false);
  }
  /** One-hot encoding of an int32 tensor (a new last dim of `numClasses`). @param numClasses Classes. @returns int32 one-hot. */
  oneHot(numClasses: number): Tensor {
    this.assertLive("oneHot");
    if (this.dtype !== "int32") {
      throw new TypeError(`Cannot oneHot a ${this.dtype} tensor: expected int32 class indices`);
    }
    const classes = fromTypedArray(Int32Array.from({ length: numClasses }, (_, i) => i), [
      numClasses,
    ], this.storage.backend);
    return this.unsqueeze(-1).eq(classes).cast("int32");
  }

  // ---- composites --------------------------------------------------------------------------

  /** Softmax along `dim` (fused kernel). @param dim The dimension. @returns Probabilities. */
  softmax(dim = -1): Tensor {
    return apply("softmax", [floatOf(this)], { dim: normalizeAxis("softmax", dim, this.ndim) });
  }
  /** Log-softmax along `dim` (fused kernel). @param dim The dimension. @returns Log-probabilities. */
  logSoftmax(dim = -1): Tensor {
    return apply("logSoftmax", [floatOf(this)], {
      dim: normalizeAxis("logSoftmax", dim, this.ndim),
    });
  }
  /**
   * GELU: `0.5 x (1 + erf(x / sqrt 2))`, or the tanh approximation.
   *
   * @param approximate `"none"` (erf) or `"tanh"`. @default {"none"}
   * @returns The activation.
   */
  gelu(approximate: "none" | "tanh" = "none"): Tensor {
    return apply("gelu", [floatOf(this)], { approximate });
  }
  /** SiLU (swish): `x * sigmoid(x)`. @returns The activation. */
  silu(): Tensor {
    return this.mul(this.sigmoid());
  }
  /**
   * Zeroes each element with probability `p` and scales the rest by `1 / (1 - p)`; the mask comes
   * from the global counter-based RNG, so it is identical on every backend for the same seed.
   *
   * @param p Drop probability.
   * @param training Apply only when true. @default {true}
   * @returns The result (this tensor when not training or `p` is 0).
   */
  dropout(p: number, training = true): Tensor {
    this.assertLive("dropout");
    if (!(p >= 0 && p <= 1)) {
      throw new RangeError(`Cannot dropout with p = ${p}: expected a probability in [0, 1]`);
    }
    if (!training || p === 0) return this;
    if (p === 1) return this.mul(0);
    const mask = randomTensor(
      this.shape,
      floatOf(this).dtype,
      "bernoulli",
      this.storage.backend,
      p,
    );
    return this.mul(mask).mul(1 / (1 - p));
  }

  /** Zeros of the same shape, dtype and backend. @returns The zeros. */
  zerosLike(): Tensor {
    this.assertLive("zerosLike");
    return fullOn(this.shape, 0, this.dtype, this.storage.backend);
  }
  /** Ones of the same shape, dtype and backend. @returns The ones. */
  onesLike(): Tensor {
    this.assertLive("onesLike");
    return fullOn(this.shape, 1, this.dtype, this.storage.backend);
  }
  /** Human-readable summary. @returns The summary. */
  toString(): string {
    return `Tensor(shape=${formatShape(this.shape)}, dtype=${this.dtype}, backend=${this.backend})`;
  }
}

// ---- apply and frontend helpers --------------------------------------------------------------

/**
 * Runs op `name` on `inputs`: validates, allocates, dispatches and records the autograd node.
 *
 * @param name The op.
 * @param inputs Input tensors (all on one backend).
 * @param args Op arguments.
 * @param backendName Backend for ops without inputs.
 * @returns The output tensor.
 */
export function apply<K extends OpName>(
  name: K,
  inputs: readonly Tensor[],
  args: OpArgs<K>,
  backendName?: BackendName | Backend,
): Tensor {
  const op = OPS[name] as unknown as OpDef<unknown>;
  for (const t of inputs) t.assertLive(name);
  const first = inputs[0];
  for (const t of inputs) {
    if (t.backend !== first.backend) {
      throw new Error(
        `Cannot ${name} tensors on different backends: ${
          inputs.map((x) => `"${x.backend}"`).join(" and ")
        }`,
      );
    }
  }
  // The storage's own backend object: after a device loss it raises DeviceLostError, not a lookup error.
  const backend = first
    ? first.storage.backend
    : typeof backendName === "object"
    ? backendName
    : backendOf(backendName);
  let out: Tensor;
  if (op.kind === "view") {
    const storage = first.storage;
    const v = op.view(first, args);
    storage.refs++;
    out = new Tensor(storage, { ...v, dtype: first.dtype });
  } else {
    const meta = op.infer(inputs, args);
    const length = sizeOf(meta.shape);
    const handle = backend.alloc(meta.dtype, length, name);
    const storage = new Storage(
      backend,
      handle,
      length * backend.bytesPerElement(meta.dtype),
      true,
    );
    const views = inputs.map((t) => ({
      shape: t.shape,
      strides: t.strides,
      offset: t.offset,
      dtype: t.dtype,
      handle: t.storage.handle,
    }));
    try {
      backend.run(op as KernelOpDef<unknown>, views, handle, meta, args);
    } catch (e) {
      storage.release();
      throw e;
    }
    out = new Tensor(storage, { ...meta, strides: contiguousStrides(meta.shape), offset: 0 });
  }
  if (op.vjp && isFloat(out.dtype) && isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs: [...inputs], args, released: false };
  }
  noteOp(name, inputs, out);
  return out;
}

/**
 * Creates a tensor from a typed array on a backend.
 *
 * @param data The values (row-major).
 * @param shape The shape.
 * @param backendName The backend (default: the current one).
 * @param tracked Count it in `memory()` (internal constants are not).
 * @returns The tensor.
 */
export function fromTypedArray(
  data: TypedArray,
  shape: readonly number[],
  backendName?: BackendName | Backend,
  tracked = true,
): Tensor {
  if (sizeOf(shape) !== data.length) {
    throw new ShapeError(
      "tensor",
      `Cannot create tensor of shape ${formatShape(shape)} from ${data.length} values`,
      [shape],
    );
  }
  const backend = typeof backendName === "object" ? backendName : backendOf(backendName);
  const dtype = arrayDTypeOf(data);
  const handle = backend.alloc(dtype, data.length, "tensor");
  backend.write(handle, dtype, data);
  const storage = new Storage(
    backend,
    handle,
    data.length * backend.bytesPerElement(dtype),
    tracked,
  );
  return new Tensor(storage, { shape, strides: contiguousStrides(shape), offset: 0, dtype });
}

function arrayDTypeOf(a: TypedArray): DType {
  return arrayDType(a);
}

/** @internal A tensor of `shape` filled with `value`. */
export function fullOn(
  shape: readonly number[],
  value: number,
  dtype: DType,
  backend?: BackendName | Backend,
): Tensor {
  const data = convertArray([value], dtype);
  const filled = new (data.constructor as new (n: number) => TypedArray)(sizeOf(shape));
  filled.fill(data[0]);
  return fromTypedArray(filled, shape, backend);
}

const constants = new WeakMap<Backend, Map<string, Tensor>>();

/** A cached, untracked scalar constant (numbers lifted into ops). */
function constant(value: number, dtype: DType, b: Backend): Tensor {
  let cache = constants.get(b);
  if (!cache) constants.set(b, cache = new Map());
  const key = `${dtype}|${Object.is(value, -0) ? "-0" : value}`;
  let t = cache.get(key);
  if (!t) {
    if (cache.size > 4096) cache.clear();
    t = fromTypedArray(convertArray([value], dtype), [], b, false);
    cache.set(key, t);
  }
  return t;
}

/** Turns a number into a scalar tensor of a dtype compatible with `like` (PyTorch's scalar rule). */
function lift(x: Tensor | number, like: Tensor): Tensor {
  if (typeof x !== "number") return x;
  const dtype = isFloat(like.dtype) ? like.dtype : Number.isInteger(x) ? "int32" : "float32";
  return constant(x, dtype, like.storage.backend);
}

function floatOf(x: Tensor): Tensor {
  return isFloat(x.dtype) ? x : x.cast("float32");
}

function prepare(rule: DTypeRule, dtype: DType): DType {
  if (rule === "numeric") return dtype === "bool" ? "int32" : dtype;
  if (rule === "float") return isFloat(dtype) ? dtype : "float32";
  if (rule === "bool") return "bool";
  return dtype;
}

function unary(name: OpName, x: Tensor): Tensor {
  x.assertLive(name);
  const rule = (OPS[name] as { dtypeRule: DTypeRule }).dtypeRule;
  return atomic(() => apply(name, [x.cast(prepare(rule, x.dtype))], undefined as never));
}

function binary(name: OpName, a: Tensor, other: Tensor | number): Tensor {
  a.assertLive(name);
  if (typeof other !== "number") other.assertLive(name);
  const b = lift(other, a);
  const rule = (OPS[name] as { dtypeRule: DTypeRule }).dtypeRule;
  const dtype = prepare(rule, promoteTypes(a.dtype, b.dtype));
  // Casts run before the broadcast check in `infer`; a failure must not leak them.
  return atomic(() => apply(name, [a.cast(dtype), b.cast(dtype)], undefined as never));
}

function reduce(
  name: "sum" | "max" | "min" | "argmax" | "argmin",
  x: Tensor,
  axes: number | readonly number[] | undefined,
  { keepdim = false }: ReduceOptions,
): Tensor {
  return apply(name, [x], { axes: normalizeAxes(name, axes, x.ndim), keepdim });
}

function resolveShape(from: readonly number[], to: readonly number[]): number[] {
  const unknown = to.indexOf(-1);
  const known = to.reduce((p, d, i) => (i === unknown ? p : p * d), 1);
  const out = [...to];
  if (unknown >= 0) {
    if (to.lastIndexOf(-1) !== unknown || known === 0 || sizeOf(from) % known !== 0) {
      throw new ShapeError(
        "reshape",
        `Cannot reshape tensor of shape ${formatShape(from)} to ${
          formatShape(to)
        }: the size cannot be inferred`,
        [from, to],
      );
    }
    out[unknown] = sizeOf(from) / known;
  }
  if (sizeOf(out) !== sizeOf(from)) {
    throw new ShapeError(
      "reshape",
      `Cannot reshape tensor of shape ${formatShape(from)} to ${
        formatShape(to)
      }: element counts differ (${sizeOf(from)} vs ${sizeOf(out)})`,
      [from, to],
    );
  }
  if (out.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(
      "reshape",
      `Cannot reshape to ${formatShape(to)}: sizes must be non-negative integers`,
      [to],
    );
  }
  return out;
}

function matmulFrontend(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) {
    throw new ShapeError(
      "matmul",
      `Cannot matmul tensors: both operands need at least 1 dimension (lhs ${
        formatShape(a.shape)
      }, rhs ${formatShape(b.shape)})`,
      [a.shape, b.shape],
    );
  }
  a.assertLive("matmul");
  b.assertLive("matmul");
  // Validate before any view or cast exists, so a bad call leaves nothing behind.
  if (a.shape.at(-1) !== b.shape.at(b.ndim === 1 ? 0 : -2)) {
    throw new ShapeError(
      "matmul",
      `Cannot matmul tensors: inner dimensions differ (lhs ${formatShape(a.shape)}, rhs ${
        formatShape(b.shape)
      })`,
      [a.shape, b.shape],
    );
  }
  const dtype = promoteTypes(promoteTypes(a.dtype, b.dtype), "float32");
  const batchOf = (t: Tensor) => t.shape.slice(0, Math.max(0, t.ndim - 2));
  broadcastShapes("matmul", [batchOf(a), batchOf(b)]);
  return atomic(() => matmulChecked(a, b, dtype));
}

function matmulChecked(a: Tensor, b: Tensor, dtype: DType): Tensor {
  const a2 = a.ndim === 1 ? a.unsqueeze(0) : a;
  const b2 = b.ndim === 1 ? b.unsqueeze(-1) : b;
  const batch = OPS.matmul.infer([a2, b2].map((t) => ({ shape: t.shape, dtype })), undefined).shape
    .slice(0, -2);
  // Kernels take one batch stride per operand; copy an operand whose batch dims do not collapse.
  const fit = (t: Tensor) => {
    const x = t.cast(dtype);
    return collapsedBatchStride(x, batch) === null
      ? x.expand([...batch, ...x.shape.slice(-2)]).contiguous()
      : x;
  };
  let out = apply("matmul", [fit(a2), fit(b2)], undefined);
  // Half-precision operands multiply in float32 and round the result back, as cuBLAS does.
  if (a.dtype === "float16" && b.dtype === "float16") out = out.cast("float16");
  if (a.ndim === 1) out = out.squeeze(-2);
  if (b.ndim === 1) out = out.squeeze(-1);
  return out;
}

function triangle(x: Tensor, diagonal: number, lower: boolean): Tensor {
  if (x.ndim < 2) {
    throw new ShapeError(
      "tril",
      `Cannot take a triangle of a tensor of shape ${formatShape(x.shape)}: need 2 dimensions`,
    );
  }
  const [r, c] = x.shape.slice(-2);
  const keep = new Uint8Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) keep[i * c + j] = +(lower ? j - i <= diagonal : j - i >= diagonal);
  }
  return x.where(fromTypedArray(keep, [r, c], x.storage.backend), 0);
}

/** @internal Draws from the global RNG stream, advancing it. */
export function randomTensor(
  shape: readonly number[],
  dtype: DType,
  dist: Distribution,
  backend?: BackendName | Backend,
  p?: number,
): Tensor {
  const offset = nextRandomOffset(blocksFor(sizeOf(shape)));
  return apply("random", [], { shape, dtype, seed: rngSeed(), offset, dist, p }, backend);
}
