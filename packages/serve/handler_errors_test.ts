import { assert, assertEquals } from "@std/assert";
import { memory } from "@denoformers/core";
import { createInferenceHandler } from "./handler.ts";
import { assertError, get, post, stillServes } from "./_testing/http.ts";
import { tinyHandler, tinyModel, tinyPipelines, tinyTokenizer } from "./_testing/tiny.ts";

type Json = Record<string, unknown>;

Deno.test("serve: 400 for malformed JSON and wrong types; the server keeps serving", async () => {
  const h = await tinyHandler();
  const cases: [string, unknown, RegExp][] = [
    ["/v1/classify", "{not json", /^Cannot parse request body: invalid JSON/],
    ["/v1/classify", "", /^Cannot parse request body: it is empty/],
    ["/v1/classify", [1, 2], /^Cannot classify: expected a JSON object/],
    ["/v1/classify", { inputs: 3 }, /"inputs" must be a string or an array of strings/],
    ["/v1/classify", { inputs: ["a", 2] }, /"inputs" must be a string/],
    ["/v1/classify", { input: "a" }, /unknown field "input"/],
    [
      "/v1/classify",
      { inputs: "a", parameters: { top_k: 0 } },
      /"top_k" must be a positive integer/,
    ],
    ["/v1/classify", { inputs: "a", parameters: [] }, /expected a JSON object/],
    [
      "/v1/tokens",
      { inputs: "a", parameters: { aggregation_strategy: "best" } },
      /"aggregation_strategy" must be one of/,
    ],
    ["/v1/answer", { question: "who?" }, /"context" must be a non-empty string/],
    ["/v1/answer", { question: 1, context: "x" }, /"question" must be a non-empty string/],
    [
      "/v1/answer",
      { question: "a", context: "b", parameters: { max_answer_len: 1.5 } },
      /"max_answer_len"/,
    ],
  ];
  for (const [path, body, pattern] of cases) {
    assertError(await post(h, path, body), 400, pattern);
    await stillServes(h);
  }
  const bad = new Request("http://localhost/v1/classify", {
    method: "POST",
    body: new Uint8Array([0xff, 0xfe]),
  });
  assertError(
    { status: (await h.fetch(bad.clone())).status, body: await (await h.fetch(bad)).json() },
    400,
    /not valid UTF-8/,
  );
  await stillServes(h);
});

Deno.test("serve: 404 for unknown routes and for tasks without a model", async () => {
  const h = await tinyHandler();
  assertError(await get(h, "/v2/classify"), 404, /^Cannot find route "\/v2\/classify"/);
  await stillServes(h);
  const tokenizer = tinyTokenizer();
  const model = await tinyModel("text-classification", 80);
  const only = createInferenceHandler({ model, tokenizer, task: "text-classification" });
  assertError(
    await post(only, "/v1/answer", { question: "a", context: "b" }),
    404,
    /no question-answering model/,
  );
  await stillServes(only);
});

Deno.test("serve: 405 with an Allow header for the wrong method", async () => {
  const h = await tinyHandler();
  const res = await get(h, "/v1/classify");
  assertError(res, 405, /^Cannot GET \/v1\/classify: use POST/);
  assertEquals(res.headers.get("allow"), "POST");
  const del = await get(h, "/health", "DELETE");
  assertError(del, 405, /use GET/);
  await stillServes(h);
});

Deno.test("serve: 413 for bodies over the limit, declared or streamed", async () => {
  const h = await tinyHandler({ maxBodyBytes: 100 });
  const big = JSON.stringify({ inputs: "great ".repeat(50) });
  assertError(await post(h, "/v1/classify", big), 413, /exceeds the limit of 100 bytes/);
  await stillServes(h);
  const chunk = new TextEncoder().encode(big.slice(0, 60));
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(chunk);
      c.enqueue(chunk);
      c.close();
    },
  });
  const req = new Request("http://localhost/v1/classify", { method: "POST", body: stream });
  assertEquals(req.headers.get("content-length"), null);
  const res = await h.fetch(req);
  assertError({ status: res.status, body: await res.json() }, 413, /exceeds the limit/);
  await stillServes(h);
});

Deno.test("serve: 422 for too many inputs and, under `reject`, for over-long texts", async () => {
  const h = await tinyHandler({ maxInputs: 2, maxSequenceLength: 8, truncation: "reject" });
  assertError(
    await post(h, "/v1/classify", { inputs: ["a", "b", "c"] }),
    422,
    /3 inputs exceed the limit of 2/,
  );
  const long = "the movie was great and the music was bad";
  assertError(
    await post(h, "/v1/classify", { inputs: long }),
    422,
    /the input has 11 tokens, over the limit of 8/,
  );
  assertError(await post(h, "/v1/tokens", { inputs: ["bob", long] }), 422, /input 1 has 11 tokens/);
  assertError(
    await post(h, "/v1/answer", { question: long, context: "bob" }),
    422,
    /over the limit of 8/,
  );
  await stillServes(h);
  // Under `truncate` the same texts are cut; a question that leaves no room is still refused.
  const t = await tinyHandler({ maxSequenceLength: 8 });
  assertEquals((await post(t, "/v1/classify", { inputs: long })).status, 200);
  const answer = await post(t, "/v1/answer", { question: "who", context: long });
  assertEquals(answer.status, 200);
  assert(long.slice(0, 12).includes((answer.body as Json).answer as string));
  assertError(
    await post(t, "/v1/answer", { question: long, context: "bob" }),
    422,
    /question and context need/,
  );
});

Deno.test("serve: 503 when the queue is full", async () => {
  const h = await tinyHandler({ maxQueue: 2, maxBatchSize: 1 });
  const res = await post(h, "/v1/classify", { inputs: ["a", "b", "c"] });
  assertError(res, 503, /^Cannot queue request: the queue is full/);
  assertEquals(res.headers.get("retry-after"), "1");
  // Concurrent requests: the first two fit, the third waits for none.
  const all = await Promise.all([1, 2, 3].map(() => post(h, "/v1/classify", { inputs: "great" })));
  assertEquals(all.map((r) => r.status).sort(), [200, 200, 503]);
  await stillServes(h);
});

Deno.test("serve: 503 when a request waits longer than timeoutMs", async () => {
  const pipelines = await tinyPipelines();
  const slow = pipelines[0].model.registerForwardHook(() => {
    const until = performance.now() + 60;
    while (performance.now() < until) { /* a slow model */ }
  });
  const h = createInferenceHandler({ pipelines, limits: { timeoutMs: 20, maxBatchSize: 1 } });
  const [first, second] = await Promise.all([
    post(h, "/v1/classify", { inputs: "great" }),
    post(h, "/v1/classify", { inputs: "bad" }),
  ]);
  assert([200, 503].includes(first.status)); // its pass ends late; the result may still win
  assertError(second, 503, /^Cannot answer in time: no result within 20 ms/);
  slow.remove();
  await stillServes(h);
  assertEquals(h.stats().queued, 0);
});

Deno.test("serve: 500 hides unexpected errors", async () => {
  const pipelines = await tinyPipelines();
  const errors: unknown[] = [];
  const hook = pipelines[0].model.registerForwardHook(() => {
    throw new Error("secret detail");
  });
  const h = createInferenceHandler({ pipelines, onError: (e) => errors.push(e) });
  const before = memory("cpu").liveTensors;
  assertError(
    await post(h, "/v1/classify", { inputs: "great" }),
    500,
    /^Cannot answer request: internal error$/,
  );
  assertEquals(errors.length, 1);
  assertEquals(memory("cpu").liveTensors, before);
  hook.remove();
  await stillServes(h);
});
