/**
 * Request helpers for the handler tests.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "@std/assert";
import type { InferenceHandler } from "../handler.ts";

/** A response read as JSON. */
export interface JsonResponse {
  /** HTTP status. */
  status: number;
  /** Parsed body (`null` for HEAD). */
  body: unknown;
  /** Headers. */
  headers: Headers;
}

/** `POST path` with a JSON (or raw string) body. */
export async function post(
  handler: InferenceHandler,
  path: string,
  body: unknown,
): Promise<JsonResponse> {
  const res = await handler.fetch(
    new Request(`http://localhost${path}`, {
      method: "POST",
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** `GET path` (or another method without a body). */
export async function get(
  handler: InferenceHandler,
  path: string,
  method = "GET",
): Promise<JsonResponse> {
  const res = await handler.fetch(new Request(`http://localhost${path}`, { method }));
  return {
    status: res.status,
    body: method === "HEAD" ? null : await res.json(),
    headers: res.headers,
  };
}

/** Asserts that the server still answers a valid request. */
export async function stillServes(handler: InferenceHandler): Promise<void> {
  const { status } = await post(handler, "/v1/classify", { inputs: "the movie was great" });
  assertEquals(status, 200);
}

/** Asserts a JSON error `{ error }` with `status`, a message matching `pattern`, no stack. */
export function assertError(
  res: { status: number; body: unknown },
  status: number,
  pattern: RegExp,
): void {
  assertEquals(res.status, status, JSON.stringify(res.body));
  const { error, ...rest } = res.body as Record<string, unknown>;
  assertEquals(Object.keys(rest), []);
  assertMatch(String(error), pattern);
  assert(!/\bat .*\.ts:\d+/.test(String(error)), "no stack trace");
}
