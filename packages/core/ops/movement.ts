/**
 * Movement primitives. `reshape`, `permute`, `expand` and `slice` are views: they change shape,
 * strides and offset and never copy. `pad` is a kernel (the adjoint of `slice`).
 *
 * @module
 */

import { ShapeError } from "../errors.ts";
import { contiguousStrides, formatShape, sizeOf, viewStrides } from "../shape.ts";
import { forceOffsets } from "./cpu_util.ts";
import type { KernelOpDef, ViewOpDef } from "./op_def.ts";
import { bindingsWgsl, ELEMENTWISE_WG, packUniforms, wgslType } from "./wgsl_util.ts";
import { splitWorkgroups } from "./wgsl_program.ts";

/** Arguments of {@linkcode reshape}. */
export interface ReshapeArgs {
  /** The new shape (already resolved: no `-1`). */
  readonly shape: readonly number[];
}

/** Reinterprets a contiguous tensor with a new shape of the same size. */
export const reshape: ViewOpDef<ReshapeArgs> = {
  kind: "view",
  name: "reshape",
  view(x, { shape }) {
    if (sizeOf(shape) !== sizeOf(x.shape)) {
      throw new ShapeError(
        "reshape",
        `Cannot reshape tensor of shape ${formatShape(x.shape)} to ${
          formatShape(shape)
        }: element counts differ (${sizeOf(x.shape)} vs ${sizeOf(shape)})`,
        [x.shape, shape],
      );
    }
    const strides = viewStrides(x.shape, x.strides, shape);
    if (!strides) {
      throw new ShapeError(
        "reshape",
        `Cannot reshape a view of shape ${formatShape(x.shape)} with strides [${x.strides}] to ${
          formatShape(shape)
        } without a copy: call contiguous() first`,
        [x.shape, shape],
      );
    }
    return { shape: [...shape], strides, offset: x.offset };
  },
  vjp: (g, _o, [x]) => [g.reshape(x.shape)],
};

/** Arguments of {@linkcode permute}. */
export interface PermuteArgs {
  /** A permutation of `0..ndim-1` (already normalised). */
  readonly dims: readonly number[];
}

/** Reorders dimensions. */
export const permute: ViewOpDef<PermuteArgs> = {
  kind: "view",
  name: "permute",
  view(x, { dims }) {
    const ok = dims.length === x.shape.length &&
      [...dims].sort((a, b) => a - b).every((d, i) => d === i);
    if (!ok) {
      throw new ShapeError(
        "permute",
        `Cannot permute tensor of shape ${
          formatShape(x.shape)
        }: [${dims}] is not a permutation of its ${x.shape.length} dimensions`,
        [x.shape],
      );
    }
    return {
      shape: dims.map((d) => x.shape[d]),
      strides: dims.map((d) => x.strides[d]),
      offset: x.offset,
    };
  },
  vjp: (g, _o, _i, { dims }) => {
    const inverse = new Array<number>(dims.length);
    dims.forEach((d, i) => (inverse[d] = i));
    return [g.permute(inverse)];
  },
};

/** Arguments of {@linkcode expand}. */
export interface ExpandArgs {
  /** The target shape (already resolved: no `-1`). */
  readonly shape: readonly number[];
}

/** Broadcasts size-1 dimensions (and new leading ones) to a larger shape with stride 0. */
export const expand: ViewOpDef<ExpandArgs> = {
  kind: "view",
  name: "expand",
  view(x, { shape }) {
    const lead = shape.length - x.shape.length;
    const bad = lead < 0 || x.shape.some((d, i) => d !== 1 && d !== shape[lead + i]);
    if (bad) {
      throw new ShapeError(
        "expand",
        `Cannot expand tensor of shape ${formatShape(x.shape)} to ${
          formatShape(shape)
        }: only size-1 dimensions can grow`,
        [x.shape, shape],
      );
    }
    const strides = shape.map((d, i) => {
      if (i < lead) return 0;
      return x.shape[i - lead] === 1 && d !== 1 ? 0 : x.strides[i - lead];
    });
    return { shape: [...shape], strides, offset: x.offset };
  },
  // The autograd engine sums a gradient back to its input's shape, so no rule is needed here.
  vjp: (g) => [g],
};

/** Arguments of {@linkcode slice}: one entry per dimension, already clamped. */
export interface SliceArgs {
  /** First index per dimension. */
  readonly starts: readonly number[];
  /** Number of elements kept per dimension. */
  readonly sizes: readonly number[];
  /** Positive step per dimension. */
  readonly steps: readonly number[];
}

