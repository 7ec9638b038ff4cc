/**
 * Serves model folders over HTTP with `Deno.serve`: `POST /v1/classify`, `POST /v1/tokens`,
 * `POST /v1/answer`, `GET /health`, `GET /info`.
 *
 * `--model` names a Hugging Face folder (`config.json`, `*.safetensors`, `tokenizer.json`), a
 * base URL of one, or a folder whose subfolders are model folders (the default, `demo_out`,
 * written by `deno task demo`); repeat it to serve several. Each model's task comes from the
 * `architectures` in its `config.json`.
 *
 * Run: `deno task serve` (options: `--model DIR|URL`, `--port 8000`, `--host 127.0.0.1`,
 * `--backend auto|cpu|webgpu`, `--threads N` (CPU matmul threads; default: every core),
 * `--max-batch-size 16`, `--timeout-ms 10000`).
 *
 * @module
 */

import { setCpuThreads } from "@denoformers/core";
import {
  chooseBackend,
  createInferenceHandler,
  type Limits,
  loadPipeline,
  type Pipeline,
} from "@denoformers/serve";

function flags(name: string): string[] {
  return Deno.args.flatMap((
    a,
    i,
  ) => (a === `--${name}` && Deno.args[i + 1] ? [Deno.args[i + 1]] : []));
}
const flag = (name: string, fallback: string) => flags(name).at(-1) ?? fallback;

/** The model folders behind one `--model` value. */
async function folders(location: string): Promise<string[]> {
  if (/^https?:/.test(location)) return [location];
  try {
    await Deno.stat(`${location}/config.json`);
    return [location];
  } catch {
    // Not a model folder: look one level down.
  }
  const found: string[] = [];
  try {
    for await (const entry of Deno.readDir(location)) {
      if (!entry.isDirectory) continue;
      try {
        await Deno.stat(`${location}/${entry.name}/config.json`);
        found.push(`${location}/${entry.name}`);
      } catch { /* not a model */ }
    }
  } catch {
    // Missing folder: reported below.
  }
  if (found.length === 0) {
    console.error(
      `Cannot serve "${location}": no config.json there or in its subfolders. ` +
        "Run `deno task demo` first, or pass --model DIR.",
    );
    Deno.exit(1);
  }
  return found.sort();
}

const backend = await chooseBackend(flag("backend", "auto") as "auto" | "cpu" | "webgpu");
// A server lives long, so the worker pool's start-up is paid once; where workers cannot run this
// stays at one thread.
const threads = backend === "cpu"
  ? await setCpuThreads(Number(flag("threads", String(navigator.hardwareConcurrency))), {
    idleTimeoutMs: 60_000,
  })
  : 1;
const locations =
  (await Promise.all((flags("model").length ? flags("model") : ["demo_out"]).map(folders)))
    .flat();
const pipelines: Pipeline[] = [];
for (const location of locations) {
  const pipeline = await loadPipeline(location, { backend });
  pipelines.push(pipeline);
  console.log(`loaded ${location}: ${pipeline.task} (${pipeline.model.constructor.name})`);
}
const limits: Partial<Limits> = {
  maxBatchSize: Number(flag("max-batch-size", "16")),
  timeoutMs: Number(flag("timeout-ms", "10000")),
};
const handler = createInferenceHandler({ pipelines, limits });
// With `--v8-flags=--expose-gc` (as `deno task loadtest` starts it), collect garbage before
// `/health` reports memory, so that its figures compare across time.
const gc = (globalThis as { gc?: () => void }).gc;
const fetchWithGc = (request: Request) => {
  if (gc && new URL(request.url).pathname === "/health") gc();
  return handler.fetch(request);
};
const hostname = flag("host", "127.0.0.1");
Deno.serve({
  hostname,
  port: Number(flag("port", "8000")),
  onListen: ({ port }) =>
    console.log(
      `listening on http://${hostname}:${port}/ (backend ${backend}, ${threads} CPU thread(s))`,
    ),
}, fetchWithGc);
