/**
 * The same server as a module for `deno serve` and Deno Deploy: `export default { fetch }`.
 * Nothing is loaded at start-up; the first request loads the model folder(s) named by
 * `MODEL_URLS` (comma-separated paths or base URLs; default: the three folders of
 * `deno task demo`) on the CPU, and later requests reuse them.
 *
 * Run locally: `deno serve -A --port 8000 examples/deploy.ts`.
 *
 * @module
 */

import { createInferenceHandler, type InferenceHandler, loadPipeline } from "@denoformers/serve";

let handler: Promise<InferenceHandler> | undefined;

async function load(): Promise<InferenceHandler> {
  const fallback = ["sentiment", "entities", "qa"]
    .map((name) => new URL(`../demo_out/${name}`, import.meta.url).pathname).join(",");
  const locations = (Deno.env.get("MODEL_URLS") ?? fallback).split(",").filter(Boolean);
  const pipelines = await Promise.all(locations.map((l) => loadPipeline(l, { backend: "cpu" })));
  return createInferenceHandler({ pipelines });
}

export default {
  async fetch(request: Request): Promise<Response> {
    handler ??= load();
    try {
      return await (await handler).fetch(request);
    } catch (e) {
      handler = undefined; // try again on the next request
      console.error(`Cannot load models: ${e instanceof Error ? e.message : e}`);
      return Response.json({ error: "Cannot answer request: the models failed to load" }, {
        status: 503,
      });
    }
  },
} satisfies Deno.ServeDefaultExport;
