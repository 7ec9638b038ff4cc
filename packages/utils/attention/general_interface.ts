/**
 * `GeneralInterface`: a two-layer registry of named implementations, with one class-wide global
 * layer per subclass and one local layer per instance (Hugging Face `GeneralInterface`).
 *
 * @module
 */

// Global layers are keyed by the subclass's constructor, so sibling subclasses never share one,
// whether or not they remember to declare a static field of their own.
const GLOBALS = new WeakMap<object, Map<string, unknown>>();

/** The global layers visible from `ctor`: its own first, then its ancestors' (nearest first). */
function globalLayers(ctor: object): Map<string, unknown>[] {
  const layers: Map<string, unknown>[] = [];
  for (let c: object | null = ctor; c && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    const layer = GLOBALS.get(c);
    if (layer) layers.push(layer);
  }
  return layers;
}

function quoted(keys: readonly string[]): string {
  return keys.length === 0 ? "none" : keys.map((k) => `"${k}"`).join(", ");
}

/**
 * A mapping from names to implementations with two layers: a **global** layer shared by every
 * instance of a subclass (written by the static {@linkcode GeneralInterface.register}), and a
 * **local** layer owned by one instance (written by {@linkcode GeneralInterface.set}). Lookups
 * try the local layer first, so an instance can override a name without affecting any other.
 *
 * Each subclass has a global layer of its own: registering on `AttentionInterface` is invisible
 * to a sibling such as a mask interface. A subclass of a subclass also sees its parent's global
 * entries (its own registrations win and never flow upwards).
 *
 * @typeParam V The type of the registered implementations.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { GeneralInterface } from "./general_interface.ts";
 *
 * class Greeters extends GeneralInterface<(name: string) => string> {}
 * Greeters.register("plain", (name) => `hello ${name}`);
 *
 * const a = new Greeters();
 * const b = new Greeters();
 * a.set("plain", (name) => `hi ${name}`); // a local override
 * assertEquals(a.get("plain")("ada"), "hi ada");
 * assertEquals(b.get("plain")("ada"), "hello ada");
 * ```
 */
export abstract class GeneralInterface<V> {
  #local = new Map<string, V>();

  /**
   * Registers `value` under `key` in the global layer of the class it is called on; every
   * instance of that class (existing and future) sees it unless it overrides `key` locally.
   *
   * @typeParam V The type of the registered implementations.
   * @param key The name.
   * @param value The implementation.
   * @throws {TypeError} When called on `GeneralInterface` itself, whose layer every subclass
   * would see.
   *
   * @example Usage
   * ```ts
   * import { assert } from "@std/assert";
   * import { GeneralInterface } from "./general_interface.ts";
   *
   * class Codecs extends GeneralInterface<string> {}
   * const early = new Codecs();
   * Codecs.register("utf8", "UTF-8");
   * assert(early.has("utf8"));
   * ```
   */
  static register<V>(
    this: abstract new (...args: never[]) => GeneralInterface<V>,
    key: string,
    value: V,
  ): void {
    if ((this as unknown) === GeneralInterface) {
      throw new TypeError(
        `Cannot register "${key}" on GeneralInterface itself: register on a subclass`,
      );
    }
    let layer = GLOBALS.get(this);
    if (!layer) GLOBALS.set(this, layer = new Map());
    layer.set(key, value);
  }

