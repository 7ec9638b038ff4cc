/**
 * Tensors with reverse-mode autograd on a CPU reference backend and a WebGPU backend.
 *
 * Ops return at once; only reads (`await t.data()`, `toArray()`, `item()`) wait. Memory is
 * explicit (`tidy`, `dispose`, `using`) and measured (`memory()`), random draws are
 * counter-based and identical on every backend.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { tensor, tidy } from "@denoformers/core";
 *
 * const w = tensor([0.5, -1], { requiresGrad: true, backend: "cpu" });
 * const x = tensor([2, 3], { backend: "cpu" });
 * tidy(() => w.mul(x).sum().backward());
 * assertAlmostEquals((await w.grad!.toArray() as number[])[1], 3);
 * ```
 *
 * @module
 */

export { type NestedArray, type ReduceOptions, Tensor } from "./tensor.ts";
export {
  arange,
  type CreateOptions,
  eye,
  full,
  ones,
  onesLike,
  rand,
  randn,
  tensor,
  zeros,
  zerosLike,
} from "./creation.ts";
export { cat, layerNorm, matmul, type NormOptions, rmsNorm, stack, where } from "./functional.ts";
export { attachVjp, backward, type BackwardOptions, grad, type GradOptions } from "./autograd.ts";
export { type OpTrace, traceOps } from "./trace.ts";
export { isGradEnabled, noGrad, withGradMode } from "./grad_mode.ts";
export { type Disposable, keep, type MemoryInfo, resetPeakMemory, tidy } from "./memory.ts";
export { getRngState, manualSeed, type RngState, setRngState } from "./rng.ts";
export { availableBackends, getBackend, setBackend } from "./backends/registry.ts";
export { getAdapter } from "./backends/webgpu/webgpu.ts";
export {
  type CpuKernelCounts,
  cpuKernelCounts,
  type CpuKernelOptions,
  getCpuKernels,
  setCpuKernels,
} from "./backends/cpu_kernels.ts";
export {
  type CpuThreadsInfo,
  type CpuThreadsOptions,
  cpuThreadsSupported,
  getCpuThreads,
  MAX_CPU_THREADS,
  setCpuThreads,
  shutdownCpuThreads,
} from "./wasm/thread_pool.ts";
export { blasAvailable, type BlasInfo, blasInfo, setBlasThreads } from "./backends/blas_ffi.ts";
export type { BackendName } from "./backends/backend.ts";
export type { DType, DTypeArrayMap, TypedArray } from "./dtype.ts";
export type { PadArgs } from "./ops/movement.ts";
export { DeviceLostError, DTypeError, ShapeError, UnsupportedOpError } from "./errors.ts";
export { memory } from "./memory_api.ts";
export {
  type ForwardHook,
  type ForwardPreHook,
  type ForwardWrapper,
  type HookHandle,
  isParameter,
  type LoadReport,
  type LoadStateDictOptions,
  Module,
  nonPersistent,
  parameter,
} from "./nn/module.ts";
export { type LayerOptions, Linear, uniform } from "./nn/linear.ts";
export { Embedding } from "./nn/embedding.ts";
export { LayerNorm, RMSNorm } from "./nn/norm.ts";
export { Dropout } from "./nn/dropout.ts";
export { ACT2FN, type Activation, getActivation } from "./nn/activations.ts";
export { fill_, initWeights, normal_ } from "./nn/init.ts";
export { PretrainedConfig, type ProblemType } from "./registry/config.ts";
export {
  defaultRegistry,
  type HeadFactory,
  type ModelPlugin,
  ModelRegistry,
  type TaskName,
} from "./registry/registry.ts";
export {
  type FromPretrainedOptions,
  type LoadingInfo,
  PreTrainedModel,
} from "./registry/pretrained_model.ts";
export {
  autoClass,
  AutoConfig,
  AutoModel,
  type AutoModelClass,
  type RegistryOptions,
} from "./registry/auto.ts";
export { withBackend } from "./backends/registry.ts";
export {
  bceWithLogits,
  type BceWithLogitsOptions,
  causalLmLoss,
  type CausalLmLossOptions,
  crossEntropy,
  type CrossEntropyOptions,
  mseLoss,
  type MseLossOptions,
  nllLoss,
  type NllLossOptions,
  type Reduction,
  shiftLabels,
} from "./nn/losses.ts";
export {
  type BaseOptimizerOptions,
  Optimizer,
  type OptimizerStateDict,
  type ParamGroup,
  type Params,
  type ParamState,
  type SavedTensor,
  type ZeroGradOptions,
} from "./optim/optimizer.ts";
export { SGD, type SGDOptions } from "./optim/sgd.ts";
export { AdamW, type AdamWOptions } from "./optim/adamw.ts";
export { clipGradNorm, type ClipGradNormOptions, clipGradValue } from "./optim/clip_grad.ts";
export {
  constantSchedule,
  constantScheduleWithWarmup,
  type CosineScheduleOptions,
  cosineScheduleWithWarmup,
  type DecayScheduleOptions,
  LambdaLR,
  linearScheduleWithWarmup,
  type LrLambda,
  LRScheduler,
  type ScheduleOptions,
  type SchedulerStateDict,
} from "./optim/schedules.ts";
export {
  decodeTensor,
  parseSafetensors,
  parseSafetensorsHeader,
  type RawTensor,
  type ReadOptions,
  SAFETENSORS_DTYPE_SIZES,
  type SafetensorsDType,
  type SafetensorsEntry,
  SafetensorsError,
  type SafetensorsHeader,
  serializeSafetensors,
} from "./io/safetensors.ts";
export { loadSafetensors, SafetensorsFile, saveSafetensors } from "./io/safetensors_file.ts";
