/**
 * A small ONNX model writer for the onnxruntime peer benches: just enough protobuf (varints and
 * length-delimited fields) to emit a `ModelProto` with one graph of nodes, float32/int64
 * initializers and fixed-shape float32 inputs and outputs, at opset 17 (IR version 8).
 *
 * Field numbers follow `onnx/onnx.proto`. Nothing here reads ONNX back.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Bytes of one protobuf message under construction. */
class Message {
  #parts: Uint8Array[] = [];
  #size = 0;

  #push(bytes: Uint8Array): this {
    this.#parts.push(bytes);
    this.#size += bytes.length;
    return this;
  }

  #varint(value: number | bigint): this {
    // Negative int64 values go out as their 64-bit two's complement (10 bytes).
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    return this.#push(new Uint8Array(out));
  }

  /** A varint field (int32, int64 or enum); `value` may be negative. */
  int(field: number, value: number): this {
    return this.#varint(field << 3).#varint(value);
  }

  /** A 32-bit float field. */
  float(field: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    return this.#varint((field << 3) | 5).#push(b);
  }

  /** A length-delimited field: raw bytes, a UTF-8 string or a nested message. */
  bytes(field: number, value: Uint8Array | string | Message): this {
    const b = typeof value === "string"
      ? encoder.encode(value)
      : value instanceof Message
      ? value.finish()
      : value;
    return this.#varint((field << 3) | 2).#varint(b.length).#push(b);
  }

  /** The encoded message. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.#size);
    let at = 0;
    for (const p of this.#parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** `TensorProto.DataType` values used here. */
const FLOAT = 1, INT64 = 7;
/** `AttributeProto.AttributeType` values used here. */
const ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS = 7;

/** A float32 array with its shape. */
export interface Shaped {
  /** Row-major values. */
  data: Float32Array;
  /** The shape. */
  dims: number[];
}

/** A node attribute: a float, an int, or a list of ints. */
export type Attribute = number | { float: number } | number[];

/** Collects the nodes, initializers, inputs and outputs of one graph. */
class Graph {
  #nodes: Message[] = [];
  #initializers: Message[] = [];
  #inputs: Message[] = [];
  #outputs: Message[] = [];
  #count = 0;

