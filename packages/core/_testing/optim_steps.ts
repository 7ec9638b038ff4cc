// Test helper shared by the optimizer tests: run an optimizer over a fixed gradient sequence.
import { tensor } from "../creation.ts";
import type { Tensor } from "../tensor.ts";

/** What the helper needs of an optimizer. */
interface Stepper {
  step(): void;
  dispose(): void;
}

/**
 * Replaces a parameter's gradient (disposing the old one).
 *
 * @param p The parameter.
 * @param values The new gradient.
 */
export function setGrad(p: Tensor, values: number[]): void {
  p.grad?.dispose();
  p.grad = tensor(values);
}

/**
 * Starts a parameter at `p0`, and for each gradient in `grads` sets it as `.grad` and steps.
 *
 * @param make Builds the optimizer over the parameter.
 * @param p0 The parameter's starting values.
 * @param grads One gradient per step.
 * @returns The parameter's values after each step.
 */
export async function runSteps(
  make: (params: Tensor[]) => Stepper,
  p0: number[],
  grads: number[][],
): Promise<number[][]> {
  const p = tensor(p0, { requiresGrad: true });
  const opt = make([p]);
  const out: number[][] = [];
  for (const g of grads) {
    setGrad(p, g);
    opt.step();
    out.push(Array.from(await p.data()));
  }
  opt.dispose();
  return out;
}
