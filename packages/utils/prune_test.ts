import { assert, assertEquals, assertThrows } from "@std/assert";
import { Linear, manualSeed, Module, noGrad, randn, type Tensor, tensor } from "@denoformers/core";
import { assertAllClose, testBackends } from "@denoformers/core/testing";
import { Conv1D } from "./conv1d.ts";
import { findPruneableHeadsAndIndices } from "./find_pruneable_heads_and_indices.ts";
import { pruneConv1dLayer } from "./prune_conv1d_layer.ts";
import { pruneLayer } from "./prune_layer.ts";
import { pruneLinearLayer } from "./prune_linear_layer.ts";

Deno.test("findPruneableHeadsAndIndices: the worked examples of hf-behaviour §3.5", () => {
  const a = findPruneableHeadsAndIndices([1, 2], 4, 2, new Set());
  assertEquals([[...a.heads], a.index], [[1, 2], [0, 1, 6, 7]]);
  const b = findPruneableHeadsAndIndices([0, 2], 3, 2, new Set([0]));
  assertEquals([[...b.heads], b.index], [[2], [0, 1, 4, 5]]);
  const c = findPruneableHeadsAndIndices([3], 2, 1, new Set([0, 1]));
  assertEquals([[...c.heads], c.index], [[3], [0]]);
  assertThrows(() => findPruneableHeadsAndIndices([5], 4, 2, new Set()), RangeError, "head 5");
});

testBackends("pruneLinearLayer keeps rows or columns; the old layer is untouched", async () => {
  const fc = new Linear(3, 4);
  fc.loadStateDict({
    weight: tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]),
    bias: tensor([1, 2, 3, 4]),
  });
  const rows = pruneLinearLayer(fc, [0, 3]);
  assertEquals(await rows.weight.toArray(), [[1, 2, 3], [10, 11, 12]]);
  assertEquals(await rows.bias!.toArray(), [1, 4]);
  assertEquals([rows.inFeatures, rows.outFeatures], [3, 2]);
  const cols = pruneLinearLayer(fc, [2], { dim: 1 });
  assertEquals(await cols.weight.toArray(), [[3], [6], [9], [12]]);
  assertEquals(await cols.bias!.toArray(), [1, 2, 3, 4]);
  assert(rows.weight.requiresGrad && rows.bias!.requiresGrad && cols.bias!.requiresGrad);
  assertEquals(fc.weight.shape, [4, 3]);
  const noBias = pruneLinearLayer(new Linear(3, 4, { bias: false }), [1]);
  assertEquals(noBias.bias, null);
});

testBackends(
  "pruneConv1dLayer keeps output columns by default, input rows with dim 0",
  async () => {
    const c = new Conv1D(3, 2);
    c.loadStateDict({ weight: tensor([[1, 2, 3], [4, 5, 6]]), bias: tensor([7, 8, 9]) });
    const out = pruneConv1dLayer(c, [0, 2]);
    assertEquals([await out.weight.toArray(), await out.bias.toArray(), out.nf, out.nx], [
      [[1, 3], [4, 6]],
      [7, 9],
      2,
      2,
    ]);
    const inp = pruneConv1dLayer(c, [1], { dim: 0 });
    assertEquals([await inp.weight.toArray(), await inp.bias.toArray()], [[[4, 5, 6]], [7, 8, 9]]);
  },
);

testBackends("pruneLayer dispatches by class and rejects others", () => {
  assertEquals(pruneLayer(new Linear(2, 3), [0]).weight.shape, [1, 2]);
  assertEquals(pruneLayer(new Conv1D(3, 2), [0]).weight.shape, [2, 1]);
  assertThrows(
    () => pruneLayer({} as Linear, [0]),
    TypeError,
    "Cannot prune layer of class Object",
  );
});

/** A BERT-style self-attention block (query/key/value, then the output dense). */
class BertAttention extends Module {
  numHeads = 4;
  headSize = 2;
  query = new Linear(8, 8);
  key = new Linear(8, 8);
  value = new Linear(8, 8);
  dense = new Linear(8, 8);
  prunedHeads = new Set<number>();
  forward(x: Tensor): Tensor {
    const [B, S] = x.shape;
    const split = (t: Tensor) => t.reshape([B, S, this.numHeads, this.headSize]).transpose(1, 2);
    const q = split(this.query.call(x));
    const k = split(this.key.call(x));
    const v = split(this.value.call(x));
    const probs = q.matmul(k.transpose(-1, -2)).mul(1 / Math.sqrt(this.headSize)).softmax(-1);
    const ctx = probs.matmul(v).transpose(1, 2).reshape([B, S, this.numHeads * this.headSize]);
    return this.dense.call(ctx);
  }
  pruneHeads(heads: number[]): void {
    const { heads: todo, index } = findPruneableHeadsAndIndices(
      heads,
      this.numHeads,
      this.headSize,
      this.prunedHeads,
    );
    if (todo.size === 0) return;
    this.query = pruneLinearLayer(this.query, index);
    this.key = pruneLinearLayer(this.key, index);
    this.value = pruneLinearLayer(this.value, index);
    this.dense = pruneLinearLayer(this.dense, index, { dim: 1 });
    this.numHeads -= todo.size;
    for (const h of todo) this.prunedHeads.add(h);
  }
}

testBackends(
  "pruning heads of a BERT-style block leaves the kept heads' output unchanged",
  async () => {
    manualSeed(7);
    const full = new BertAttention();
    const x = randn([2, 5, 8]);
    // Reference: zero the value rows of heads 1 and 3 (their context is then zero) in a copy.
    const zeroed = new BertAttention();
    zeroed.loadStateDict(full.stateDict());
    noGrad(() => {
      const keep = tensor([1, 1, 0, 0, 1, 1, 0, 0]).reshape([8, 1]);
      zeroed.value.weight.assign(zeroed.value.weight.mul(keep));
      zeroed.value.bias!.assign(zeroed.value.bias!.mul(keep.reshape([8])));
    });
    const pruned = new BertAttention();
    pruned.loadStateDict(full.stateDict());
    pruned.pruneHeads([1, 3]);
    assertEquals([pruned.numHeads, pruned.query.weight.shape, pruned.dense.weight.shape], [2, [
      4,
      8,
    ], [8, 4]]);
    assertAllClose(await pruned.call(x).data(), await zeroed.call(x).data(), { atol: 1e-5 });
    // Pruning again skips heads already pruned and shifts the rest.
    pruned.pruneHeads([3, 2]);
    assertEquals([pruned.numHeads, pruned.value.weight.shape], [1, [2, 8]]);
    pruned.call(x).sum().backward();
    for (const p of pruned.parameters()) assert(p.grad, "gradients reach the new parameters");
  },
);
