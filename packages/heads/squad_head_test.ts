import { assert, assertEquals } from "@std/assert";
import { PretrainedConfig, tensor, tidy } from "@denoformers/core";
import { assertAllClose, testBackends, testRng } from "@denoformers/core/testing";
import { SQuADHead } from "./squad_head.ts";
import { fillParams, setParams } from "./_toy.ts";

const softplus = (x: number) => Math.log1p(Math.exp(x));
const int = (v: number[] | number[][]) => tensor(v, { dtype: "int32" });

/**
 * Start logits = hidden[..., 0]; end logits all 0 (dense_1 zero); answerability logit =
 * tanh(start[0] + cls[0]).
 */
function handSetHead(): SQuADHead {
  const head = new SQuADHead(new PretrainedConfig({ hidden_size: 2 }));
  setParams(head, {
    "start_logits.dense.weight": [[1, 0]],
    "start_logits.dense.bias": [0],
    "end_logits.dense_1.weight": [[0, 0]],
    "end_logits.dense_1.bias": [0],
    "answer_class.dense_0.weight": [[1, 0, 1, 0], [0, 1, 0, 1]],
    "answer_class.dense_0.bias": [0, 0],
    "answer_class.dense_1.weight": [[1, 0]],
  });
  return head;
}

testBackends(
  "training loss on a hand-checked case, with and without the 0.5 BCE term",
  async () => {
    const head = handSetHead();
    const hidden = tensor([[[0, 1], [Math.LN2, 0], [0, 0]], [[1, 0], [0, 0], [0, 2]]]);
    const startPositions = int([[1], [0]]); // [B, 1]: squeezed
    const endPositions = int([2, 1]);
    const spanOnly = head.call(hidden, { startPositions, endPositions });
    const full = head.call(hidden, {
      startPositions,
      endPositions,
      clsIndex: int([2, 0]),
      isImpossible: tensor([0, 1]),
    });
    assertEquals(Object.keys(full), ["loss"]);
    // Start CE: row 0 logits [0, ln 2, 0] → -ln(1/2); row 1 logits [1, 0, 0] → ln(e + 2) - 1.
    const startCe = (Math.LN2 + Math.log(Math.E + 2) - 1) / 2;
    const span = (startCe + Math.log(3)) / 2; // end logits are all 0 over S = 3
    // Row 0: start [ln 2, 0], cls (position 2) [0, 0], label 0; row 1: start = cls = [1, 0], label 1.
    const x0 = Math.tanh(Math.LN2);
    const x1 = Math.tanh(2);
    const bce = (softplus(x0) + softplus(x1) - x1) / 2;
    assertAllClose(
      [await spanOnly.loss!.item(), await full.loss!.item()],
      [span, span + 0.5 * bce],
      { rtol: 1e-5 },
    );
  },
);

testBackends("inference: top-k shapes, flattened index order, p_mask, cls logits", async () => {
  const [B, S, H, KS, KE] = [2, 5, 4, 2, 3];
  const config = new PretrainedConfig({ hidden_size: H, start_n_top: KS, end_n_top: KE });
  const head = new SQuADHead(config).eval();
  fillParams(head, 31);
  const rng = testRng(32);
  const rows = Array.from(
    { length: B },
    () => Array.from({ length: S }, () => Array.from({ length: H }, () => 2 * rng() - 1)),
  );
  const hidden = tensor(rows);
  const pMask = tensor([[0, 0, 0, 0, 1], [1, 0, 0, 0, 0]]);
  const out = head.call(hidden, { pMask });
  assertEquals(out.loss, undefined);
  assertEquals(
    [out.startTopLogProbs, out.startTopIndex, out.endTopLogProbs, out.endTopIndex, out.clsLogits]
      .map((t) => t!.shape),
    [[B, KS], [B, KS], [B, KE * KS], [B, KE * KS], [B]],
  );
  const startIndex = await out.startTopIndex!.toArray() as number[][];
  const endIndex = await out.endTopIndex!.data();
  const endProbs = await out.endTopLogProbs!.data();
  // Reference: for the s-th best start, the end pooler conditioned on that start position.
  const columns = tidy(() =>
    Array.from({ length: KS }, (_, s) => {
      const starts = int(startIndex.map((r) => r[s]));
      return head.end_logits.call(hidden, { startPositions: starts, pMask }).softmax(-1);
    })
  );
  const ref: number[][][] = [];
  for (const column of columns) ref.push(await column.toArray() as number[][]);
  for (let b = 0; b < B; b++) {
    const masked = b === 0 ? 4 : 0;
    assert(!startIndex[b].includes(masked), "masked start positions are never chosen");
    const ends = Array.from(endIndex.slice(b * KE * KS, (b + 1) * KE * KS));
    assert(!ends.includes(masked), "masked end positions are never chosen");
    for (let s = 0; s < KS; s++) {
      const probs = ref[s][b];
      const order = [...probs.keys()].sort((i, j) => probs[j] - probs[i]).slice(0, KE);
      for (let e = 0; e < KE; e++) {
        const flat = b * KE * KS + e * KS + s;
        assertEquals(endIndex[flat], order[e], `row ${b}, end ${e}, start ${s}`);
        assertAllClose([endProbs[flat]], [probs[order[e]]], { rtol: 1e-4 });
      }
    }
  }
  // cls logits: answer class on the start-probability-weighted average of the hidden states.
  const startProbs = await head.start_logits.call(hidden, pMask).softmax(-1)
    .toArray() as number[][];
  const weighted = rows.map((row, b) =>
    Array.from({ length: H }, (_, h) => row.reduce((acc, x, l) => acc + x[h] * startProbs[b][l], 0))
  );
  const expectedCls = head.answer_class.call(hidden, { startStates: tensor(weighted) });
  assertAllClose(await out.clsLogits!.data(), await expectedCls.data(), { rtol: 1e-4 });
  const topStart = await out.startTopLogProbs!.toArray() as number[][];
  for (let b = 0; b < B; b++) {
    const sorted = [...startProbs[b]].sort((x, y) => y - x).slice(0, KS);
    assertAllClose(topStart[b], sorted, { rtol: 1e-5 });
  }
});

testBackends("SQuADHead holds start_logits, end_logits, answer_class; n_top defaults to 5", () => {
  const head = new SQuADHead(new PretrainedConfig({ hidden_size: 2 }));
  assertEquals([head.startNTop, head.endNTop], [5, 5]);
  assertEquals(Object.keys(head.stateDict()), [
    "start_logits.dense.weight",
    "start_logits.dense.bias",
    "end_logits.dense_0.weight",
    "end_logits.dense_0.bias",
    "end_logits.LayerNorm.weight",
    "end_logits.LayerNorm.bias",
    "end_logits.dense_1.weight",
    "end_logits.dense_1.bias",
    "answer_class.dense_0.weight",
    "answer_class.dense_0.bias",
    "answer_class.dense_1.weight",
  ]);
});
