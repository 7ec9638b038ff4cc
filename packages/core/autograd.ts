/**
 * Reverse-mode differentiation over the graph `apply` records. Gradients whose shape differs from
 * their input's (broadcasting) are summed back here, in one place, so no vjp deals with it.
 *
 * @module
 */

import { withGradMode } from "./grad_mode.ts";
import { keep, tidy } from "./memory.ts";
import { formatShape } from "./shape.ts";
import type { Tensor } from "./tensor.ts";

/** Options of {@linkcode backward}. */
export interface BackwardOptions {
  /** Keep the graph so backward can run through it again. @default {createGraph} */
  retainGraph?: boolean;
  /** Record the gradient computation itself, for higher-order gradients. @default {false} */
  createGraph?: boolean;
}

/** Options of {@linkcode grad}. */
export interface GradOptions extends BackwardOptions {
  /** Gradients of the outputs (required for outputs with more than one element). */
  gradOutputs?: readonly (Tensor | null)[];
  /** Return `null` for inputs the outputs do not depend on instead of throwing. @default {false} */
  allowUnused?: boolean;
  /**
   * Treat the inputs as leaves: do not back-propagate through them to tensors further up, even
   * when those are inputs too (custom vjps such as checkpointing need this, since the outer
   * backward carries each input's gradient onwards). @default {false}
   */
  stopAtInputs?: boolean;
}

/** Sums a gradient over the dimensions broadcasting added or stretched, back to `shape`. */
function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (formatShape(g.shape) === formatShape(shape)) return g;
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    // Summing over a dimension of size 1 changes nothing; leave those to the reshape.
    if (g.shape[i] !== 1 && (i < lead || shape[i - lead] === 1)) axes.push(i);
  }
  return (axes.length ? g.sum(axes, { keepdim: true }) : g).reshape(shape);
}

/** Adds `g` into a leaf's `.grad`; `exclusive` says nothing else references `g`. */
function accumulateLeaf(t: Tensor, g: Tensor, exclusive: boolean, owned: Set<Tensor>): void {
  if (!t.grad) {
    t.grad = keep(exclusive ? g : g.clone());
    owned.add(t.grad);
    return;
  }
  const old = t.grad;
  t.grad = keep(old.add(g));
  old.dispose();
}

function topoOrder(roots: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, boolean][] = roots.map((r) => [r, false]);
  while (stack.length) {
    const [t, done] = stack.pop()!;
    if (done) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    for (const x of t.node?.inputs ?? []) {
      if (x.requiresGrad && !seen.has(x)) stack.push([x, false]);
    }
  }
  return order.reverse();
}

/** The tensors of `order` (a topological order) from which some target can be reached. */
function nodesReaching(order: readonly Tensor[], targets: ReadonlySet<Tensor>): Set<Tensor> {
  const reach = new Set<Tensor>();
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    if (targets.has(t) || (t.node?.inputs ?? []).some((x) => reach.has(x))) reach.add(t);
  }
  return reach;
}

function rootGradient(root: Tensor, given: Tensor | null | undefined): Tensor {
  if (given) {
    if (formatShape(given.shape) !== formatShape(root.shape)) {
      throw new RangeError(
        `Cannot backward: gradient shape ${formatShape(given.shape)} does not match output shape ${
          formatShape(root.shape)
        }`,
      );
    }
    return given;
  }
  if (root.size !== 1) {
    throw new RangeError(
      `Cannot backward from a tensor of shape ${
        formatShape(root.shape)
      } without a gradient: pass one of the same shape`,
    );
  }
  return root.onesLike();
}

/**
 * Runs the reverse pass. Returns the gradient reaching each tensor in `targets`; when `accumulate`
 * is set, adds the gradient of every leaf into its `.grad`.
 */
