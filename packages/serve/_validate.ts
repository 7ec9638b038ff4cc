/**
 * Checking request bodies: shapes and types give 400, counts over the limits give 422.
 *
 * @module
 */

import { HttpError } from "./_http.ts";
import type { AggregationStrategy } from "./_postprocess.ts";

/** A parsed `POST /v1/classify` body. */
export interface ClassifyRequest {
  /** The texts. */
  inputs: string[];
  /** Whether `inputs` was one string (answer with one list, not a list of lists). */
  single: boolean;
  /** Labels per text (`null`: all). */
  topK: number | null;
}

/** A parsed `POST /v1/tokens` body. */
export interface TokensRequest {
  /** The texts. */
  inputs: string[];
  /** Whether `inputs` was one string. */
  single: boolean;
  /** How tokens are grouped. */
  aggregation: AggregationStrategy;
}

/** A parsed `POST /v1/answer` body. */
export interface AnswerRequest {
  /** The question. */
  question: string;
  /** The text holding the answer. */
  context: string;
  /** Answers to return. */
  topK: number;
  /** Longest answer, in tokens. */
  maxAnswerLen: number;
}

type Json = Record<string, unknown>;

const STRATEGIES: readonly AggregationStrategy[] = ["none", "simple", "first", "average", "max"];

const bad = (action: string, why: string) => new HttpError(400, `Cannot ${action}: ${why}`);

function object(body: unknown, action: string, example: string, allowed: string[]): Json {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw bad(action, `expected a JSON object like ${example}`);
  }
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw bad(
        action,
        `unknown field "${key}" (expected ${allowed.map((k) => `"${k}"`).join(", ")})`,
      );
    }
  }
  return body as Json;
}

function texts(value: unknown, action: string, maxInputs: number): [string[], boolean] {
  if (typeof value === "string") return [[value], true];
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    throw bad(action, `"inputs" must be a string or an array of strings`);
  }
  if (value.length > maxInputs) {
    throw new HttpError(
      422,
      `Cannot ${action}: ${value.length} inputs exceed the limit of ${maxInputs}`,
    );
  }
  return [value as string[], false];
}

function positiveInt(value: unknown, name: string, action: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw bad(action, `"${name}" must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function parameters(value: unknown, action: string, allowed: string[]): Json {
  if (value === undefined) return {};
  return object(value, action, `{"parameters": {"${allowed[0]}": …}}`, allowed);
}

/** Checks a `POST /v1/classify` body. */
export function parseClassify(body: unknown, maxInputs: number): ClassifyRequest {
  const action = "classify";
  const b = object(body, action, `{"inputs": "some text"}`, ["inputs", "parameters"]);
  const [inputs, single] = texts(b.inputs, action, maxInputs);
  const p = parameters(b.parameters, action, ["top_k"]);
  const topK = p.top_k === null ? null : positiveInt(p.top_k, "top_k", action, 1);
  return { inputs, single, topK };
}

/** Checks a `POST /v1/tokens` body. */
export function parseTokens(body: unknown, maxInputs: number): TokensRequest {
  const action = "classify tokens";
  const b = object(body, action, `{"inputs": "some text"}`, ["inputs", "parameters"]);
  const [inputs, single] = texts(b.inputs, action, maxInputs);
  const p = parameters(b.parameters, action, ["aggregation_strategy"]);
  const aggregation = p.aggregation_strategy ?? "none";
  if (!STRATEGIES.includes(aggregation as AggregationStrategy)) {
    throw bad(
      action,
      `"aggregation_strategy" must be one of ${STRATEGIES.map((s) => `"${s}"`).join(", ")}, got ${
        JSON.stringify(aggregation)
      }`,
    );
  }
  return { inputs, single, aggregation: aggregation as AggregationStrategy };
}

/** Checks a `POST /v1/answer` body (`{question, context}` or `{inputs: {question, context}}`). */
export function parseAnswer(body: unknown): AnswerRequest {
  const action = "answer";
  const example = `{"question": "…", "context": "…"}`;
  const b = object(body, action, example, ["question", "context", "inputs", "parameters"]);
  const pair = b.inputs === undefined
    ? b
    : object(b.inputs, action, example, ["question", "context"]);
  for (const key of ["question", "context"]) {
    if (typeof pair[key] !== "string" || (pair[key] as string).trim() === "") {
      throw bad(action, `"${key}" must be a non-empty string`);
    }
  }
  const p = parameters(b.parameters, action, ["top_k", "max_answer_len"]);
  return {
    question: pair.question as string,
    context: pair.context as string,
    topK: Math.min(positiveInt(p.top_k, "top_k", action, 1), 20),
    maxAnswerLen: positiveInt(p.max_answer_len, "max_answer_len", action, 15),
  };
}
