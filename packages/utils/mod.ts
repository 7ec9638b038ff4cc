/**
 * @denoformers/utils. This package is being built; see the project README for what it will hold.
 *
 * @module
 */
export {};