function run(
  roots: readonly Tensor[],
  rootGrads: readonly Tensor[],
  targets: ReadonlySet<Tensor>,
  accumulate: boolean,
  { createGraph = false, retainGraph = createGraph, stopAtInputs = false }: GradOptions,
): Map<Tensor, Tensor> {
  for (const r of roots) {
    if (!r.requiresGrad) {
      throw new Error(
        `Cannot backward from tensor of shape ${
          formatShape(r.shape)
        }: it does not require grad and has no graph`,
      );
    }
  }
  const grads = new Map<Tensor, Tensor>();
  const refs = new Map<Tensor, number>();
  const owned = new Set<Tensor>();
  const result = new Map<Tensor, Tensor>();
  const hold = (t: Tensor, g: Tensor) => {
    grads.set(t, g);
    refs.set(g, (refs.get(g) ?? 0) + 1);
  };
  const drop = (g: Tensor) => {
    const n = (refs.get(g) ?? 1) - 1;
    refs.set(g, n);
    if (n === 0 && !createGraph && !owned.has(g) && !rootGrads.includes(g)) g.dispose();
  };
  roots.forEach((r, i) => {
    const prev = grads.get(r);
    if (prev) {
      const sum = prev.add(rootGrads[i]);
      drop(prev);
      hold(r, sum);
    } else hold(r, rootGrads[i]);
  });
  const order = topoOrder(roots);
  // grad() only walks nodes on a path to one of its inputs, as PyTorch does; the rest of the
  // graph (for example beyond the inputs) is neither visited nor freed.
  const needed = accumulate ? null : nodesReaching(order, targets);
  withGradMode(createGraph, () => {
    for (const t of order) {
      if (needed && !needed.has(t)) continue;
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (targets.has(t)) {
        owned.add(g);
        result.set(t, g);
        if (stopAtInputs) continue;
      }
      const node = t.node;
      if (!node) {
        if (accumulate) {
          accumulateLeaf(
            t,
            g,
            (refs.get(g) ?? 0) === 1 && !rootGrads.includes(g) && !owned.has(g),
            owned,
          );
        }
        drop(g);
        continue;
      }
      if (node.released) {
        throw new Error(
          `Cannot backward through op "${node.op.name}" a second time: its graph was freed; pass { retainGraph: true } to the first backward`,
        );
      }
      for (const x of node.inputs) {
        if (x.isDisposed) {
          throw new Error(
            `Cannot compute the gradient of op "${node.op.name}": its input of shape ${
              formatShape(x.shape)
            } was disposed before backward (call backward inside the same tidy)`,
          );
        }
      }
      const needs = node.inputs.map((x) => x.requiresGrad);
      const compute = () =>
        node.op.vjp!(g, t, node.inputs, node.args, needs).map((gi, i) =>
          gi && needs[i] ? sumToShape(gi, node.inputs[i].shape).cast(node.inputs[i].dtype) : null
        );
      const gs = createGraph ? compute() : tidy(compute);
      gs.forEach((gi, i) => {
        if (!gi) return;
        const x = node.inputs[i];
        const prev = grads.get(x);
        if (!prev) return hold(x, gi);
        const sum = prev.add(gi);
        drop(prev);
        // gi may alias a gradient still held (a vjp can pass g through); only a fresh one is freed.
        if (!createGraph && !((refs.get(gi) ?? 0) > 0) && !owned.has(gi)) gi.dispose();
        hold(x, sum);
      });
      drop(g);
      if (!retainGraph) {
        node.released = true;
        node.inputs = [];
      }
    }
  });
  return result;
}

/**
 * Back-propagates from `root`, adding gradients into `.grad` of every leaf that requires grad.
 *
 * @param root The output (usually a scalar loss).
 * @param gradient Its gradient (defaults to 1 for one-element outputs).
 * @param options Graph retention options.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 *
 * const x = tensor([1, 2, 3], { requiresGrad: true, backend: "cpu" });
 * x.mul(x).sum().backward();
 * assertEquals(await x.grad!.toArray(), [2, 4, 6]);
 * ```
 */
export function backward(root: Tensor, gradient?: Tensor, options: BackwardOptions = {}): void {
  run([root], [rootGradient(root, gradient)], new Set(), true, options);
}

/**
 * Gradients of `outputs` with respect to `inputs`, without touching `.grad` (`torch.autograd.grad`).
 *
 * @param outputs One output or several.
 * @param inputs The tensors to differentiate with respect to.
 * @param options Output gradients and graph options.
 * @returns One gradient per input (`null` for unused inputs when `allowUnused` is set).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { grad, tensor } from "@denoformers/core";
 *
 * const x = tensor([3], { requiresGrad: true, backend: "cpu" });
 * const [dx] = grad(x.mul(x).sum(), [x]);
 * assertEquals(await dx!.toArray(), [6]);
 * ```
 */
export function grad(
  outputs: Tensor | readonly Tensor[],
  inputs: readonly Tensor[],
  options: GradOptions = {},
): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs as readonly Tensor[] : [outputs as Tensor];
  const seeds = outs.map((o, i) => rootGradient(o, options.gradOutputs?.[i]));
  const found = run(outs, seeds, new Set(inputs), false, options);
  return inputs.map((x) => {
    const g = found.get(x);
    if (g) return g;
    if (options.allowUnused) return null;
    throw new Error(
      `Cannot compute gradient for input of shape ${
        formatShape(x.shape)
      }: the outputs do not depend on it (pass { allowUnused: true })`,
    );
  });
}

/**
 * Gives `output` a custom gradient rule: backward calls `vjp(g, needs)`, which returns one
 * gradient (or `null`) per entry of `inputs`. This is the hook for autograd extensions such as
 * gradient checkpointing (like a `torch.autograd.Function`). Outputs created under `noGrad` can
 * be given a rule afterwards.
 *
 * @param output The tensor that gets the rule (it becomes part of the graph).
 * @param inputs The tensors the rule returns gradients for.
 * @param vjp The rule.
 * @param name A name for error messages.
 * @returns `output`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { attachVjp, noGrad, tensor } from "@denoformers/core";
 *
 * const x = tensor([1, 2], { requiresGrad: true, backend: "cpu" });
 * // y = 3x computed without a graph, with its gradient supplied by hand.
 * const y = attachVjp(noGrad(() => x.mul(3)), [x], (g) => [g.mul(3)], "triple");
 * y.sum().backward();
 * assertEquals(await x.grad!.toArray(), [3, 3]);
 * ```
 */
export function attachVjp(
  output: Tensor,
  inputs: readonly Tensor[],
  vjp: (g: Tensor, needs: readonly boolean[]) => (Tensor | null)[],
  name = "custom",
): Tensor {
  if (!inputs.some((x) => x.requiresGrad)) return output;
  output.requiresGrad = true;
  output.node = {
    op: {
      kind: "view",
      name,
      view: () => ({ shape: [], strides: [], offset: 0 }),
      vjp: (g, _o, _i, _a, needs) => vjp(g, needs),
    },
    inputs: [...inputs],
    args: undefined,
    released: false,
  };
  return output;
}
