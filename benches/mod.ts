/**
 * Benchmarks (`deno task bench`); not published.
 *
 * @module
 */
export {};
