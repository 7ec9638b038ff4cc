/**
 * Serving `@denoformers` task models over HTTP, on Deno and Deno Deploy.
 *
 * - {@linkcode createInferenceHandler}: a `fetch`-style handler with `POST /v1/classify`,
 *   `POST /v1/tokens`, `POST /v1/answer`, `GET /health` and `GET /info`; request limits, a
 *   micro-batching queue per model, a per-request timeout, JSON errors.
 * - {@linkcode loadPipeline}: a Hugging Face folder (`config.json`, `*.safetensors`,
 *   `tokenizer.json`) from a path or URL; {@linkcode chooseBackend} picks WebGPU only where a
 *   hardware adapter exists.
 * - {@linkcode ServeTokenizer}: `tokenizer.json` through `@huggingface/tokenizers`, with the
 *   character offsets that entities and answers are reported in.
 *
 * Importing this module touches no WebGPU global, so it loads on Deno Deploy.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { withBackend } from "@denoformers/core";
 * import { BertConfig, BertForQuestionAnswering } from "@denoformers/models";
 * import { createInferenceHandler, createWordPieceTokenizerJson, ServeTokenizer } from "@denoformers/serve";
 *
 * const tokenizer = ServeTokenizer.fromJson(createWordPieceTokenizerJson(["who lives in paris ? alice ."]));
 * const config = new BertConfig({
 *   vocab_size: 40, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16,
 * });
 * const model = await withBackend("cpu", () => new BertForQuestionAnswering(config));
 * const handler = createInferenceHandler({ model, tokenizer, task: "question-answering" });
 * // Deno.serve(handler.fetch), or `export default handler` for `deno serve` and Deno Deploy.
 *
 * const res = await handler.fetch(new Request("http://localhost/v1/answer", {
 *   method: "POST",
 *   body: JSON.stringify({ question: "Who lives in Paris?", context: "Alice lives in Paris." }),
 * }));
 * const { answer, start, end } = await res.json();
 * assertEquals("Alice lives in Paris.".slice(start, end), answer);
 * ```
 *
 * @module
 */

export {
  createInferenceHandler,
  DEFAULT_LIMITS,
  type HandlerStats,
  type InferenceHandler,
  type InferenceHandlerOptions,
  type Limits,
} from "./handler.ts";
export {
  chooseBackend,
  loadPipeline,
  type LoadPipelineOptions,
  type Pipeline,
  type Task,
  taskOf,
  TASKS,
} from "./pipeline.ts";
export {
  type EncodeOptions,
  SequenceLengthError,
  ServeTokenizer,
  type TokenizedText,
} from "./tokenizer.ts";
export {
  createWordPieceTokenizerConfig,
  createWordPieceTokenizerJson,
  type WordPieceJsonOptions,
} from "./tokenizer_json.ts";
export type { AggregationStrategy, Answer, Entity, LabelScore } from "./_postprocess.ts";
