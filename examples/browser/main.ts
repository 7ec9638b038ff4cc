/**
 * Browser example: builds a tiny BERT sequence classifier through the registry, runs one forward
 * pass on the CPU backend (and on WebGPU when an adapter exists) and publishes the result as JSON
 * in `window.__result` and `document.body`.
 *
 * Bundle it with `deno task bundle`; `deno task test:browser` runs it in headless Chromium.
 *
 * @module
 */

import {
  type BackendName,
  manualSeed,
  ModelRegistry,
  noGrad,
  setBackend,
  type Tensor,
  tensor,
} from "@denoformers/core";
import { AutoModelForSequenceClassification } from "@denoformers/heads";
import { bert, registerBuiltinModels } from "@denoformers/models";

/** One forward pass on one backend. */
interface RunResult {
  backend: BackendName;
  shape: number[];
  checksum: number;
  ms: number;
}

const registry = registerBuiltinModels(new ModelRegistry());

async function run(backend: BackendName): Promise<RunResult> {
  await setBackend(backend);
  manualSeed(0);
  const config = bert.parseConfig({
    vocab_size: 24,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 32,
    max_position_embeddings: 16,
    num_labels: 3,
    pad_token_id: 0,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
  });
  const model = AutoModelForSequenceClassification.fromConfig(config, { registry });
  model.eval();
  const ids = tensor([[1, 5, 7, 9, 2], [1, 3, 4, 2, 0]], { dtype: "int32", backend });
  const mask = tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], { dtype: "int32", backend });
  const start = performance.now();
  const logits = noGrad(() =>
    (model.call(ids, { attentionMask: mask }) as { logits: Tensor }).logits
  );
  const values = await logits.data();
  const ms = performance.now() - start;
  let checksum = 0;
  for (const v of values) checksum += Number(v);
  return { backend, shape: [...logits.shape], checksum, ms };
}

async function main(): Promise<Record<string, unknown>> {
  const cpu = await run("cpu");
  const result: Record<string, unknown> = { ok: true, cpu };
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  if (adapter) {
    try {
      result.webgpu = await run("webgpu");
    } catch (e) {
      result.webgpu = { error: String(e) };
    }
  } else {
    result.webgpu = null;
  }
  return result;
}

/** The few DOM members used here (the workspace type-checks without `lib.dom`). */
interface MiniElement {
  id: string;
  textContent: string | null;
  appendChild(child: MiniElement): unknown;
}
const w = globalThis as typeof globalThis & {
  __result?: unknown;
  document: { body: MiniElement; createElement(tag: string): MiniElement };
};
main().then(
  (r) => r,
  (e: unknown) => ({
    ok: false,
    error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e),
  }),
).then((r) => {
  const text = JSON.stringify(r);
  const pre = w.document.createElement("pre");
  pre.id = "result";
  pre.textContent = text;
  w.document.body.appendChild(pre);
  w.__result = r;
});
