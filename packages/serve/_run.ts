/**
 * One forward pass over a batch of encodings: pad, build the tensors, run the model inside
 * `tidy` and `noGrad`, read the logits back, and dispose of everything.
 *
 * @module
 */

import { type BackendName, noGrad, type Tensor, tensor, tidy } from "@denoformers/core";
import type { Pipeline } from "./pipeline.ts";
import type { TokenizedText } from "./tokenizer.ts";

/** Logits of one encoding: `[num_labels]`, `[len, num_labels]` row-major, or start/end `[len]`. */
export type ItemLogits = { logits: Float32Array } | { start: Float32Array; end: Float32Array };

interface TaskOutput {
  logits?: Tensor;
  startLogits?: Tensor;
  endLogits?: Tensor;
}

type Callable = {
  call(ids: Tensor, options: { attentionMask: Tensor; tokenTypeIds?: Tensor }): TaskOutput;
};

/** The backend a model's parameters live on. */
export function backendOfModel(pipeline: Pipeline): BackendName {
  return pipeline.model.parameters()[0]?.backend ?? "cpu";
}

/** The id used for padding: the config's `pad_token_id`, else the tokenizer's. */
function padIdOf(pipeline: Pipeline): number {
  return pipeline.model.config.pad_token_id ?? pipeline.tokenizer.padTokenId;
}

/**
 * Builds the batch runner of a pipeline.
 *
 * @param pipeline The pipeline.
 * @returns A function from encodings to their logits.
 */
export function batchRunner(pipeline: Pipeline): (encs: TokenizedText[]) => Promise<ItemLogits[]> {
  const backend = backendOfModel(pipeline);
  const pad = padIdOf(pipeline);
  const typeVocab = pipeline.model.config.type_vocab_size;
  const useTypes = typeof typeVocab === "number" && typeVocab > 1;
  const model = pipeline.model as unknown as Callable;
  const qa = pipeline.task === "question-answering";
  return async (encs) => {
    const B = encs.length;
    const S = Math.max(...encs.map((e) => e.ids.length));
    const ids = new Int32Array(B * S).fill(pad);
    const mask = new Int32Array(B * S);
    const types = new Int32Array(B * S);
    encs.forEach((e, b) => {
      ids.set(e.ids, b * S);
      mask.fill(1, b * S, b * S + e.ids.length);
      types.set(e.typeIds, b * S);
    });
    const outputs = tidy(() =>
      noGrad(() => {
        const opts = { dtype: "int32" as const, backend, shape: [B, S] };
        const out = model.call(tensor(ids, opts), {
          attentionMask: tensor(mask, opts),
          ...(useTypes ? { tokenTypeIds: tensor(types, opts) } : {}),
        });
        return qa ? [out.startLogits!, out.endLogits!] : [out.logits!];
      })
    );
    const perToken = outputs[0].shape.length === 3;
    let data: Float32Array[];
    try {
      const read = await Promise.all(outputs.map((t) => t.data()));
      data = read.map((d) => (d instanceof Float32Array ? d : Float32Array.from(d)));
    } finally {
      for (const t of outputs) t.dispose();
    }
    return encs.map((e, b): ItemLogits => {
      const len = e.ids.length;
      if (qa) {
        return { start: data[0].slice(b * S, b * S + len), end: data[1].slice(b * S, b * S + len) };
      }
      const width = data[0].length / (perToken ? B * S : B);
      return perToken
        ? { logits: data[0].slice(b * S * width, (b * S + len) * width) }
        : { logits: data[0].slice(b * width, (b + 1) * width) };
    });
  };
}
