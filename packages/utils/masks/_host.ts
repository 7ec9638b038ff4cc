/**
 * Host-side views of small index and mask tensors.
 *
 * Hugging Face decides whether a mask can be skipped by reading the padding mask on the host
 * (`padding_mask.all()`). Model code here is synchronous, and only the CPU backend can be read
 * synchronously, so these helpers return `null` for a tensor whose values cannot be had without an
 * await; callers then take the conservative branch (build the mask explicitly, which is always
 * correct). A tensor moved here from the CPU to another backend keeps a host copy of its values,
 * so a mask given on the CPU keeps exact skip decisions even when the model runs on WebGPU.
 *
 * @module
 */

import { type BackendName, type Tensor, tensor } from "@denoformers/core";

type HostArray = Float32Array | Float64Array | Float16Array | Int32Array | Uint8Array;

// Values of tensors this module uploaded from the host; they are never written in place.
const shadows = new WeakMap<Tensor, HostArray>();

/**
 * The row-major values of `t`, when they can be had synchronously.
 *
 * @param t The tensor.
 * @returns Its values, or `null` when reading them would need an await.
 */
export function hostValues(t: Tensor): HostArray | null {
  const shadow = shadows.get(t);
  if (shadow) return shadow;
  return t.backend === "cpu" ? t.dataSync() : null;
}

/**
 * `t` on `backend`, copied synchronously from the CPU when it lives there.
 *
 * @param t The tensor.
 * @param backend The target backend (`undefined` keeps `t` where it is).
 * @param what What the tensor is, for the error message.
 * @returns `t` itself, or a copy on `backend` that remembers its host values.
 * @throws {Error} When `t` lives on another non-CPU backend (moving it would need an await).
 */
export function moveTo(t: Tensor, backend: BackendName | undefined, what: string): Tensor {
  if (backend === undefined || t.backend === backend) return t;
  if (t.backend !== "cpu") {
    throw new Error(
      `Cannot move the ${what} to backend "${backend}": it is on "${t.backend}", and only CPU tensors can be moved synchronously`,
    );
  }
  const values = t.dataSync();
  const moved = tensor(values, { shape: t.shape, backend });
  shadows.set(moved, values);
  return moved;
}
