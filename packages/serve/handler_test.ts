import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { memory } from "@denoformers/core";
import { createInferenceHandler } from "./handler.ts";
import { get, post } from "./_testing/http.ts";
import { tinyHandler, tinyPipelines } from "./_testing/tiny.ts";

type Json = Record<string, unknown>;

Deno.test("serve: GET /health and GET /info describe the models and limits", async () => {
  const h = await tinyHandler({ maxInputs: 7 });
  const health = await get(h, "/health");
  assertEquals(health.status, 200);
  assertEquals((health.body as Json).status, "ok");
  assert(typeof ((health.body as Json).memory as Json).liveTensors === "number");
  const info = (await get(h, "/info")).body as Json;
  assertEquals(info.backend, "cpu");
  assertEquals((info.limits as Json).maxInputs, 7);
  const models = info.models as Json[];
  assertEquals(models.map((m) => m.route), ["/v1/classify", "/v1/tokens", "/v1/answer"]);
  assertEquals(models[0].labels, ["NEG", "POS"]);
  assertEquals(models[1].architecture, "BertForTokenClassification");
  assertEquals(models[2].max_sequence_length, 64); // capped by max_position_embeddings
  assertEquals((await get(h, "/health", "HEAD")).status, 200);
});

Deno.test("serve: POST /v1/classify answers one text or a list, with top_k", async () => {
  const h = await tinyHandler();
  const one = await post(h, "/v1/classify", { inputs: "The movie was great!" });
  assertEquals(one.status, 200);
  const [best] = one.body as { label: string; score: number }[];
  assertEquals((one.body as unknown[]).length, 1);
  assert(["NEG", "POS"].includes(best.label) && best.score >= 0.5);
  const all = await post(h, "/v1/classify", {
    inputs: ["great", "the music was bad", ""],
    parameters: { top_k: null },
  });
  const rows = all.body as { label: string; score: number }[][];
  assertEquals(rows.length, 3);
  for (const row of rows) {
    assertEquals(row.length, 2);
    assert(row[0].score >= row[1].score);
    assertAlmostEquals(row[0].score + row[1].score, 1, 1e-5);
  }
  // top_k above the label count gives every label.
  assertEquals(
    ((await post(h, "/v1/classify", { inputs: "x", parameters: { top_k: 9 } })).body as []).length,
    2,
  );
  assertEquals((await post(h, "/v1/classify", { inputs: [] })).body, []);
});

Deno.test("serve: POST /v1/tokens reports spans of the original text for each strategy", async () => {
  const h = await tinyHandler();
  const text = "ALICE lives in Parisx with Bob";
  for (const strategy of ["none", "simple", "first", "average", "max"]) {
    const res = await post(h, "/v1/tokens", {
      inputs: [text],
      parameters: { aggregation_strategy: strategy },
    });
    assertEquals(res.status, 200);
    const [entities] = res.body as Json[][];
    for (const e of entities) {
      const start = e.start as number, end = e.end as number;
      assert(start >= 0 && end > start && end <= text.length);
      assert(strategy === "none" ? "entity" in e && "index" in e : "entity_group" in e);
      assert((e.entity ?? e.entity_group) !== "O");
      if (strategy !== "none") {
        assertEquals(
          String(e.word).replaceAll(" ", ""),
          text.slice(start, end).toLowerCase().replaceAll(" ", ""),
        );
      }
    }
  }
});

Deno.test("serve: POST /v1/answer returns a span of the context", async () => {
  const h = await tinyHandler();
  const context = "Alice lives in Paris and works with Bob.";
  for (
    const body of [
      { question: "Who lives in Paris?", context },
      { inputs: { question: "Who lives in Paris?", context } },
    ]
  ) {
    const res = await post(h, "/v1/answer", body);
    assertEquals(res.status, 200);
    const a = res.body as { answer: string; start: number; end: number; score: number };
    assertEquals(context.slice(a.start, a.end), a.answer);
    assert(a.score > 0 && a.score <= 1);
  }
  const top = await post(h, "/v1/answer", {
    question: "Where does Bob work?",
    context,
    parameters: { top_k: 3, max_answer_len: 1 },
  });
  const answers = top.body as { answer: string; score: number }[];
  assertEquals(answers.length, 3);
  for (const a of answers) assert(!a.answer.includes(" "), "one token at most");
  assert(answers[0].score >= answers[1].score && answers[1].score >= answers[2].score);
});

Deno.test("serve: concurrent requests share forward passes", async () => {
  const h = await tinyHandler({ maxBatchSize: 8 });
  const texts = Array.from({ length: 24 }, (_, i) => `the movie was ${i % 2 ? "great" : "bad"}`);
  const alone = await Promise.all(
    texts.slice(0, 2).map((t) => post(h, "/v1/classify", { inputs: t })),
  );
  const before = h.stats().batches;
  const results = await Promise.all(texts.map((t) => post(h, "/v1/classify", { inputs: t })));
  assert(results.every((r) => r.status === 200));
  const batches = h.stats().batches - before;
  assert(batches <= 4, `24 requests took ${batches} forward passes`);
  // Batched answers equal unbatched ones (padding does not leak into the result).
  for (const i of [0, 1]) {
    const a = (alone[i].body as Json[])[0], b = (results[i].body as Json[])[0];
    assertEquals(a.label, b.label);
    assertAlmostEquals(a.score as number, b.score as number, 1e-5);
  }
});

Deno.test("serve: live tensors are unchanged after many requests", async () => {
  const h = await tinyHandler({ maxBatchSize: 4 });
  const round = () =>
    Promise.all([
      post(h, "/v1/classify", { inputs: ["the movie was great", "bad"] }),
      post(h, "/v1/tokens", {
        inputs: "Alice lives in Paris",
        parameters: { aggregation_strategy: "first" },
      }),
      post(h, "/v1/answer", { question: "Who lives in Paris?", context: "Alice lives in Paris." }),
      post(h, "/v1/classify", "{oops"),
    ]);
  await round();
  const before = memory("cpu");
  for (let i = 0; i < 40; i++) await round();
  const after = memory("cpu");
  assertEquals(after.liveTensors, before.liveTensors);
  assertEquals(after.liveBytes, before.liveBytes);
});

Deno.test("serve: the handler works behind Deno.serve", async () => {
  const h = await tinyHandler({ maxBodyBytes: 256 });
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    h.fetch,
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const ok = await fetch(`${base}/v1/classify`, { method: "POST", body: '{"inputs":"great"}' });
    assertEquals(ok.status, 200);
    assertEquals(ok.headers.get("content-type"), "application/json; charset=utf-8");
    await ok.body?.cancel();
    const big = await fetch(`${base}/v1/classify`, { method: "POST", body: "x".repeat(1000) });
    assertEquals(big.status, 413);
    await big.body?.cancel();
    const health = await fetch(`${base}/health`);
    assertEquals((await health.json()).status, "ok");
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("serve: createInferenceHandler refuses incomplete options", async () => {
  assertThrows(() => createInferenceHandler({}), TypeError, "no model given");
  const [p] = await tinyPipelines();
  assertThrows(
    () => createInferenceHandler({ model: p.model }),
    TypeError,
    "needs `tokenizer` and `task`",
  );
  assertThrows(() => createInferenceHandler({ pipelines: [p, p] }), TypeError, "two models");
});
