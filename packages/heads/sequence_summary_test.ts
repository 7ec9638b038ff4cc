import { assert, assertEquals, assertThrows } from "@std/assert";
import { manualSeed, PretrainedConfig, tensor, tidy } from "@denoformers/core";
import { assertAllClose, testBackends } from "@denoformers/core/testing";
import { SequenceSummary } from "./sequence_summary.ts";
import { setParams } from "./_toy.ts";

const HIDDEN = [[[1, 2], [3, 4], [5, 6]], [[-1, 0], [2, -2], [0.5, 1]]];
const summary = (values: Record<string, unknown>) =>
  new SequenceSummary(new PretrainedConfig({ hidden_size: 2, ...values }));

testBackends("last, first, mean and cls_index pick the hand-computed vectors", async () => {
  const hidden = tensor(HIDDEN);
  const outputs = tidy(() => [
    summary({}).call(hidden), // "last" by default
    summary({ summary_type: "first" }).call(hidden),
    summary({ summary_type: "mean" }).call(hidden),
    summary({ summary_type: "cls_index" }).call(hidden), // no index: the last token
    summary({ summary_type: "cls_index" }).call(hidden, tensor([1, 0], { dtype: "int32" })),
  ]);
  const expected = [
    [[5, 6], [0.5, 1]],
    [[1, 2], [-1, 0]],
    [[3, 4], [0.5, -1 / 3]],
    [[5, 6], [0.5, 1]],
    [[3, 4], [-1, 0]],
  ];
  for (const [i, out] of outputs.entries()) {
    assertEquals(out.shape, [2, 2]);
    assertAllClose(await out.data(), expected[i].flat(), { label: `case ${i}` });
  }
  // As in the original, the index needs exactly the leading dims of the hidden states.
  assertThrows(
    () =>
      summary({ summary_type: "cls_index" }).call(hidden, tensor([[2], [1]], { dtype: "int32" })),
    RangeError,
    "Cannot gather",
  );
});

testBackends("cls_index on multiple-choice input [B, C, S, h] with index [B, C]", async () => {
  // hidden[b][c][s] = [100b + 10c + s, -(100b + 10c + s)]
  const mc = [0, 1].map((b) =>
    [0, 1].map((c) => [0, 1, 2].map((s) => [100 * b + 10 * c + s, -(100 * b + 10 * c + s)]))
  );
  const hidden = tensor(mc);
  const s = summary({ summary_type: "cls_index" });
  const picked = s.call(hidden, tensor([[0, 2], [1, 1]], { dtype: "int32" }));
  const last = s.call(hidden);
  assertEquals([picked.shape, last.shape], [[2, 2, 2], [2, 2, 2]]);
  assertAllClose(await picked.data(), [0, 0, 12, -12, 101, -101, 111, -111]);
  assertAllClose(await last.data(), [2, -2, 12, -12, 102, -102, 112, -112]);
});

testBackends("projection to labels, activation and field names", async () => {
  const s = summary({
    summary_type: "mean",
    summary_use_proj: true,
    summary_proj_to_labels: true,
    num_labels: 1,
    summary_activation: "tanh",
  });
  assertEquals(Object.keys(s.stateDict()), ["summary.weight", "summary.bias"]);
  setParams(s, { "summary.weight": [[1, -1]], "summary.bias": [0.5] });
  const out = s.call(tensor(HIDDEN));
  assertEquals(out.shape, [2, 1]);
  assertAllClose(await out.data(), [Math.tanh(-0.5), Math.tanh(0.5 + 1 / 3 + 0.5)]);
  const toHidden = summary({ summary_use_proj: true, summary_proj_to_labels: false });
  assertEquals(toHidden.summary!.weight.shape, [2, 2]);
  const noLabels = summary({ summary_use_proj: true, summary_proj_to_labels: true, num_labels: 0 });
  assertEquals(noLabels.summary!.weight.shape, [2, 2]);
  const plain = summary({ summary_activation: "" });
  assertEquals([plain.summary, plain.activation, plain.first_dropout, plain.last_dropout], [
    null,
    null,
    null,
    null,
  ]);
  assertThrows(() => summary({ summary_activation: "nope" }), RangeError, '"nope"');
});

testBackends("first and last dropouts act in training only", async () => {
  manualSeed(13);
  const s = summary({
    summary_type: "mean",
    summary_use_proj: true,
    summary_first_dropout: 0.5,
    summary_last_dropout: 0.5,
  });
  assertEquals([s.first_dropout!.p, s.last_dropout!.p], [0.5, 0.5]);
  const hidden = tensor(HIDDEN);
  s.eval();
  const projected = s.summary!.call(hidden.mean(1));
  assertAllClose(await s.call(hidden).data(), await projected.data());
  s.train();
  const noisy = await s.call(tensor([[[1, 1]], [[1, 1]], [[1, 1]], [[1, 1]]])).data();
  const clean = await s.summary!.call(tensor([[1, 1]])).data();
  assert(noisy.some((v, i) => v !== clean[i % 2]), "dropout changed some outputs");
});

Deno.test('summary_type "attn" is refused; unknown types are rejected', () => {
  assertThrows(() => summary({ summary_type: "attn" }), Error, '"attn": it is not implemented');
  assertThrows(() => summary({ summary_type: "max" }), RangeError, 'summary_type is "max"');
});
