/**
 * The shape of one op-table entry: a shape/dtype rule, a CPU reference kernel, an optional WGSL
 * program and a vector-Jacobian product. Every primitive is one such object.
 *
 * @module
 */

import type { DType, TypedArray } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import type { WgslProgram } from "./wgsl_program.ts";

/** Shape and dtype of a tensor, without data. */
export interface TensorMeta {
  /** The dimensions. */
  readonly shape: readonly number[];
  /** The element type. */
  readonly dtype: DType;
}

/** A strided window onto a storage buffer, as kernels see an input. */
export interface ViewMeta extends TensorMeta {
  /** Element strides, one per dimension. */
  readonly strides: readonly number[];
  /** Element offset of the first element. */
  readonly offset: number;
}

/** An input as the CPU kernels see it: a strided view over a typed array. */
export interface CpuView extends ViewMeta {
  /** The whole storage of the tensor. */
  readonly data: TypedArray;
}

/** Gradient rule: returns one gradient (or `null`) per input, written with Tensor ops. */
export type Vjp<A> = (
  g: Tensor,
  out: Tensor,
  inputs: readonly Tensor[],
  args: A,
  needs: readonly boolean[],
) => (Tensor | null)[];

/** Hints for the table-driven op test. */
export interface OpTestHints {
  /** Range random float inputs are drawn from (default `[-2, 2]`). */
  readonly domain?: readonly [number, number];
  /** Skip the finite-difference check (for ops whose gradient is not defined everywhere). */
  readonly noGrad?: boolean;
}

/** A primitive that computes a new buffer. */
export interface KernelOpDef<A> {
  /** Distinguishes kernels from views. */
  readonly kind: "kernel";
  /** Lowercase op name, also the first part of every pipeline key. */
  readonly name: string;
  /** Shape/dtype rule; validates the inputs and throws before anything is queued. */
  infer(inputs: readonly TensorMeta[], args: A): TensorMeta;
  /** Reference kernel writing a contiguous, zero-initialised `out`. The definition of the op. */
  cpu(inputs: readonly CpuView[], out: TypedArray, outMeta: TensorMeta, args: A): void;
  /** WebGPU program; absent means the op raises `UnsupportedOpError` on WebGPU. */
  wgsl?(
    inputs: readonly ViewMeta[],
    outMeta: TensorMeta,
    args: A,
  ): WgslProgram | readonly WgslProgram[];
  /** Gradient rule; absent means the op is not differentiable. */
  vjp?: Vjp<A>;
  /** Test hints. */
  readonly test?: OpTestHints;
}

/** A primitive that only reinterprets an existing buffer (no kernel, no copy). */
export interface ViewOpDef<A> {
  /** Distinguishes views from kernels. */
  readonly kind: "view";
  /** Lowercase op name. */
  readonly name: string;
  /** Computes the view's shape, strides and offset; throws on bad arguments. */
  view(input: ViewMeta, args: A): Omit<ViewMeta, "dtype">;
  /** Gradient rule. */
  vjp: Vjp<A>;
}

/** Any op-table entry. */
export type OpDef<A> = KernelOpDef<A> | ViewOpDef<A>;
