import { assertEquals, assertRejects } from "@std/assert";
import { PretrainedConfig } from "@denoformers/core";
import { createInferenceHandler } from "./handler.ts";
import { chooseBackend, loadPipeline, type Pipeline, taskOf } from "./pipeline.ts";
import { serveDir } from "./_testing/static_server.ts";
import { post } from "./_testing/http.ts";
import { tinyPipelines } from "./_testing/tiny.ts";

const requests: Record<string, [string, unknown]> = {
  "text-classification": ["/v1/classify", { inputs: ["the movie was great", "bad"] }],
  "token-classification": ["/v1/tokens", { inputs: "Alice lives in Paris with Bob" }],
  "question-answering": ["/v1/answer", { question: "Who?", context: "Alice lives in Paris." }],
};

async function answers(p: Pipeline): Promise<unknown> {
  const [path, body] = requests[p.task];
  return (await post(createInferenceHandler({ pipelines: [p] }), path, body)).body;
}

Deno.test("pipeline: a saved folder loads from a path and a URL and answers the same", async () => {
  const dir = await Deno.makeTempDir();
  const server = serveDir(dir);
  try {
    for (const p of await tinyPipelines()) {
      const sub = `${dir}/${p.task}`;
      await p.model.savePretrained(sub);
      await p.tokenizer.save(sub);
      const expected = await answers(p);
      const local = await loadPipeline(sub, { backend: "cpu" });
      assertEquals(local.task, p.task);
      assertEquals(await answers(local), expected);
      const remote = await loadPipeline(`${server.url}/${p.task}`, { backend: "cpu" });
      assertEquals(await answers(remote), expected);
    }
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pipeline: the task comes from `architectures`, or must be given", async () => {
  const arch = (a: string) => new PretrainedConfig({ architectures: [a] });
  assertEquals(taskOf(arch("BertForSequenceClassification")), "text-classification");
  assertEquals(taskOf(arch("LlamaForQuestionAnswering")), "question-answering");
  assertEquals(taskOf(arch("BertModel")), null);
  const dir = await Deno.makeTempDir();
  try {
    const [p] = await tinyPipelines();
    p.model.config.architectures = null;
    await p.model.savePretrained(dir);
    await p.tokenizer.save(dir);
    await assertRejects(() => loadPipeline(dir, { backend: "cpu" }), RangeError, "pass { task }");
    const loaded = await loadPipeline(dir, { backend: "cpu", task: "text-classification" });
    assertEquals(loaded.task, "text-classification");
    await assertRejects(() => loadPipeline(`${dir}/missing`), Error, "config.json");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pipeline: chooseBackend honours a request and falls back to the CPU", async () => {
  assertEquals(await chooseBackend("cpu"), "cpu");
  const auto = await chooseBackend("auto");
  if (Deno.env.get("DENO_WEBGPU_BACKEND") === "none") assertEquals(auto, "cpu");
  await chooseBackend("cpu");
});

Deno.test("pipeline: chooseBackend('auto') gives the CPU when DENOFORMERS_WEBGPU=0", async () => {
  const prev = Deno.env.get("DENOFORMERS_WEBGPU");
  Deno.env.set("DENOFORMERS_WEBGPU", "0");
  try {
    assertEquals(await chooseBackend("auto"), "cpu");
  } finally {
    if (prev === undefined) Deno.env.delete("DENOFORMERS_WEBGPU");
    else Deno.env.set("DENOFORMERS_WEBGPU", prev);
    await chooseBackend("cpu");
  }
});
