/**
 * `createInferenceHandler`: a `fetch`-style HTTP handler for `Deno.serve` or
 * `export default { fetch }`, with request limits, a micro-batching queue per model, a
 * per-request timeout and JSON errors.
 *
 * @module
 */

import { memory, type PreTrainedModel } from "@denoformers/core";
import { MicroBatcher, QueueFullError } from "./_batcher.ts";
import { errorResponse, HttpError, json, readJsonBody } from "./_http.ts";
import { backendOfModel, batchRunner } from "./_run.ts";
import {
  answerRoute,
  classifyRoute,
  type RouteResult,
  type Served,
  tokensRoute,
} from "./_routes.ts";
import type { Pipeline, Task } from "./pipeline.ts";
import type { ServeTokenizer, TokenizedText } from "./tokenizer.ts";

/** Request limits. Every one has a default. */
export interface Limits {
  /** Largest request body, in bytes (413 above). @default {65536} */
  maxBodyBytes: number;
  /** Most texts in one request (422 above). @default {32} */
  maxInputs: number;
  /** Most tokens per sequence, capped by the model's `max_position_embeddings`. @default {512} */
  maxSequenceLength: number;
  /** Longer sequences are cut (`"truncate"`) or refused with 422 (`"reject"`). @default {"truncate"} */
  truncation: "truncate" | "reject";
  /** Most sequences waiting per model (503 above). @default {256} */
  maxQueue: number;
  /** Longest wait for an answer, queueing included (503 after). @default {10000} */
  timeoutMs: number;
  /** Most sequences in one forward pass. @default {16} */
  maxBatchSize: number;
}

/** The default {@linkcode Limits}. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxBodyBytes: 65536,
  maxInputs: 32,
  maxSequenceLength: 512,
  truncation: "truncate",
  maxQueue: 256,
  timeoutMs: 10_000,
  maxBatchSize: 16,
});

/** Options of {@linkcode createInferenceHandler}: one model, or several with different tasks. */
export interface InferenceHandlerOptions {
  /** One model (with `tokenizer` and `task`). */
  model?: PreTrainedModel;
  /** The tokenizer of `model`. */
  tokenizer?: ServeTokenizer;
  /** The task of `model`. */
  task?: Task;
  /** Several pipelines, at most one per task. */
  pipelines?: readonly Pipeline[];
  /** Limits; missing ones take {@linkcode DEFAULT_LIMITS}. */
  limits?: Partial<Limits>;
  /** Called with unexpected errors (answered with 500). @default {logs the message} */
  onError?: (error: unknown) => void;
}

/** Counters of a handler. */
export interface HandlerStats {
  /** Requests answered, by status. */
  responses: Record<number, number>;
  /** Sequences waiting. */
  queued: number;
  /** Forward passes run. */
  batches: number;
  /** Sequences run. */
  sequences: number;
}

/** The handler: `fetch` for `Deno.serve(handler.fetch)` or `export default handler`. */
export interface InferenceHandler {
  /** Answers one request. */
  fetch: (request: Request) => Promise<Response>;
  /** The limits in force. */
  readonly limits: Readonly<Limits>;
  /** Counters. */
  stats(): HandlerStats;
}

const ROUTES: Record<string, Task> = {
  "/v1/classify": "text-classification",
  "/v1/tokens": "token-classification",
  "/v1/answer": "question-answering",
};
const HANDLERS: Record<Task, (s: Served, body: unknown) => Promise<RouteResult>> = {
  "text-classification": classifyRoute,
  "token-classification": tokensRoute,
  "question-answering": answerRoute,
};

