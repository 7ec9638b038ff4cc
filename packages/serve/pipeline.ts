/**
 * A pipeline is a task model plus its tokenizer. `loadPipeline` reads a Hugging Face folder
 * (`config.json`, `*.safetensors`, `tokenizer.json`) from a path or URL; `chooseBackend` picks
 * WebGPU only where a hardware adapter exists, so Deno Deploy and CI get the CPU.
 *
 * @module
 */

import {
  AutoConfig,
  type BackendName,
  getAdapter,
  ModelRegistry,
  type PretrainedConfig,
  type PreTrainedModel,
  setBackend,
} from "@denoformers/core";
import {
  AutoModelForQuestionAnswering,
  AutoModelForSequenceClassification,
  AutoModelForTokenClassification,
} from "@denoformers/heads";
import { registerBuiltinModels } from "@denoformers/models";
import { ServeTokenizer } from "./tokenizer.ts";

/** The tasks served, with Hugging Face's pipeline names. */
export type Task = "text-classification" | "token-classification" | "question-answering";

/** The tasks, in route order. */
export const TASKS: readonly Task[] = [
  "text-classification",
  "token-classification",
  "question-answering",
];

/** A task model with its tokenizer. */
export interface Pipeline {
  /** The task. */
  task: Task;
  /** A model of the task (`AutoModelFor*`, or `BertFor*`). */
  model: PreTrainedModel;
  /** The tokenizer. */
  tokenizer: ServeTokenizer;
}

/** Options of {@linkcode loadPipeline}. */
export interface LoadPipelineOptions {
  /** The task. @default {read from `architectures` in `config.json`} */
  task?: Task;
  /** `"auto"` (see {@linkcode chooseBackend}), `"cpu"` or `"webgpu"`. @default {"auto"} */
  backend?: BackendName | "auto";
  /** Registry of architectures. @default {a new registry with the built-in models} */
  registry?: ModelRegistry;
}

/**
 * Picks a backend: `"cpu"` and `"webgpu"` as given; `"auto"` gives WebGPU when a hardware
 * adapter exists and the CPU otherwise (no adapter, as on Deno Deploy, or a software one, which
 * is slower than the CPU backend). WebGPU globals are touched only here, at run time.
 *
 * @param requested The wish.
 * @returns The backend, also made current.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { chooseBackend } from "@denoformers/serve";
 *
 * assertEquals(await chooseBackend("cpu"), "cpu");
 * ```
 */
export async function chooseBackend(
  requested: BackendName | "auto" = "auto",
): Promise<BackendName> {
  if (requested !== "auto") return await setBackend(requested);
  const adapter = await getAdapter();
  const hardware = adapter !== null && !adapter.info?.isFallbackAdapter;
  return await setBackend(hardware ? "webgpu" : "cpu");
}

/**
 * The task of a config, from its first `architectures` entry.
 *
 * @param config The model config.
 * @returns The task, or `null` when the architecture names none.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PretrainedConfig } from "@denoformers/core";
 * import { taskOf } from "@denoformers/serve";
 *
 * const config = new PretrainedConfig({ architectures: ["BertForTokenClassification"] });
 * assertEquals(taskOf(config), "token-classification");
 * ```
 */
export function taskOf(config: PretrainedConfig): Task | null {
  const arch = config.architectures?.[0] ?? "";
  if (arch.endsWith("ForSequenceClassification")) return "text-classification";
  if (arch.endsWith("ForTokenClassification")) return "token-classification";
  if (arch.endsWith("ForQuestionAnswering")) return "question-answering";
  return null;
}

const AUTO = {
  "text-classification": AutoModelForSequenceClassification,
  "token-classification": AutoModelForTokenClassification,
  "question-answering": AutoModelForQuestionAnswering,
} as const;

/**
 * Loads a model folder (`config.json`, `model.safetensors` or a sharded index, `tokenizer.json`,
 * optional `tokenizer_config.json`) from a local path or an http(s) base URL, in eval mode.
 *
 * @param location Directory or base URL.
 * @param options Task, backend and registry.
 * @returns The pipeline.
 * @throws {RangeError} When the task is neither given nor named by `architectures`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { withBackend } from "@denoformers/core";
 * import { BertConfig, BertForSequenceClassification } from "@denoformers/models";
 * import { createWordPieceTokenizerJson, loadPipeline, ServeTokenizer } from "@denoformers/serve";
 *
 * const dir = await Deno.makeTempDir();
 * const config = new BertConfig({
 *   vocab_size: 40, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2,
 *   intermediate_size: 16, architectures: ["BertForSequenceClassification"],
 * });
 * await (await withBackend("cpu", () => new BertForSequenceClassification(config))).savePretrained(dir);
 * await ServeTokenizer.fromJson(createWordPieceTokenizerJson(["good bad"])).save(dir);
 *
 * const pipeline = await loadPipeline(dir, { backend: "cpu" });
 * assertEquals(pipeline.task, "text-classification");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadPipeline(
  location: string | URL,
  options: LoadPipelineOptions = {},
): Promise<Pipeline> {
  const registry = options.registry ?? registerBuiltinModels(new ModelRegistry());
  const config = await AutoConfig.fromPretrained(location, { registry });
  const task = options.task ?? taskOf(config);
  if (!task) {
    throw new RangeError(
      `Cannot load pipeline from "${location}": config.json names no task in "architectures" (${
        JSON.stringify(config.architectures)
      }); pass { task }`,
    );
  }
  const backend = await chooseBackend(options.backend);
  const model = await AUTO[task].fromPretrained(location, { registry, backend });
  model.eval();
  const tokenizer = await ServeTokenizer.load(location);
  return { task, model, tokenizer };
}
