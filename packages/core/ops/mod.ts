/**
 * The op table: every primitive the engine runs, keyed by name. Adding an op means adding one
 * entry to a family file; the table's type then makes each backend and the op test cover it.
 *
 * @module
 */

import { ELEMENTWISE_OPS } from "./elementwise.ts";
import { FUSED_OPS } from "./fused.ts";
import { INDEX_OPS } from "./index.ts";
import { matmul } from "./matmul.ts";
import { cat } from "./concat.ts";
import { MOVEMENT_OPS } from "./movement.ts";
import { random } from "./random.ts";
import { REDUCE_OPS } from "./reduce.ts";

/** The op table. */
export const OPS = {
  ...ELEMENTWISE_OPS,
  ...REDUCE_OPS,
  ...MOVEMENT_OPS,
  ...INDEX_OPS,
  ...FUSED_OPS,
  matmul,
  random,
  cat,
} as const;

/** Names of every primitive. */
export type OpName = keyof typeof OPS;

/** The argument type of op `K`. */
export type OpArgs<K extends OpName> = (typeof OPS)[K] extends
  { infer(i: never, a: infer A): unknown } | { view(i: never, a: infer A): unknown } ? A : never;
