/**
 * Evaluation of the demo's saved folders: each is loaded back with `loadPipeline`, and the
 * held-out examples go through the same HTTP handler that `deno task serve` runs, as JSON
 * requests (several at once, so they are batched).
 *
 * @module
 */

import type { BackendName } from "@denoformers/core";
import {
  createInferenceHandler,
  type Entity,
  type InferenceHandler,
  type LabelScore,
  loadPipeline,
} from "@denoformers/serve";
import type { NerExample, QaExample, SentimentExample } from "./_demo_data.ts";

async function call<T>(handler: InferenceHandler, path: string, body: unknown): Promise<T> {
  const res = await handler.fetch(
    new Request(`http://localhost${path}`, { method: "POST", body: JSON.stringify(body) }),
  );
  if (!res.ok) throw new Error(`Cannot evaluate: ${path} answered ${res.status}`);
  return await res.json() as T;
}

const chunks = <T>(xs: T[], n: number) =>
  Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, (i + 1) * n));

/** Maps `fn` over `xs` with at most `n` calls in flight. */
async function pool<T, R>(xs: T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  const worker = async () => {
    while (next < xs.length) {
      const i = next++;
      out[i] = await fn(xs[i]);
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}
const f1 = (tp: number, fp: number, fn: number) => (tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn));

/**
 * Loads `out/{sentiment,entities,qa}` and prints accuracy, entity F1 and exact match.
 *
 * @param out The folder the demo saved into.
 * @param backend Backend for the loaded models.
 * @param test Held-out examples.
 */
export async function evaluate(
  out: string,
  backend: BackendName,
  test: { sentiment: SentimentExample[]; ner: NerExample[]; qa: QaExample[] },
): Promise<void> {
  const pipelines = await Promise.all(
    ["sentiment", "entities", "qa"].map((name) => loadPipeline(`${out}/${name}`, { backend })),
  );
  const handler = createInferenceHandler({ pipelines });
  console.log("\nevaluation of the saved folders, through the HTTP handler:");

  const predicted = (await pool(
    chunks(test.sentiment, 16),
    4,
    (c) => call<LabelScore[][]>(handler, "/v1/classify", { inputs: c.map((e) => e.text) }),
  )).flat();
  const labels = ["NEGATIVE", "POSITIVE"];
  const right = predicted.filter((p, i) => p[0].label === labels[test.sentiment[i].label]);
  const negated = test.sentiment.map((e, i) => [e, predicted[i]] as const)
    .filter(([e]) => / not /.test(e.text));
  const negRight = negated.filter(([e, p]) => p[0].label === labels[e.label]).length;
  console.log(
    `  sentiment  accuracy ${(right.length / predicted.length).toFixed(3)} on ${predicted.length}` +
      ` sentences (${negRight}/${negated.length} with "not")`,
  );

  const found =
    (await pool(chunks(test.ner, 16), 4, (c) =>
      call<Entity[][]>(handler, "/v1/tokens", {
        inputs: c.map((e) => e.text),
        parameters: { aggregation_strategy: "first" },
      }))).flat();
  let tp = 0, fp = 0, fn = 0;
  test.ner.forEach((e, i) => {
    const gold = new Set(e.entities.map((g) => `${g.start}:${g.end}:${g.type}`));
    const got = new Set(found[i].map((p) => `${p.start}:${p.end}:${p.entity_group}`));
    for (const g of gold) got.has(g) ? tp++ : fn++;
    for (const p of got) if (!gold.has(p)) fp++;
  });
  console.log(
    `  entities   F1 ${f1(tp, fp, fn).toFixed(3)} on ${test.ner.length} sentences (exact span and` +
      ` type, aggregation "first")`,
  );

  let exact = 0, overlap = 0;
  const answers = await pool(
    test.qa,
    16,
    (e) =>
      call<{ start: number; end: number }>(handler, "/v1/answer", {
        question: e.question,
        context: e.context,
      }),
  );
  answers.forEach((a, i) => {
    const g = test.qa[i];
    if (a.start === g.start && a.end === g.end) exact++;
    const inter = Math.max(0, Math.min(a.end, g.end) - Math.max(a.start, g.start));
    overlap += inter === 0 ? 0 : (2 * inter) / (a.end - a.start + g.end - g.start);
  });
  console.log(
    `  qa         exact match ${(exact / test.qa.length).toFixed(3)}, character F1 ${
      (overlap / test.qa.length).toFixed(3)
    } on ${test.qa.length} questions`,
  );
  const { batches, sequences } = handler.stats();
  console.log(`  (${sequences} sequences in ${batches} forward passes)`);
}
