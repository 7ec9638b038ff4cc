/**
 * Elementwise primitives: unary math, binary arithmetic and comparisons, `where`, `cast` and the
 * strided copy behind `contiguous`. Each is a CPU function, a WGSL expression and a vjp.
 *
 * @module
 */

import type { DType } from "../dtype.ts";
import { broadcastShapes } from "../shape.ts";
import { copyCpu, type Fn, runCpu, runWasm } from "./elementwise_cpu.ts";
import { erf, ERF_WGSL } from "./erf.ts";
import type { KernelOpDef, OpTestHints, TensorMeta, Vjp } from "./op_def.ts";
import { computeType, elementwiseProgram, wgslType } from "./wgsl_util.ts";

/** How an op wants its input dtypes prepared by the frontend before it runs. */
export type DTypeRule = "numeric" | "float" | "bool" | "compare" | "any";

/** An elementwise kernel with its dtype rule. */
export interface ElementwiseOpDef<A> extends KernelOpDef<A> {
  /** The dtype rule the frontend applies (casting inputs) before calling the op. */
  readonly dtypeRule: DTypeRule;
}

function elementwise<A = void>(
  name: string,
  arity: number,
  dtypeRule: DTypeRule,
  outDType: (inputs: readonly TensorMeta[], args: A) => DType,
  cpu: (args: A) => Fn,
  wgsl: (v: string[], inTypes: string[], args: A) => string,
  vjp?: Vjp<A>,
  extra: { keyOf?: (args: A) => string; prelude?: string; test?: OpTestHints } = {},
): ElementwiseOpDef<A> {
  return {
    kind: "kernel",
    name,
    dtypeRule,
    infer(inputs, args) {
      if (inputs.length !== arity) {
        throw new TypeError(`Cannot ${name}: expected ${arity} inputs, got ${inputs.length}`);
      }
      const shape = arity === 1
        ? inputs[0].shape
        : broadcastShapes(name, inputs.map((x) => x.shape));
      return { shape, dtype: outDType(inputs, args) };
    },
    cpu(inputs, out, outMeta, args) {
      if (!runWasm(name, inputs, out, outMeta, args)) runCpu(cpu(args), inputs, out, outMeta);
    },
    wgsl(inputs, outMeta, args) {
      const types = inputs.map((x) => computeType(wgslType(name, x.dtype)));
      const p = elementwiseProgram(
        name,
        inputs,
        outMeta,
        (v) => wgsl(v, types, args),
        extra.keyOf?.(args) ?? "",
      );
      if (!extra.prelude) return p;
      const prelude = extra.prelude;
      return { ...p, code: () => `${prelude}\n${p.code()}` };
    },
    vjp,
    test: extra.test,
  };
}

const same = (inputs: readonly TensorMeta[]): DType => inputs[0].dtype;
const toBool = (): DType => "bool";

function unary(
  name: string,
  dtypeRule: DTypeRule,
  f: Fn,
  wgsl: (x: string, type: string) => string,
  vjp?: Vjp<void>,
  extra: { prelude?: string; test?: OpTestHints } = {},
): ElementwiseOpDef<void> {
  return elementwise(name, 1, dtypeRule, same, () => f, (v, t) => wgsl(v[0], t[0]), vjp, extra);
}

function binary(
  name: string,
  dtypeRule: DTypeRule,
  f: Fn,
  wgsl: (a: string, b: string, type: string) => string,
  vjp?: Vjp<void>,
  extra: { prelude?: string; test?: OpTestHints } = {},
): ElementwiseOpDef<void> {
  const out = dtypeRule === "compare" || dtypeRule === "bool" ? toBool : same;
  return elementwise(
    name,
    2,
    dtypeRule,
    out,
    () => f,
    (v, t) => wgsl(v[0], v[1], t[0]),
    vjp,
    extra,
  );
}