/** Takes a strided window (`x[start : start + size*step : step]` per dimension). */
export const slice: ViewOpDef<SliceArgs> = {
  kind: "view",
  name: "slice",
  view(x, { starts, sizes, steps }) {
    let offset = x.offset;
    x.shape.forEach((d, i) => {
      const last = starts[i] + (sizes[i] - 1) * steps[i];
      if (steps[i] < 1 || starts[i] < 0 || (sizes[i] > 0 && last >= d) || sizes[i] < 0) {
        throw new ShapeError(
          "slice",
          `Cannot slice dimension ${i} of shape ${formatShape(x.shape)}: start ${starts[i]}, size ${
            sizes[i]
          }, step ${steps[i]} is out of range`,
          [x.shape],
        );
      }
      offset += starts[i] * x.strides[i];
    });
    return { shape: [...sizes], strides: x.strides.map((s, i) => s * steps[i]), offset };
  },
  vjp: (g, _o, [x], { starts, steps }) => [g.pad({ shape: x.shape, starts, steps, value: 0 })],
};

/** Arguments of {@linkcode pad}. */
export interface PadArgs {
  /** The output shape. */
  readonly shape: readonly number[];
  /** Where input index 0 lands, per dimension. */
  readonly starts: readonly number[];
  /** Spacing between consecutive input elements in the output, per dimension. */
  readonly steps: readonly number[];
  /** Fill value for positions not covered by the input. */
  readonly value: number;
}

/** Places the input into a larger tensor filled with `value` (the adjoint of {@linkcode slice}). */
export const pad: KernelOpDef<PadArgs> = {
  kind: "kernel",
  name: "pad",
  infer([x], { shape, starts, steps }) {
    const fits = shape.length === x.shape.length &&
      x.shape.every((d, i) =>
        starts[i] >= 0 && steps[i] >= 1 && (d === 0 || starts[i] + (d - 1) * steps[i] < shape[i])
      );
    if (!fits) {
      throw new ShapeError(
        "pad",
        `Cannot pad tensor of shape ${formatShape(x.shape)} into ${
          formatShape(shape)
        } at [${starts}] step [${steps}]`,
        [x.shape, shape],
      );
    }
    return { shape, dtype: x.dtype };
  },
  cpu([x], out, meta, { starts, steps, value }) {
    out.fill(value);
    const src = forceOffsets(x.shape, x.strides, x.offset);
    const outStrides = contiguousStrides(meta.shape);
    const dst = forceOffsets(
      x.shape,
      outStrides.map((s, i) => s * steps[i]),
      starts.reduce((o, s, i) => o + s * outStrides[i], 0),
    );
    for (let i = 0; i < src.length; i++) out[dst[i]] = x.data[src[i]];
  },
  wgsl([x], meta, { starts, steps, value }) {
    const nd = meta.shape.length;
    const size = sizeOf(meta.shape);
    // words: [size, offset, outShape, inShape, inStrides, starts, steps], value as f32/i32 bits.
    const words = [size, x.offset, ...meta.shape, ...x.shape, ...x.strides, ...starts, ...steps];
    const t = wgslType("pad", x.dtype);
    const bits = new DataView(new ArrayBuffer(4));
    if (t === "i32") bits.setInt32(0, value, true);
    else if (t === "u32") bits.setUint32(0, value ? 1 : 0, true);
    else bits.setFloat32(0, value, true);
    words.push(bits.getUint32(0, true));
    const fill = t === "f32" || t === "f16"
      ? `${t}(bitcast<f32>(m(${words.length - 1}u)))`
      : `bitcast<${t}>(m(${words.length - 1}u))`;
    const at = (k: number, d: number) => 2 + k * nd + d;
    const code = () => {
      const walk: string[] = [];
      for (let d = nd - 1; d >= 0; d--) {
        walk.push(`{ let c = rem % m(${at(0, d)}u); rem = rem / m(${at(0, d)}u);
    let s = m(${at(3, d)}u); let st = m(${at(4, d)}u);
    if (c < s || (c - s) % st != 0u || (c - s) / st >= m(${at(1, d)}u)) { inside = false; }
    src = src + ((c - s) / st) * m(${at(2, d)}u); }`);
      }
      return `${bindingsWgsl([t], t, words.length)}
@compute @workgroup_size(${ELEMENTWISE_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${ELEMENTWISE_WG}u;
  if (i >= m(0u)) { return; }
  var rem = i;
  var src = m(1u);
  var inside = true;
  ${walk.join("\n  ")}
  if (inside) { out[i] = in0[src]; } else { out[i] = ${fill}; }
}`;
    };
    return {
      key: `pad|${t}|nd${nd}`,
      code,
      workgroups: splitWorkgroups(Math.ceil(size / ELEMENTWISE_WG)),
      uniforms: packUniforms(words),
    };
  },
  vjp: (g, _o, [x], { starts, steps }) => [g.stridedSlice(starts, x.shape, steps)],
};

/** Every movement primitive, keyed by op name. */
export const MOVEMENT_OPS = { reshape, permute, expand, slice, pad } as const;
