import { assertAlmostEquals, assertEquals } from "@std/assert";
import { aggregateTokens, bestSpans, classify, softmax } from "./_postprocess.ts";
import type { TokenizedText } from "./tokenizer.ts";

Deno.test("postprocess: classify applies softmax, sigmoid or nothing, then top-k", () => {
  const labels = ["A", "B", "C"];
  const soft = classify([1, 3, 2], labels, null, 2);
  assertEquals(soft.map((s) => s.label), ["B", "C"]);
  assertAlmostEquals(soft[0].score, softmax([1, 3, 2])[1], 1e-12);
  const multi = classify([0, 2, -2], labels, "multi_label_classification", 3);
  assertAlmostEquals(multi[0].score, 1 / (1 + Math.exp(-2)), 1e-12);
  assertAlmostEquals(multi[1].score, 0.5, 1e-12);
  assertEquals(classify([2.5], ["score"], "regression", 1), [{ label: "score", score: 2.5 }]);
  assertAlmostEquals(classify([0], ["LABEL_0"], null, 1)[0].score, 0.5, 1e-12); // one label: sigmoid
});

// "Alice Smithson lives in Paris": [CLS] alice smith ##son lives in paris [SEP]
const text = "Alice Smithson lives in Paris";
const tokens = ["[CLS]", "alice", "smith", "##son", "lives", "in", "paris", "[SEP]"];
const enc: TokenizedText = {
  ids: tokens.map((_, i) => i),
  tokens,
  offsets: [null, [0, 5], [6, 11], [11, 14], [15, 20], [21, 23], [24, 29], null],
  sequenceIds: [null, 0, 0, 0, 0, 0, 0, null],
  typeIds: tokens.map(() => 0),
  special: [true, false, false, false, false, false, false, true],
  subword: [false, false, false, true, false, false, false, false],
  truncated: false,
};
const labels = ["O", "B-PER", "I-PER", "B-LOC"];
const probs = [
  [0.97, 0.01, 0.01, 0.01],
  [0.1, 0.8, 0.05, 0.05], // alice: B-PER
  [0.1, 0.1, 0.7, 0.1], // smith: I-PER
  [0.9, 0.02, 0.06, 0.02], // ##son: O
  [0.97, 0.01, 0.01, 0.01],
  [0.97, 0.01, 0.01, 0.01],
  [0.05, 0.05, 0.1, 0.8], // paris: B-LOC
  [0.97, 0.01, 0.01, 0.01],
];
const logits = probs.flat().map(Math.log);
const decode = (ids: number[]) => ids.map((i) => tokens[i]).join(" ").replaceAll(" ##", "");
const run = (s: "none" | "simple" | "first" | "average" | "max") =>
  aggregateTokens(logits, 4, enc, labels, s, decode).map((e) => ({
    ...e,
    score: Math.round(e.score * 1000) / 1000,
  }));

Deno.test("postprocess: token aggregation `none` lists every non-O token", () => {
  const words = enc.offsets.slice(1, -1).map((o) => text.slice(...o!).toLowerCase());
  assertEquals(words, ["alice", "smith", "son", "lives", "in", "paris"]);
  assertEquals(run("none"), [
    { entity: "B-PER", score: 0.8, index: 1, word: "alice", start: 0, end: 5 },
    { entity: "I-PER", score: 0.7, index: 2, word: "smith", start: 6, end: 11 },
    { entity: "B-LOC", score: 0.8, index: 6, word: "paris", start: 24, end: 29 },
  ]);
});

Deno.test("postprocess: token aggregation `simple` groups B-/I- runs of tokens", () => {
  assertEquals(run("simple"), [
    { entity_group: "PER", score: 0.75, word: "alice smith", start: 0, end: 11 },
    { entity_group: "LOC", score: 0.8, word: "paris", start: 24, end: 29 },
  ]);
});

Deno.test("postprocess: `first`, `average` and `max` label whole words", () => {
  assertEquals(run("first"), [
    { entity_group: "PER", score: 0.75, word: "alice smithson", start: 0, end: 14 },
    { entity_group: "LOC", score: 0.8, word: "paris", start: 24, end: 29 },
  ]);
  const alone = [
    { entity_group: "PER", score: 0.8, word: "alice", start: 0, end: 5 },
    { entity_group: "LOC", score: 0.8, word: "paris", start: 24, end: 29 },
  ];
  assertEquals(run("average"), alone); // smithson averages to O (0.5 vs 0.38)
  assertEquals(run("max"), alone); // ##son's 0.9 for O beats smith's 0.7
});

Deno.test("postprocess: bestSpans keeps spans inside the context and within max_answer_len", () => {
  // [CLS] who [SEP] alice lives in paris [SEP]
  const context = "Alice lives in Paris";
  const pair: TokenizedText = {
    ids: [2, 10, 3, 11, 12, 13, 14, 3],
    tokens: ["[CLS]", "who", "[SEP]", "alice", "lives", "in", "paris", "[SEP]"],
    offsets: [null, [0, 3], null, [0, 5], [6, 11], [12, 14], [15, 20], null],
    sequenceIds: [null, 0, null, 1, 1, 1, 1, null],
    typeIds: [0, 0, 0, 1, 1, 1, 1, 1],
    special: [true, false, true, false, false, false, false, true],
    subword: Array(8).fill(false),
    truncated: false,
  };
  const start = [5, 9, 0, 3, 0, 0, 1, 0]; // "who" scores high but is in the question
  const end = [5, 9, 0, 0, 0, 0, 3, 0];
  const [best] = bestSpans(start, end, pair, context, 2, 15, 1);
  assertEquals([best.answer, best.start, best.end], ["Alice lives in Paris", 0, 20]);
  // [CLS] takes part in the softmax (then gets probability 0), as in Hugging Face.
  const keep = [0, 3, 4, 5, 6];
  const z = (l: number[]) => keep.reduce((s, t) => s + Math.exp(l[t]), 0);
  assertAlmostEquals(best.score, (Math.exp(3) / z(start)) * (Math.exp(3) / z(end)), 1e-9);
  const short = bestSpans(start, end, pair, context, 2, 1, 2);
  assertEquals(short.map((a) => a.answer), ["Paris", "Alice"]); // e^(1+3) > e^(3+0)
});