/** WGSL's `pow` is `exp2(b * log2(a))`, undefined for `a <= 0`; PyTorch follows C's `pow`. */
const POW_WGSL = `fn pow_f32(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a == 0.0) { return select(bitcast<f32>(0x7f800000u), 0.0, b > 0.0); }
  let r = exp2(b * log2(abs(a)));
  if (a > 0.0) { return r; }
  if (floor(b) != b) { return bitcast<f32>(0x7fc00000u); }
  return select(r, -r, (i32(b) & 1) == 1);
}`;

const cmp = (op: string) => (a: string, b: string) => `select(0u, 1u, ${a} ${op} ${b})`;
/** Scalar of the same WGSL type as an operand. */
const lit = (type: string, value: number) => `${type}(${value})`;

/** Gradient of max/min: the winner takes `g`; exact ties share it evenly, as PyTorch does. */
const minMaxVjp = (pick: "gt" | "lt"): Vjp<void> => (g, _out, [a, b], _args, needs) => {
  const tie = a.eq(b);
  const half = g.mul(0.5);
  const winA = a[pick](b);
  const winB = b[pick](a);
  return [
    needs[0] ? g.where(winA, half.where(tie, 0)) : null,
    needs[1] ? g.where(winB, half.where(tie, 0)) : null,
  ];
};

/** `neg(x) = -x`. */
export const neg: ElementwiseOpDef<void> = unary(
  "neg",
  "numeric",
  (x) => -x,
  (x) => `-${x}`,
  (g) => [
    g.neg(),
  ],
);
/** `abs(x) = |x|`. */
export const abs: ElementwiseOpDef<void> = unary(
  "abs",
  "numeric",
  Math.abs,
  (x) => `abs(${x})`,
  (g, _o, [x]) => [g.mul(x.sign())],
);
/** `sign(x)` in {-1, 0, 1}. */
export const sign: ElementwiseOpDef<void> = unary(
  "sign",
  "numeric",
  Math.sign,
  (x) => `sign(${x})`,
);
/** `exp(x)`. */
export const exp: ElementwiseOpDef<void> = unary(
  "exp",
  "float",
  Math.exp,
  (x) => `exp(${x})`,
  (g, out) => [
    g.mul(out),
  ],
);
/** Natural logarithm. */
export const log: ElementwiseOpDef<void> = unary(
  "log",
  "float",
  Math.log,
  (x) => `log(${x})`,
  (g, _o, [x]) => [g.div(x)],
  { test: { domain: [0.2, 3] } },
);
/** Square root. */
export const sqrt: ElementwiseOpDef<void> = unary(
  "sqrt",
  "float",
  Math.sqrt,
  (x) => `sqrt(${x})`,
  (g, out) => [g.div(out.mul(2))],
  { test: { domain: [0.2, 3] } },
);
/** Reciprocal square root. */
export const rsqrt: ElementwiseOpDef<void> = unary(
  "rsqrt",
  "float",
  (x) => 1 / Math.sqrt(x),
  (x) => `inverseSqrt(${x})`,
  (g, out) => [g.mul(out.mul(out).mul(out)).mul(-0.5)],
  { test: { domain: [0.2, 3] } },
);
/** Sine. */
export const sin: ElementwiseOpDef<void> = unary(
  "sin",
  "float",
  Math.sin,
  (x) => `sin(${x})`,
  (g, _o, [x]) => [
    g.mul(x.cos()),
  ],
);
/** Cosine. */
export const cos: ElementwiseOpDef<void> = unary(
  "cos",
  "float",
  Math.cos,
  (x) => `cos(${x})`,
  (g, _o, [x]) => [
    g.mul(x.sin()).neg(),
  ],
);
/** Hyperbolic tangent. WGSL clamps first: some drivers return NaN for large |x|. */
export const tanh: ElementwiseOpDef<void> = unary(
  "tanh",
  "float",
  Math.tanh,
  (x) => `tanh(clamp(${x}, -15.0, 15.0))`,
  (g, out) => [g.mul(out.mul(out).neg().add(1))],
);
/** Logistic sigmoid `1 / (1 + exp(-x))`. */
export const sigmoid: ElementwiseOpDef<void> = unary(
  "sigmoid",
  "float",
  (x) => 1 / (1 + Math.exp(-x)),
  (x) => `(1.0 / (1.0 + exp(-${x})))`,
  (g, out) => [g.mul(out).mul(out.neg().add(1))],
);
/** The Gauss error function. */
export const erfOp: ElementwiseOpDef<void> = unary(
  "erf",
  "float",
  erf,
  (x) => `erf_f32(${x})`,
  (g, _o, [x]) => [g.mul(x.mul(x).neg().exp().mul(1.1283791670955126))],
  { prelude: ERF_WGSL },
);
/** `max(x, 0)`; the gradient at 0 is 0, as in PyTorch. */
export const relu: ElementwiseOpDef<void> = unary(
  "relu",
  "numeric",
  (x) => (x > 0 ? x : 0),
  (x, t) => `max(${x}, ${lit(t, 0)})`,
  (g, _o, [x]) => [g.where(x.gt(0), 0)],
);
/** Logical not of a bool tensor. */
export const logicalNot: ElementwiseOpDef<void> = unary(
  "logicalNot",
  "bool",
  (x) => (x ? 0 : 1),
  (x) => `select(1u, 0u, ${x} != 0u)`,
);
/** Strided copy into a dense buffer. */
export const copy: ElementwiseOpDef<void> = {
  ...unary("copy", "any", (x) => x, (x) => x, (g) => [g]),
  cpu: (inputs, out) => copyCpu(inputs, out),
};