function serve(pipeline: Pipeline, limits: Readonly<Limits>): Served {
  pipeline.model.eval();
  const config = pipeline.model.config;
  const positions = (config.max_position_embeddings as number | undefined) ?? Infinity;
  const batcher = new MicroBatcher(batchRunner(pipeline), {
    maxBatchSize: limits.maxBatchSize,
    maxQueue: limits.maxQueue,
    // Without a pad id a generic head cannot find each row's last token: batch equal lengths only.
    groupKey: config.pad_token_id === null ? (e: TokenizedText) => e.ids.length : undefined,
  });
  return {
    pipeline,
    labels: Array.from(
      { length: config.num_labels as number },
      (_, i) => config.id2label?.[i] ?? `LABEL_${i}`,
    ),
    maxSequenceLength: Math.min(limits.maxSequenceLength, positions),
    maxInputs: limits.maxInputs,
    truncate: limits.truncation === "truncate",
    batcher,
    async run(encs) {
      const submission = batcher.submit(encs);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          submission.cancel();
          reject(
            new HttpError(503, `Cannot answer in time: no result within ${limits.timeoutMs} ms`, {
              "retry-after": "1",
            }),
          );
        }, limits.timeoutMs);
      });
      try {
        return await Promise.race([submission.result, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Builds the HTTP handler. Routes: `POST /v1/classify`, `POST /v1/tokens`, `POST /v1/answer`
 * (each served when a model of its task is given), `GET /health`, `GET /info`. Errors are JSON
 * `{ "error": "…" }`: 400 malformed JSON or wrong types, 404 unknown route or task not served,
 * 405 wrong method, 413 body too large, 422 too many inputs or too long, 503 queue full or
 * timeout, 500 anything else (message only, never a stack).
 *
 * @param options The model(s) and limits.
 * @returns The handler.
 * @throws {TypeError} When no model is given, or two share a task.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { withBackend } from "@denoformers/core";
 * import { BertConfig, BertForSequenceClassification } from "@denoformers/models";
 * import { createInferenceHandler, createWordPieceTokenizerJson, ServeTokenizer } from "@denoformers/serve";
 *
 * const tokenizer = ServeTokenizer.fromJson(createWordPieceTokenizerJson(["a good movie", "a bad movie"]));
 * const config = new BertConfig({
 *   vocab_size: 40, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2,
 *   intermediate_size: 16, id2label: { 0: "NEG", 1: "POS" },
 * });
 * const model = await withBackend("cpu", () => new BertForSequenceClassification(config));
 * const handler = createInferenceHandler({ model, tokenizer, task: "text-classification" });
 *
 * const res = await handler.fetch(new Request("http://x/v1/classify", {
 *   method: "POST",
 *   body: JSON.stringify({ inputs: "a good movie", parameters: { top_k: 2 } }),
 * }));
 * assertEquals(res.status, 200);
 * assertEquals((await res.json()).length, 2);
 * assertEquals((await handler.fetch(new Request("http://x/nope"))).status, 404);
 * ```
 */
export function createInferenceHandler(options: InferenceHandlerOptions): InferenceHandler {
  const limits: Readonly<Limits> = Object.freeze({ ...DEFAULT_LIMITS, ...options.limits });
  const pipelines: Pipeline[] = [...(options.pipelines ?? [])];
  if (options.model) {
    if (!options.tokenizer || !options.task) {
      throw new TypeError("Cannot create inference handler: `model` needs `tokenizer` and `task`");
    }
    pipelines.push({ model: options.model, tokenizer: options.tokenizer, task: options.task });
  }
  if (pipelines.length === 0) {
    throw new TypeError("Cannot create inference handler: no model given");
  }
  const byTask = new Map<Task, Served>();
  for (const p of pipelines) {
    if (byTask.has(p.task)) {
      throw new TypeError(`Cannot create inference handler: two models for task "${p.task}"`);
    }
    byTask.set(p.task, serve(p, limits));
  }
  const onError = options.onError ??
    ((e: unknown) => console.error(`inference handler: ${e instanceof Error ? e.message : e}`));
  const responses: Record<number, number> = {};
  const batchers = () => [...byTask.values()].map((s) => s.batcher);
  const backends = [...new Set(pipelines.map(backendOfModel))];

  const health = () => {
    let rssBytes: number | null = null, heapUsedBytes: number | null = null;
    try {
      ({ rss: rssBytes, heapUsed: heapUsedBytes } = Deno.memoryUsage());
    } catch { /* not available */ }
    const mem = backends.map((b) => memory(b));
    return json({
      status: "ok",
      queued: batchers().reduce((n, b) => n + b.queued, 0),
      batches: batchers().reduce((n, b) => n + b.batches, 0),
      sequences: batchers().reduce((n, b) => n + b.items, 0),
      memory: {
        liveTensors: mem.reduce((n, m) => n + m.liveTensors, 0),
        liveBytes: mem.reduce((n, m) => n + m.liveBytes, 0),
        rssBytes,
        heapUsedBytes,
      },
    });
  };
  const info = () =>
    json({
      backend: backends.join(","),
      runtime: `deno ${Deno.version.deno}`,
      limits,
      models: [...byTask.values()].map((s) => ({
        task: s.pipeline.task,
        route: Object.keys(ROUTES).find((r) => ROUTES[r] === s.pipeline.task),
        model_type: s.pipeline.model.config.model_type,
        architecture: s.pipeline.model.constructor.name,
        labels: s.pipeline.task === "question-answering" ? [] : s.labels,
        max_sequence_length: s.maxSequenceLength,
      })),
    });

  async function route(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    const method = request.method.toUpperCase();
    if (pathname === "/health" || pathname === "/info") {
      if (method !== "GET" && method !== "HEAD") {
        throw new HttpError(405, `Cannot ${method} ${pathname}: use GET`, { allow: "GET, HEAD" });
      }
      const res = pathname === "/health" ? health() : info();
      return method === "HEAD" ? new Response(null, { headers: res.headers }) : res;
    }
    const task = ROUTES[pathname];
    if (!task) throw new HttpError(404, `Cannot find route "${pathname}"`);
    if (method !== "POST") {
      throw new HttpError(405, `Cannot ${method} ${pathname}: use POST`, { allow: "POST" });
    }
    const served = byTask.get(task);
    if (!served) throw new HttpError(404, `Cannot serve "${pathname}": no ${task} model is loaded`);
    const body = await readJsonBody(request, limits.maxBodyBytes);
    return json(await HANDLERS[task](served, body));
  }

  return {
    limits,
    stats: () => ({
      responses: { ...responses },
      queued: batchers().reduce((n, b) => n + b.queued, 0),
      batches: batchers().reduce((n, b) => n + b.batches, 0),
      sequences: batchers().reduce((n, b) => n + b.items, 0),
    }),
    fetch: async (request: Request): Promise<Response> => {
      let res: Response;
      try {
        res = await route(request);
      } catch (e) {
        if (e instanceof QueueFullError) {
          res = errorResponse(new HttpError(503, e.message, { "retry-after": "1" }));
        } else if (e instanceof HttpError) {
          res = errorResponse(e);
        } else {
          onError(e);
          res = errorResponse(new HttpError(500, "Cannot answer request: internal error"));
        }
      }
      responses[res.status] = (responses[res.status] ?? 0) + 1;
      return res;
    },
  };
}
