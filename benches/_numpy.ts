/**
 * NumPy as a peer measured in the same `deno bench` run: a persistent `python3` child that, per
 * request line `<n>`, runs `np.matmul(A, B, out=C)` once on float32 `[n, n]` inputs made on first
 * use, and answers with its own `time.perf_counter()` time for the call.
 *
 * A bench row that awaits {@linkcode NumpyPeer.matmul} times the call plus one pipe round trip
 * (about 0.05–0.1 ms here: a write, a Python `readline`, a reply); {@linkcode NumpyPeer.summary}
 * gives the times Python measured itself, so the round trip can be told apart. OpenBLAS reads
 * `OPENBLAS_NUM_THREADS` once at start, so each thread setting is its own child process.
 *
 * @module
 */

/** The Python side: a request loop over stdin. Inputs depend on `n` only (seeded). */
const SCRIPT = `
import sys, time
import numpy as np
try:
    cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
except Exception:
    cfg = {}
print(f"numpy {np.__version__}; {cfg.get('name', '?')} {cfg.get('version', '?')}", flush=True)
mats = {}
for line in sys.stdin:
    n = int(line)
    if n not in mats:
        rng = np.random.default_rng(n)
        a = rng.uniform(-1, 1, (n, n)).astype(np.float32)
        b = rng.uniform(-1, 1, (n, n)).astype(np.float32)
        mats[n] = (a, b, np.empty((n, n), np.float32))
    a, b, c = mats[n]
    t = time.perf_counter()
    np.matmul(a, b, out=c)
    sys.stdout.write(f"{time.perf_counter() - t}\\n")
    sys.stdout.flush()
`;

/** A running `python3` with NumPy that times `np.matmul` on request. */
export class NumpyPeer {
  /** `numpy <version>; <blas name> <blas version>`, as the child reported it. */
  readonly version: string;
  /** The `OPENBLAS_NUM_THREADS` the child runs with, or `null` for NumPy's default. */
  readonly threads: number | null;
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;
  #times = new Map<number, number[]>();

  private constructor(
    child: Deno.ChildProcess,
    lines: AsyncIterator<string>,
    version: string,
    threads: number | null,
  ) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = lines;
    this.version = version;
    this.threads = threads;
  }

  /**
   * Starts `python3` with NumPy, or returns `null` when either is missing (or running
   * subprocesses is not allowed).
   *
   * @param threads `OPENBLAS_NUM_THREADS` for the child; omitted keeps NumPy's default (one
   * thread per core).
   * @returns The peer, or `null`.
   */
  static async start(threads?: number): Promise<NumpyPeer | null> {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("python3", {
        args: ["-u", "-c", SCRIPT],
        env: threads === undefined ? {} : { OPENBLAS_NUM_THREADS: String(threads) },
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
      }).spawn();
    } catch {
      return null;
    }
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter())
      [Symbol.asyncIterator]();
    const first = await lines.next();
    child.unref();
    if (first.done) {
      await child.status;
      return null;
    }
    return new NumpyPeer(child, lines, first.value, threads ?? null);
  }

  /**
   * Runs one `np.matmul` of two float32 `[n, n]` matrices in the child.
   *
   * @param n The matrix size.
   * @returns The seconds Python measured around the call (without the pipe round trip).
   */
  async matmul(n: number): Promise<number> {
    // Referenced only while a request is out, so an idle child never holds the bench open.
    this.#child.ref();
    await this.#writer.write(new TextEncoder().encode(`${n}\n`));
    const reply = await this.#lines.next();
    this.#child.unref();
    if (reply.done) throw new Error(`Cannot run numpy matmul N=${n}: python3 exited`);
    const seconds = Number(reply.value);
    this.#times.set(n, [...(this.#times.get(n) ?? []), seconds]);
    return seconds;
  }

  /**
   * The times Python measured itself, per size: mean and minimum in milliseconds.
   *
   * @returns One line per size, for a log.
   */
  summary(): string[] {
    return [...this.#times].map(([n, t]) => {
      const mean = t.reduce((s, x) => s + x, 0) / t.length * 1e3;
      const min = Math.min(...t) * 1e3;
      return `numpy N=${n} threads ${this.threads ?? "default"}: python-side mean ${
        mean.toFixed(3)
      } ms, min ${min.toFixed(3)} ms over ${t.length} calls`;
    });
  }

  /** Ends the child (closing its stdin ends the request loop). */
  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    await this.#child.status;
  }
}

function lineSplitter(): TransformStream<string, string> {
  let carry = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (carry + chunk).split("\n");
      carry = parts.pop() ?? "";
      for (const p of parts) controller.enqueue(p);
    },
    flush(controller) {
      if (carry) controller.enqueue(carry);
    },
  });
}