/** `a + b`. */
export const add: ElementwiseOpDef<void> = binary(
  "add",
  "numeric",
  (a, b) => a + b,
  (a, b) => `${a} + ${b}`,
  (
    g,
  ) => [g, g],
);
/** `a - b`. */
export const sub: ElementwiseOpDef<void> = binary(
  "sub",
  "numeric",
  (a, b) => a - b,
  (a, b) => `${a} - ${b}`,
  (g, _o, _i, _a, needs) => [g, needs[1] ? g.neg() : null],
);
/** `a * b`. */
export const mul: ElementwiseOpDef<void> = binary(
  "mul",
  "numeric",
  (a, b) => a * b,
  (a, b) => `${a} * ${b}`,
  (g, _o, [a, b], _a, needs) => [needs[0] ? g.mul(b) : null, needs[1] ? g.mul(a) : null],
);
/** True division `a / b` (integers are promoted to float32 first, as `torch.div` does). */
export const div: ElementwiseOpDef<void> = binary(
  "div",
  "float",
  (a, b) => a / b,
  (a, b) => `${a} / ${b}`,
  (g, out, [_a, b], _args, needs) => [
    needs[0] ? g.div(b) : null,
    needs[1] ? g.mul(out).div(b).neg() : null,
  ],
  { test: { domain: [0.5, 2] } },
);
/** `a ** b`, defined for negative `a` when `b` is an integer. */
export const pow: ElementwiseOpDef<void> = binary(
  "pow",
  "float",
  Math.pow,
  (a, b) => `pow_f32(${a}, ${b})`,
  (g, out, [a, b], _args, needs) => [
    needs[0] ? g.mul(b).mul(a.pow(b.sub(1))) : null,
    needs[1] ? g.mul(out).mul(a.log()) : null,
  ],
  { test: { domain: [0.5, 2] }, prelude: POW_WGSL },
);
/** Elementwise maximum. */
export const maximum: ElementwiseOpDef<void> = binary(
  "maximum",
  "numeric",
  Math.max,
  (a, b) => `max(${a}, ${b})`,
  minMaxVjp("gt"),
);
/** Elementwise minimum. */
export const minimum: ElementwiseOpDef<void> = binary(
  "minimum",
  "numeric",
  Math.min,
  (a, b) => `min(${a}, ${b})`,
  minMaxVjp("lt"),
);
/** `a == b`. */
export const eq: ElementwiseOpDef<void> = binary("eq", "compare", (a, b) => +(a === b), cmp("=="));
/** `a != b`. */
export const ne: ElementwiseOpDef<void> = binary("ne", "compare", (a, b) => +(a !== b), cmp("!="));
/** `a < b`. */
export const lt: ElementwiseOpDef<void> = binary("lt", "compare", (a, b) => +(a < b), cmp("<"));
/** `a <= b`. */
export const le: ElementwiseOpDef<void> = binary("le", "compare", (a, b) => +(a <= b), cmp("<="));
/** `a > b`. */
export const gt: ElementwiseOpDef<void> = binary("gt", "compare", (a, b) => +(a > b), cmp(">"));
/** `a >= b`. */
export const ge: ElementwiseOpDef<void> = binary("ge", "compare", (a, b) => +(a >= b), cmp(">="));
/** Logical and of two bool tensors. */
export const logicalAnd: ElementwiseOpDef<void> = binary(
  "logicalAnd",
  "bool",
  (a, b) => +(a !== 0 && b !== 0),
  (a, b) => `select(0u, 1u, ${a} != 0u && ${b} != 0u)`,
);
/** Logical or of two bool tensors. */
export const logicalOr: ElementwiseOpDef<void> = binary(
  "logicalOr",
  "bool",
  (a, b) => +(a !== 0 || b !== 0),
  (a, b) => `select(0u, 1u, ${a} != 0u || ${b} != 0u)`,
);

