/**
 * The WebGPU backend: a buffer pool, a pipeline cache keyed by program key, many dispatches per
 * command encoder, and readback only when a tensor is read. It touches WebGPU globals only when
 * {@linkcode createWebGpuBackend} is called, never at import.
 *
 * @module
 */

import type { DType, TypedArray } from "../../dtype.ts";
import { allocArray } from "../../dtype.ts";
import { DeviceLostError, UnsupportedOpError } from "../../errors.ts";
import { INDEX_ERROR_OPS, indexRangeError } from "../../ops/index.ts";
import type { KernelOpDef, TensorMeta } from "../../ops/op_def.ts";
import type { WgslProgram } from "../../ops/wgsl_program.ts";
import { sizeOf } from "../../shape.ts";
import type { Backend, BackendView } from "../backend.ts";
import { BufferPool } from "./buffer_pool.ts";

/** A tensor buffer on the GPU. */
interface GpuHandle {
  buffer: GPUBuffer;
  bytes: number;
}

/** Dispatches recorded before the encoder is submitted without a read. */
const MAX_PENDING_DISPATCHES = 128;

/**
 * Requests an adapter, or `null` when the platform has none (no `navigator.gpu`, no driver).
 *
 * @returns The adapter or `null`.
 *
 * @example Usage
 * ```ts
 * import { getAdapter } from "./webgpu.ts";
 *
 * const adapter = await getAdapter();
 * console.log(adapter === null ? "no WebGPU here" : "WebGPU available");
 * ```
 */
export async function getAdapter(): Promise<GPUAdapter | null> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (!nav?.gpu || webgpuDisabledByEnv()) return null;
  try {
    return await nav.gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch {
    return null;
  }
}

/**
 * Whether `DENOFORMERS_WEBGPU=0` asks for a CPU-only run (as on Deno Deploy). Reads the variable only
 * where env access is already granted, so it never prompts.
 */
function webgpuDisabledByEnv(): boolean {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (!deno?.permissions?.querySync || !deno.env) return false;
  const name = "DENOFORMERS_WEBGPU";
  if (deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") return false;
  return deno.env.get(name) === "0";
}

/**
 * Creates the WebGPU backend, or returns `null` when no adapter exists.
 *
 * @returns The backend or `null`.
 *
 * @example Usage
 * ```ts
 * import { createWebGpuBackend } from "./webgpu.ts";
 *
 * const gpu = await createWebGpuBackend();
 * gpu?.destroy();
 * ```
 */
export async function createWebGpuBackend(): Promise<WebGpuBackend | null> {
  const adapter = await getAdapter();
  if (!adapter) return null;
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: adapter.features.has("shader-f16") ? ["shader-f16"] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    },
  });
  return new WebGpuBackend(device);
}

/** The WebGPU backend. */
export class WebGpuBackend implements Backend {
  /** The backend's name. */
  readonly name = "webgpu" as const;
  /** The device. */
  readonly device: GPUDevice;
  #storage: BufferPool;
  #uniforms: BufferPool;
  #staging: BufferPool;
  #pipelines = new Map<string, GPUComputePipeline>();
  #layouts = new Map<string, GPUBindGroupLayout>();
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #pending = 0;
  #errors: GPUBuffer;
  #lost: string | null = null;
  #validation: string | null = null;
  #submits = 0;

  /**
   * Wraps a device.
   *
   * @param device The device.
   */
  constructor(device: GPUDevice) {
    this.device = device;
    const S = GPUBufferUsage;
    this.#storage = new BufferPool(device, S.STORAGE | S.COPY_SRC | S.COPY_DST);
    this.#uniforms = new BufferPool(device, S.UNIFORM | S.COPY_DST);
    this.#staging = new BufferPool(device, S.MAP_READ | S.COPY_DST, 64 * 2 ** 20);
    this.#errors = device.createBuffer({ size: 16, usage: S.STORAGE | S.COPY_SRC | S.COPY_DST });
    // Deno before 2.6 exposes no `device.lost` promise; loss is then seen only through errors.
    (device.lost as Promise<GPUDeviceLostInfo> | undefined)?.then((info) => {
      this.#lost = info.message || info.reason || "unknown";
    });
    device.addEventListener("uncapturederror", (e) => {
      this.#validation ??= (e as GPUUncapturedErrorEvent).error.message;
    });
  }

  #check(): void {
    if (this.#lost !== null) throw new DeviceLostError(this.#lost);
  }