  /**
   * Looks `key` up, locally first and then globally.
   *
   * @param key The name.
   * @returns The implementation.
   * @throws {RangeError} When `key` is registered in neither layer.
   *
   * @example Usage
   * ```ts
   * import { assertEquals, assertThrows } from "@std/assert";
   * import { GeneralInterface } from "./general_interface.ts";
   *
   * class Units extends GeneralInterface<number> {}
   * Units.register("km", 1000);
   * assertEquals(new Units().get("km"), 1000);
   * assertThrows(() => new Units().get("mile"), RangeError, 'registered keys are "km"');
   * ```
   */
  get(key: string): V {
    if (this.#local.has(key)) return this.#local.get(key)!;
    for (const layer of globalLayers(this.constructor)) {
      if (layer.has(key)) return layer.get(key) as V;
    }
    throw new RangeError(
      `Cannot get "${key}" from ${this.constructor.name}: key is not registered: registered keys are ${
        quoted(this.keys())
      }`,
    );
  }

  /**
   * Looks `key` up like {@linkcode GeneralInterface.get}, returning `fallback` when it is absent.
   *
   * @typeParam F The type of the fallback.
   * @param key The name.
   * @param fallback What to return for an unknown key.
   * @returns The implementation or `fallback`.
   *
   * @example Usage
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { GeneralInterface } from "./general_interface.ts";
   *
   * class Units extends GeneralInterface<number> {}
   * assertEquals(new Units().getOr("mile", 1609), 1609);
   * ```
   */
  getOr<F>(key: string, fallback: F): V | F {
    return this.has(key) ? this.get(key) : fallback;
  }

  /**
   * Sets `key` in this instance's local layer only; other instances and the global layer are
   * untouched.
   *
   * @param key The name.
   * @param value The implementation.
   * @returns This instance.
   *
   * @example Usage
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { GeneralInterface } from "./general_interface.ts";
   *
   * class Units extends GeneralInterface<number> {}
   * const units = new Units().set("inch", 0.0254);
   * assertEquals([units.get("inch"), new Units().has("inch")], [0.0254, false]);
   * ```
   */
  set(key: string, value: V): this {
    this.#local.set(key, value);
    return this;
  }

  /**
   * Removes `key` from this instance's local layer (a global entry with the same name shows
   * through again). Global entries cannot be removed through an instance.
   *
   * @param key The name.
   * @throws {RangeError} When `key` is not in the local layer (global-only or unknown).
   *
   * @example Usage
   * ```ts
   * import { assertEquals, assertThrows } from "@std/assert";
   * import { GeneralInterface } from "./general_interface.ts";
   *
   * class Units extends GeneralInterface<number> {}
   * Units.register("m", 1);
   * const units = new Units().set("m", 100);
   * units.delete("m");
   * assertEquals(units.get("m"), 1);
   * assertThrows(() => units.delete("m"), RangeError, "only registered globally");
   * ```
   */
  delete(key: string): void {
    if (this.#local.delete(key)) return;
    const where = this.has(key)
      ? "key is only registered globally and cannot be deleted through an instance"
      : `key is not registered: registered keys are ${quoted(this.keys())}`;
    throw new RangeError(`Cannot delete "${key}" from ${this.constructor.name}: ${where}`);
  }

  /**
   * Whether `key` is registered locally or globally.
   *
   * @param key The name.
   * @returns `true` when {@linkcode GeneralInterface.get} would find it.
   *
   * @example Usage
   * ```ts
   * import { assert } from "@std/assert";
   * import { GeneralInterface } from "./general_interface.ts";
   *
   * class Units extends GeneralInterface<number> {}
   * assert(!new Units().has("parsec"));
   * ```
   */
  has(key: string): boolean {
    return this.#local.has(key) || globalLayers(this.constructor).some((l) => l.has(key));
  }

  /**
   * Every registered name, global and local, each once (global names first, in registration
   * order, then names only this instance has).
   *
   * @returns The names.
   *
   * @example Usage
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { GeneralInterface } from "./general_interface.ts";
   *
   * class Units extends GeneralInterface<number> {}
   * Units.register("g", 1);
   * assertEquals(new Units().set("g", 2).set("kg", 1000).keys(), ["g", "kg"]);
   * ```
   */
  keys(): string[] {
    const names = new Set<string>();
    for (const layer of globalLayers(this.constructor).reverse()) {
      for (const key of layer.keys()) names.add(key);
    }
    for (const key of this.#local.keys()) names.add(key);
    return [...names];
  }

  /**
   * The number of distinct names ({@linkcode GeneralInterface.keys}`().length`).
   *
   * @returns The count.
   *
   * @example Usage
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { GeneralInterface } from "./general_interface.ts";
   *
   * class Units extends GeneralInterface<number> {}
   * assertEquals(new Units().set("a", 1).size, 1);
   * ```
   */
  get size(): number {
    return this.keys().length;
  }
}
