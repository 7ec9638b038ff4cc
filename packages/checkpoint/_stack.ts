// A transformer-shaped stack shared by the checkpoint tests and bench.
import { Dropout, LayerNorm, Linear, Module, type Tensor } from "@denoformers/core";
import { GradientCheckpointingLayer } from "./gradient_checkpointing_layer.ts";

/** Counts forward calls per layer class, to show recomputation happens. */
export const forwardCalls = { count: 0 };

/** Pre-norm block: self-attention and an MLP, each with dropout and a residual. */
export class Block extends GradientCheckpointingLayer {
  ln_1: LayerNorm;
  qkv: Linear;
  proj: Linear;
  ln_2: LayerNorm;
  fc: Linear;
  out: Linear;
  dropout: Dropout;
  readonly heads: number;

  constructor(hidden: number, heads: number, p: number) {
    super();
    this.heads = heads;
    this.ln_1 = new LayerNorm(hidden);
    this.qkv = new Linear(hidden, 3 * hidden);
    this.proj = new Linear(hidden, hidden);
    this.ln_2 = new LayerNorm(hidden);
    this.fc = new Linear(hidden, 4 * hidden);
    this.out = new Linear(4 * hidden, hidden);
    this.dropout = new Dropout(p);
  }

  forward(
    x: Tensor,
    options: { bias?: Tensor; useCache?: boolean; pastKeyValues?: unknown } = {},
  ): Tensor {
    forwardCalls.count++;
    const [B, S, C] = x.shape;
    const H = this.heads;
    const [q, k, v] = this.qkv.call(this.ln_1.call(x)).split(C, -1).map((t) =>
      t.reshape([B, S, H, C / H]).transpose(1, 2) // (B, H, S, D)
    );
    let scores = q.matmul(k.transpose(-1, -2)).mul(1 / Math.sqrt(C / H));
    if (options.bias) scores = scores.add(options.bias);
    const att = this.dropout.call(scores.softmax(-1)).matmul(v).transpose(1, 2).reshape([B, S, C]);
    const h = x.add(this.dropout.call(this.proj.call(att)));
    return h.add(this.dropout.call(this.out.call(this.fc.call(this.ln_2.call(h)).gelu())));
  }
}

/** `layers` blocks and a final norm. */
export class Stack extends Module {
  blocks: Block[];
  ln_f: LayerNorm;
  constructor(layers: number, hidden: number, heads: number, p: number) {
    super();
    this.blocks = Array.from({ length: layers }, () => new Block(hidden, heads, p));
    this.ln_f = new LayerNorm(hidden);
  }
  forward(x: Tensor, options: { bias?: Tensor } = {}): Tensor {
    let h = x;
    for (const b of this.blocks) h = b.call(h, options);
    return this.ln_f.call(h);
  }
}