  /**
   * Bytes per element (bool is stored as u32, float16 as f16).
   *
   * @param dtype The dtype.
   * @returns 2 for float16, else 4.
   */
  bytesPerElement(dtype: DType): number {
    return dtype === "float16" ? 2 : 4;
  }

  /**
   * Allocates a storage buffer.
   *
   * @param dtype The dtype.
   * @param length Element count.
   * @param op The op allocating, for error messages.
   * @returns The handle.
   */
  alloc(dtype: DType, length: number, op = "alloc"): GpuHandle {
    this.#check();
    if (dtype === "float16" && !this.device.features.has("shader-f16")) {
      throw new UnsupportedOpError(op, dtype, "webgpu (the adapter lacks shader-f16)");
    }
    if (dtype === "float64") throw new UnsupportedOpError(op, dtype, "webgpu");
    const bytes = length * this.bytesPerElement(dtype);
    const limit = this.device.limits.maxStorageBufferBindingSize;
    if (bytes > limit) {
      throw new RangeError(
        `Cannot ${op}: a ${dtype} tensor of ${length} elements needs ${bytes} bytes, more than the device's maxStorageBufferBindingSize (${limit}) on webgpu`,
      );
    }
    return { buffer: this.#storage.acquire(bytes), bytes };
  }

  /**
   * Uploads host data.
   *
   * @param handle The destination.
   * @param dtype Its dtype.
   * @param data The values.
   */
  write(handle: unknown, dtype: DType, data: TypedArray): void {
    this.#check();
    const src = dtype === "bool" ? Uint32Array.from(data as Uint8Array) : data;
    if (src.byteLength === 0) return;
    // writeBuffer needs a multiple of 4 bytes; half-precision data may end on a 2-byte boundary.
    const bytes = new Uint8Array(Math.ceil(src.byteLength / 4) * 4);
    bytes.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
    this.device.queue.writeBuffer((handle as GpuHandle).buffer, 0, bytes);
  }

  /**
   * Releases a buffer back to the pool.
   *
   * @param handle The buffer.
   */
  free(handle: unknown): void {
    this.#storage.release((handle as GpuHandle).buffer);
  }

  #pipeline(p: WgslProgram, inputs: number): GPUComputePipeline {
    const key = `${inputs}|${p.key}`;
    let pipe = this.#pipelines.get(key);
    if (!pipe) {
      const source = p.code();
      const code = /\bf16\b/.test(source) ? `enable f16;\n${source}` : source;
      const module = this.device.createShaderModule({ code, label: p.key });
      pipe = this.device.createComputePipeline({
        layout: this.device.createPipelineLayout({
          bindGroupLayouts: [this.#layout(inputs, !!p.reportsErrors)],
        }),
        compute: { module, entryPoint: "main" },
        label: p.key,
      });
      this.#pipelines.set(key, pipe);
    }
    return pipe;
  }

  #layout(inputs: number, errors: boolean): GPUBindGroupLayout {
    const key = `${inputs}|${errors}`;
    let layout = this.#layouts.get(key);
    if (!layout) {
      const C = GPUShaderStage.COMPUTE;
      const entries: GPUBindGroupLayoutEntry[] = [];
      for (let i = 0; i < inputs; i++) {
        entries.push({ binding: i, visibility: C, buffer: { type: "read-only-storage" } });
      }
      entries.push({ binding: inputs, visibility: C, buffer: { type: "storage" } });
      entries.push({ binding: inputs + 1, visibility: C, buffer: { type: "uniform" } });
      if (errors) entries.push({ binding: inputs + 2, visibility: C, buffer: { type: "storage" } });
      layout = this.device.createBindGroupLayout({ entries });
      this.#layouts.set(key, layout);
    }
    return layout;
  }