  static #valueInfo(name: string, dims: number[]): Message {
    const shape = new Message();
    for (const d of dims) shape.bytes(1, new Message().int(1, d));
    const tensorType = new Message().int(1, FLOAT).bytes(2, shape);
    return new Message().bytes(1, name).bytes(2, new Message().bytes(1, tensorType));
  }

  /** Declares a float32 graph input; returns its name. */
  input(name: string, dims: number[]): string {
    this.#inputs.push(Graph.#valueInfo(name, dims));
    return name;
  }

  /** Declares a float32 graph output. */
  output(name: string, dims: number[]): void {
    this.#outputs.push(Graph.#valueInfo(name, dims));
  }

  /** Adds a float32 (or int64, for shapes) initializer; returns its name. */
  constant(name: string, data: Float32Array | BigInt64Array, dims: number[]): string {
    const t = new Message();
    for (const d of dims) t.int(1, d);
    t.int(2, data instanceof Float32Array ? FLOAT : INT64).bytes(8, name);
    t.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.#initializers.push(t);
    return name;
  }

  /** A float32 scalar initializer. */
  scalar(value: number): string {
    return this.constant(`c${this.#count++}`, new Float32Array([value]), []);
  }

  /** An int64 shape initializer (for `Reshape`). */
  shape(dims: number[]): string {
    return this.constant(`s${this.#count++}`, BigInt64Array.from(dims.map(BigInt)), [dims.length]);
  }

  /**
   * Adds a node with one output.
   *
   * @param op The operator type (default domain).
   * @param inputs Input names.
   * @param attributes Attributes by name.
   * @param out The output name (generated when omitted).
   * @returns The output name.
   */
  op(
    op: string,
    inputs: string[],
    attributes: Record<string, Attribute> = {},
    out?: string,
  ): string {
    const name = out ?? `t${this.#count++}`;
    const node = new Message();
    for (const i of inputs) node.bytes(1, i);
    node.bytes(2, name).bytes(3, `${op}_${name}`).bytes(4, op);
    for (const [key, value] of Object.entries(attributes)) {
      const a = new Message().bytes(1, key);
      if (Array.isArray(value)) {
        for (const v of value) a.int(8, v);
        a.int(20, ATTR_INTS);
      } else if (typeof value === "number") a.int(3, value).int(20, ATTR_INT);
      else a.float(2, value.float).int(20, ATTR_FLOAT);
      node.bytes(5, a);
    }
    this.#nodes.push(node);
    return name;
  }

  /** The serialized `ModelProto`. */
  model(name: string): Uint8Array {
    const g = new Message();
    for (const n of this.#nodes) g.bytes(1, n);
    g.bytes(2, name);
    for (const t of this.#initializers) g.bytes(5, t);
    for (const i of this.#inputs) g.bytes(11, i);
    for (const o of this.#outputs) g.bytes(12, o);
    return new Message()
      .int(1, 8) // ir_version
      .bytes(2, "denoformers-benches")
      .bytes(7, g)
      .bytes(8, new Message().bytes(1, "").int(2, 17))
      .finish();
  }
}

/**
 * `y = a @ b` for square `n × n` float32 operands, both graph inputs (nothing to constant-fold).
 *
 * @param n The size.
 * @returns The model bytes (inputs `a`, `b`; output `y`).
 */
export function matmulModel(n: number): Uint8Array {
  const g = new Graph();
  g.op("MatMul", [g.input("a", [n, n]), g.input("b", [n, n])], {}, "y");
  g.output("y", [n, n]);
  return g.model("matmul");
}

/** Names of one encoder layer's parameters, in the layout of `_tfjs_bert.ts` (`W` is `[in, out]`). */
export const BERT_PARAMS = [
  "Wq",
  "bq",
  "Wk",
  "bk",
  "Wv",
  "bv",
  "Wo",
  "bo",
  "g1",
  "b1n",
  "W1",
  "b1",
  "W2",
  "b2",
  "g2",
  "b2n",
] as const;

/** One encoder layer's parameters by name. */
export type BertWeights = Record<(typeof BERT_PARAMS)[number], Shaped>;

/**
 * One BERT encoder layer on `x: [S, H]` (batch 1, no mask), the same function as
 * `tfEncoderLayer` in `_tfjs_bert.ts`: q/k/v projections, softmax attention over `heads` heads
 * scaled by `1/√D`, output projection, residual + LayerNorm, erf GELU feed-forward, residual +
 * LayerNorm (`eps` 1e-12). GELU is written `0.5·f·(1 + erf(f/√2))` and the norms as
 * `LayerNormalization`, the forms onnxruntime's optimiser recognises and fuses.
 *
 * @param w The weights (they become initializers).
 * @param seq The sequence length `S`.
 * @param heads The number of heads.
 * @returns The model bytes (input `x`; output `y`, both `[S, H]`).
 */
export function bertLayerModel(w: BertWeights, seq: number, heads: number): Uint8Array {
  const g = new Graph();
  const [H, F] = w.W1.dims;
  const D = H / heads;
  const p = Object.fromEntries(
    BERT_PARAMS.map((k) => [k, g.constant(k, w[k].data, w[k].dims)]),
  ) as Record<keyof BertWeights, string>;
  const x = g.input("x", [seq, H]);
  const linear = (t: string, W: string, b: string) => g.op("Add", [g.op("MatMul", [t, W]), b]);
  const heads3d = g.shape([seq, heads, D]);
  const split = (t: string, perm: number[]) =>
    g.op("Transpose", [g.op("Reshape", [t, heads3d])], { perm });
  const q = split(linear(x, p.Wq, p.bq), [1, 0, 2]); // [h, S, D]
  const kT = split(linear(x, p.Wk, p.bk), [1, 2, 0]); // [h, D, S]
  const v = split(linear(x, p.Wv, p.bv), [1, 0, 2]); // [h, S, D]
  const scores = g.op("Mul", [g.op("MatMul", [q, kT]), g.scalar(1 / Math.sqrt(D))]);
  const probs = g.op("Softmax", [scores], { axis: -1 });
  const merged = g.op("Transpose", [g.op("MatMul", [probs, v])], { perm: [1, 0, 2] });
  const context = g.op("Reshape", [merged, g.shape([seq, H])]);
  const norm = (t: string, gamma: string, beta: string, out?: string) =>
    g.op("LayerNormalization", [t, gamma, beta], { axis: -1, epsilon: { float: 1e-12 } }, out);
  const h1 = norm(g.op("Add", [linear(context, p.Wo, p.bo), x]), p.g1, p.b1n);
  const f = linear(h1, p.W1, p.b1); // [S, F]
  const erf = g.op("Erf", [g.op("Div", [f, g.scalar(Math.SQRT2)])]);
  const gelu = g.op("Mul", [g.op("Mul", [f, g.op("Add", [erf, g.scalar(1)])]), g.scalar(0.5)]);
  norm(g.op("Add", [linear(gelu, p.W2, p.b2), h1]), p.g2, p.b2n, "y");
  g.output("y", [seq, H]);
  if (F !== w.W2.dims[0]) {
    throw new RangeError(`Cannot build the layer: W1 ${w.W1.dims}, W2 ${w.W2.dims}`);
  }
  return g.model("bert_layer");
}
