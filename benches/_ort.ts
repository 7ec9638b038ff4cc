/**
 * onnxruntime as a CPU peer: `onnxruntime-node` (native MLAS through Node-API, threads per
 * session with `intraOpNumThreads`) and `onnxruntime-web` on its WebAssembly backend (threads per
 * module instance, so each thread count runs in its own worker, `_ort_worker.ts`). Both are pinned
 * npm packages (1.30.0); onnxruntime-node's install script, which fetches CUDA pieces, never runs
 * under Deno, and its CPU binary ships in the tarball.
 *
 * Every session is made with `graphOptimizationLevel: "all"` and keeps its feeds, so a timed
 * {@linkcode OrtRunner.run} is one `session.run` plus the output copied into a JS array (and, for
 * onnxruntime-web, one message each way to its worker).
 *
 * @module
 */

import type { OrtWorkerMessage, OrtWorkerReply } from "./_ort_worker.ts";
import type { Shaped } from "./_onnx.ts";

/** A session ready to run on the feeds it was made with. */
export interface OrtRunner {
  /** Runs the model once; resolves to the first output's values. */
  run(): Promise<Float32Array>;
}

/** Feeds by input name. */
export type Feeds = Record<string, Shaped>;

/** Result of making a runner: the runner, or why it could not be made. */
export type Made = { runner: OrtRunner } | { error: string };

const reason = (e: unknown) => String((e as Error)?.message ?? e).split("\n")[0];

let nodeModule: Promise<typeof import("onnxruntime-node")> | undefined;

/**
 * An onnxruntime-node session on its CPU execution provider.
 *
 * @param model The ONNX model bytes.
 * @param feeds The inputs every run uses.
 * @param threads `intraOpNumThreads`.
 * @returns The runner, or the reason it failed (never throws).
 */
export async function ortNode(model: Uint8Array, feeds: Feeds, threads: number): Promise<Made> {
  try {
    nodeModule ??= import("onnxruntime-node");
    const ort = await nodeModule;
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ["cpu"],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
    });
    const tensors = Object.fromEntries(
      Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor("float32", v.data, v.dims)]),
    );
    const output = session.outputNames[0];
    return {
      runner: {
        async run() {
          const out = await session.run(tensors);
          return out[output].data as Float32Array;
        },
      },
    };
  } catch (e) {
    return { error: `onnxruntime-node: ${reason(e)}` };
  }
}

/** One onnxruntime-web worker: a request/reply channel. */
class WebWorker {
  #worker = new Worker(new URL("./_ort_worker.ts", import.meta.url), { type: "module" });
  #pending = new Map<number, { resolve(v?: Float32Array): void; reject(e: Error): void }>();
  #next = 0;

  constructor() {
    this.#worker.onmessage = (e: MessageEvent<OrtWorkerReply>) => {
      const p = this.#pending.get(e.data.id)!;
      this.#pending.delete(e.data.id);
      if (e.data.error !== undefined) p.reject(new Error(e.data.error));
      else p.resolve(e.data.value);
    };
    this.#worker.onerror = (e) => {
      e.preventDefault();
      for (const p of this.#pending.values()) p.reject(new Error(e.message));
      this.#pending.clear();
    };
  }

  /** Sends one request (the id is filled in); `transfer` lists buffers to move. */
  send(
    req: OrtWorkerMessage,
    transfer: ArrayBuffer[] = [],
  ): Promise<Float32Array | undefined> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...req, id }, transfer);
    });
  }

  /** Stops the worker. */
  terminate(): void {
    this.#worker.terminate();
  }
}

const webWorkers = new Map<number, Promise<WebWorker>>();
let sessions = 0;

async function webWorker(threads: number): Promise<WebWorker> {
  let w = webWorkers.get(threads);
  if (!w) {
    w = (async () => {
      const worker = new WebWorker();
      try {
        await worker.send({ op: "init", threads });
      } catch (e) {
        worker.terminate();
        throw e;
      }
      return worker;
    })();
    webWorkers.set(threads, w);
  }
  return await w;
}

/**
 * An onnxruntime-web session on its WebAssembly execution provider, in the worker for `threads`.
 *
 * @param model The ONNX model bytes (copied to the worker).
 * @param feeds The inputs every run uses (copied to the worker).
 * @param threads `env.wasm.numThreads` of that worker.
 * @returns The runner, or the reason it failed (never throws).
 */
export async function ortWeb(model: Uint8Array, feeds: Feeds, threads: number): Promise<Made> {
  try {
    const worker = await webWorker(threads);
    const key = `s${sessions++}`;
    await worker.send({ op: "create", key, model, feeds });
    return {
      runner: {
        async run() {
          return (await worker.send({ op: "run", key }))!;
        },
      },
    };
  } catch (e) {
    return { error: `onnxruntime-web: ${reason(e)}` };
  }
}

/** Stops every onnxruntime-web worker (so the process can exit). */
export async function closeOrtWeb(): Promise<void> {
  for (const w of webWorkers.values()) (await w.catch(() => undefined))?.terminate();
  webWorkers.clear();
}
