/**
 * Worker side of the onnxruntime-web runner in `_ort.ts`. onnxruntime-web sizes its WebAssembly
 * thread pool once per module instance (`env.wasm.numThreads`, read at the first session), so each
 * thread count gets its own worker. Messages: `init` (thread count), `create` (model bytes and the
 * feeds to keep), `run` (answers the first output's values).
 *
 * @module
 */

/// <reference lib="deno.worker" />

import type { InferenceSession, Tensor } from "onnxruntime-web";

/** What `_ort.ts` asks for. */
export type OrtWorkerMessage =
  | { op: "init"; threads: number }
  | {
    op: "create";
    key: string;
    model: Uint8Array;
    feeds: Record<string, { data: Float32Array; dims: number[] }>;
  }
  | { op: "run"; key: string };

/** A request: the message and an id its reply carries. */
export type OrtWorkerRequest = OrtWorkerMessage & { id: number };

/** The answer to one request: `value` for `run`, `error` when it failed. */
export interface OrtWorkerReply {
  /** The request's id. */
  id: number;
  /** The first output's values (`run` only). */
  value?: Float32Array;
  /** What went wrong. */
  error?: string;
}

let ort: typeof import("onnxruntime-web") | undefined;
const sessions = new Map<string, { session: InferenceSession; feeds: Record<string, Tensor> }>();

async function handle(req: OrtWorkerRequest): Promise<Float32Array<ArrayBuffer> | undefined> {
  if (req.op === "init") {
    ort = await import("onnxruntime-web");
    ort.env.wasm.numThreads = req.threads;
    return;
  }
  if (!ort) throw new Error("Cannot use onnxruntime-web: the worker was not initialised");
  if (req.op === "create") {
    const session = await ort.InferenceSession.create(req.model, {
      executionProviders: ["wasm"],
      graphOptimizationLevel: "all",
      executionMode: "sequential",
    });
    const feeds: Record<string, Tensor> = {};
    for (const [name, { data, dims }] of Object.entries(req.feeds)) {
      feeds[name] = new ort.Tensor("float32", data, dims);
    }
    sessions.set(req.key, { session, feeds });
    return;
  }
  const s = sessions.get(req.key);
  if (!s) throw new Error(`Cannot run "${req.key}": no such session`);
  const out = await s.session.run(s.feeds);
  const data = out[s.session.outputNames[0]].data as Float32Array;
  // Hand back an array that owns its (transferable) buffer.
  return data.byteOffset === 0 && data.buffer instanceof ArrayBuffer &&
      data.byteLength === data.buffer.byteLength
    ? data as Float32Array<ArrayBuffer>
    : data.slice();
}

self.onmessage = async (e: MessageEvent<OrtWorkerRequest>) => {
  const id = e.data.id;
  try {
    const value = await handle(e.data);
    const reply: OrtWorkerReply = { id, value };
    self.postMessage(reply, value ? [value.buffer] : []);
  } catch (err) {
    const reply: OrtWorkerReply = { id, error: String((err as Error)?.message ?? err) };
    self.postMessage(reply);
  }
};