  /**
   * Records the op's program(s) into the open command encoder.
   *
   * @param op The op.
   * @param inputs Input views.
   * @param out Output handle.
   * @param outMeta Output shape and dtype.
   * @param args Op arguments.
   */
  run(
    op: KernelOpDef<unknown>,
    inputs: readonly BackendView[],
    out: unknown,
    outMeta: TensorMeta,
    args: unknown,
  ): void {
    this.#check();
    if (!op.wgsl) throw new Error(`Cannot run op "${op.name}" on webgpu: it has no WGSL kernel`);
    if (sizeOf(outMeta.shape) === 0) return;
    const made = op.wgsl(inputs, outMeta, args);
    const programs: readonly WgslProgram[] = Array.isArray(made) ? made : [made as WgslProgram];
    const pipes = programs.map((p) => this.#pipeline(p, inputs.length));
    this.#encoder ??= this.device.createCommandEncoder();
    this.#pass ??= this.#encoder.beginComputePass();
    programs.forEach((p, k) => {
      const uniform = this.#uniforms.acquire(p.uniforms.byteLength);
      this.device.queue.writeBuffer(uniform, 0, p.uniforms as Uint32Array<ArrayBuffer>);
      this.#uniforms.release(uniform);
      const entries: GPUBindGroupEntry[] = inputs.map((x, i) => ({
        binding: i,
        resource: { buffer: (x.handle as GpuHandle).buffer },
      }));
      entries.push({ binding: inputs.length, resource: { buffer: (out as GpuHandle).buffer } });
      entries.push({ binding: inputs.length + 1, resource: { buffer: uniform } });
      if (p.reportsErrors) {
        entries.push({ binding: inputs.length + 2, resource: { buffer: this.#errors } });
      }
      const group = this.device.createBindGroup({
        layout: this.#layout(inputs.length, !!p.reportsErrors),
        entries,
      });
      this.#pass!.setPipeline(pipes[k]);
      this.#pass!.setBindGroup(0, group);
      this.#pass!.dispatchWorkgroups(...p.workgroups);
    });
    if (++this.#pending >= MAX_PENDING_DISPATCHES) this.flush();
  }

  /** Submits recorded work without waiting for it. */
  flush(): void {
    if (!this.#encoder) return;
    this.#pass?.end();
    this.device.queue.submit([this.#encoder.finish()]);
    this.#submits++;
    this.#encoder = null;
    this.#pass = null;
    this.#pending = 0;
    this.#storage.submitted();
    this.#uniforms.submitted();
  }

  /**
   * Reads a range back, also collecting any bad index a kernel reported since the last read.
   *
   * @param handle The buffer.
   * @param dtype Its dtype.
   * @param offset First element.
   * @param length Element count.
   * @returns The values.
   */
  async read(handle: unknown, dtype: DType, offset: number, length: number): Promise<TypedArray> {
    this.#check();
    const size = this.bytesPerElement(dtype);
    // Buffer copies need 4-byte aligned offsets and sizes; half-precision ranges may not be.
    const start = Math.floor((offset * size) / 4) * 4;
    const end = Math.ceil(((offset + length) * size) / 4) * 4;
    const bytes = end - start;
    const staging = this.#staging.acquire(bytes + 16);
    this.#encoder ??= this.device.createCommandEncoder();
    this.#pass?.end();
    this.#pass = null;
    if (bytes > 0) {
      this.#encoder.copyBufferToBuffer((handle as GpuHandle).buffer, start, staging, 0, bytes);
    }
    this.#encoder.copyBufferToBuffer(this.#errors, 0, staging, bytes, 16);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      this.#check();
      throw e;
    }
    const raw = staging.getMappedRange(0, bytes + 16).slice(0);
    staging.unmap();
    // Reusing mapped-read buffers avoids a fresh allocation (and page faults) per read.
    this.#staging.release(staging);
    this.#staging.submitted();
    this.#check();
    if (this.#validation !== null) {
      const message = this.#validation;
      this.#validation = null;
      throw new Error(`Cannot complete WebGPU work: the device reported "${message}"`);
    }
    const errs = new Int32Array(raw, bytes, 4);
    if (errs[0] !== 0) {
      this.device.queue.writeBuffer(this.#errors, 0, new Uint32Array(4));
      throw indexRangeError(INDEX_ERROR_OPS[errs[0]] ?? "index", errs[1], errs[2] >>> 0);
    }
    const first = offset * size - start;
    if (dtype === "bool") return Uint8Array.from(new Uint32Array(raw, first, length));
    if (dtype === "float16") return new Float16Array(raw, first, length).slice();
    const out = allocArray(dtype, length);
    out.set(
      dtype === "int32" ? new Int32Array(raw, first, length) : new Float32Array(raw, first, length),
    );
    return out;
  }

  /** Counters for tests and tuning: compiled pipelines and queue submits so far. */
  get stats(): { pipelines: number; submits: number } {
    return { pipelines: this.#pipelines.size, submits: this.#submits };
  }

  /** Waits until the queue is idle. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
  }

  /** Destroys the device and every pooled buffer. */
  destroy(): void {
    this.flush();
    this.#storage.clear();
    this.#uniforms.clear();
    this.#staging.clear();
    this.device.destroy();
  }
}
