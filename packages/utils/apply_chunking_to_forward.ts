/**
 * Running a function in chunks along one dimension (Hugging Face `apply_chunking_to_forward`).
 *
 * @module
 */

import { cat, isGradEnabled, type Tensor, tidy } from "@denoformers/core";

/**
 * Splits every input into `size / chunkSize` equal pieces along `chunkDim`, calls `forwardFn` on
 * the i-th pieces, and concatenates the results along `chunkDim`; with `chunkSize <= 0` it is a
 * plain call. The result equals the unchunked call when `forwardFn` treats positions along
 * `chunkDim` independently (a feed-forward block over the sequence dimension). Gradients flow
 * through the chunks; without gradient recording each chunk's intermediates are freed before
 * the next chunk runs, so peak memory holds one chunk's intermediates instead of all of them.
 *
 * `forwardFn.length` must equal the number of inputs (functions with only rest parameters report
 * length 0 and are not checked).
 *
 * @param forwardFn The function to chunk.
 * @param chunkSize Chunk length (`<= 0`: no chunking).
 * @param chunkDim The dimension to chunk.
 * @param inputs The input tensors.
 * @returns The (concatenated) output.
 * @throws {RangeError} With Hugging Face's checks (argument count, sizes, divisibility).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { arange, type Tensor } from "@denoformers/core";
 * import { applyChunkingToForward } from "@denoformers/utils";
 *
 * const x = arange(0, 8, 1, { dtype: "float32", backend: "cpu" }).reshape([1, 8, 1]);
 * const y = applyChunkingToForward((h: Tensor) => h.mul(2), 2, 1, x);
 * assertEquals(await y.toArray(), await x.mul(2).toArray());
 * ```
 */
export function applyChunkingToForward(
  forwardFn: (...chunks: Tensor[]) => Tensor,
  chunkSize: number,
  chunkDim: number,
  ...inputs: Tensor[]
): Tensor {
  if (inputs.length === 0) {
    throw new RangeError("Cannot apply chunking to forward: no input tensors were given");
  }
  const expected = forwardFn.length;
  if (expected !== 0 && expected !== inputs.length) {
    throw new RangeError(
      `Cannot apply chunking to forward: forward_chunk_fn expects ${expected} arguments, but only ${inputs.length} input tensors are given`,
    );
  }
  if (chunkSize <= 0) return forwardFn(...inputs);
  const dim = chunkDim < 0 ? chunkDim + inputs[0].ndim : chunkDim;
  const size = inputs[0].shape[dim];
  for (const x of inputs) {
    if (x.shape[dim] !== size) {
      throw new RangeError(
        `Cannot apply chunking to forward: all input tensors have to be of the same shape: ${size}, found shape ${
          x.shape[dim]
        }`,
      );
    }
  }
  if (size % chunkSize !== 0) {
    throw new RangeError(
      `Cannot apply chunking to forward: the dimension to be chunked ${size} has to be a multiple of the chunk size ${chunkSize}`,
    );
  }
  const numChunks = size / chunkSize;
  const pieces = inputs.map((x) => x.chunk(numChunks, dim));
  // Without a graph, each chunk's intermediates are dead once its output exists.
  const run = (i: number) => forwardFn(...pieces.map((p) => p[i]));
  const outputs = Array.from(
    { length: numChunks },
    (_, i) => (isGradEnabled() ? run(i) : tidy(() => run(i))),
  );
  const out = cat(outputs, dim);
  if (!isGradEnabled()) { for (const o of outputs) if (o !== out) o.dispose(); }
  return out;
}