/** `where(cond, a, b)`: `a` where `cond` is true, else `b`, with broadcasting. */
export const where: ElementwiseOpDef<void> = elementwise(
  "where",
  3,
  "any",
  (inputs) => inputs[1].dtype,
  () => (c, a, b) => (c ? a : b),
  (v) => `select(${v[2]}, ${v[1]}, ${v[0]} != 0u)`,
  (g, _o, [c], _args, needs) => [
    null,
    needs[1] ? g.where(c, 0) : null,
    needs[2] ? g.where(c.logicalNot(), 0) : null,
  ],
);

/** Arguments of {@linkcode cast}. */
export interface CastArgs {
  /** The target dtype. */
  readonly dtype: DType;
}

/** Converts to another dtype (floats to int32 round toward zero; non-zero to bool is true). */
export const cast: ElementwiseOpDef<CastArgs> = elementwise<CastArgs>(
  "cast",
  1,
  "any",
  (_inputs, args) => args.dtype,
  ({ dtype }) => dtype === "bool" ? (x) => +(x !== 0) : dtype === "int32" ? Math.trunc : (x) => x,
  (v, types, { dtype }) => {
    const to = wgslType("cast", dtype);
    if (to === "u32") return `select(0u, 1u, ${v[0]} != ${lit(types[0], 0)})`;
    return `${to}(${v[0]})`;
  },
  (g, _o, [x]) => [g.cast(x.dtype)],
  { keyOf: (a) => a.dtype },
);

/**
 * Builds a float unary elementwise op with arguments (for fused overrides such as GELU).
 *
 * @param name Op name.
 * @param cpu The scalar function for given arguments.
 * @param wgsl The WGSL expression of value `v` for given arguments (computed in f32).
 * @param vjp The gradient rule.
 * @param prelude WGSL helper functions the expression uses.
 * @returns The op.
 */
export function elementwiseOp<A extends object>(
  name: string,
  cpu: (args: A) => (x: number) => number,
  wgsl: (v: string, args: A) => string,
  vjp: Vjp<A>,
  prelude?: string,
): ElementwiseOpDef<A> {
  return elementwise<A>(
    name,
    1,
    "float",
    same,
    cpu as (args: A) => Fn,
    (v, _t, args) => wgsl(v[0], args),
    vjp,
    {
      keyOf: (args) => JSON.stringify(args),
      prelude,
    },
  );
}

/** Every elementwise primitive, keyed by op name. */
export const ELEMENTWISE_OPS = {
  neg,
  abs,
  sign,
  exp,
  log,
  sqrt,
  rsqrt,
  sin,
  cos,
  tanh,
  sigmoid,
  erf: erfOp,
  relu,
  logicalNot,
  copy,
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  logicalAnd,
  logicalOr,
  where,
  cast,
} as const;
