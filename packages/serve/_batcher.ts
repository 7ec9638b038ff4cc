/**
 * A micro-batching queue: requests put items in, one worker loop takes up to `maxBatchSize`
 * compatible items at a time and runs them in one call. Between batches the loop yields to the
 * event loop, so requests arriving during a forward pass join the next batch.
 *
 * @module
 */

/** Thrown when the queue has no room for a request's items. */
export class QueueFullError extends Error {
  /** @param limit The queue's capacity. */
  constructor(readonly limit: number) {
    super(`Cannot queue request: the queue is full (${limit} items waiting)`);
    this.name = "QueueFullError";
  }
}

interface Entry<I, O> {
  item: I;
  ticket: Ticket<O>;
  slot: number;
}

interface Ticket<O> {
  results: O[];
  left: number;
  cancelled: boolean;
  resolve: (r: O[]) => void;
  reject: (e: unknown) => void;
}

/** A pending request: its promise, and a way to withdraw its items still waiting. */
export interface Submission<O> {
  /** Resolves with one result per item, in order. */
  result: Promise<O[]>;
  /** Withdraws the items not yet taken into a batch; the promise then never settles. */
  cancel(): void;
}

/** Options of {@linkcode MicroBatcher}. */
export interface BatcherOptions<I> {
  /** Most items per call of `run`. */
  maxBatchSize: number;
  /** Most items waiting (not yet in a batch). */
  maxQueue: number;
  /** Items with different keys never share a batch. */
  groupKey?: (item: I) => string | number;
}

/** The queue and its worker loop. */
export class MicroBatcher<I, O> {
  #queue: Entry<I, O>[] = [];
  #running = false;
  #run: (items: I[]) => Promise<O[]>;
  #options: BatcherOptions<I>;
  /** Batches run so far. */
  batches = 0;
  /** Items run so far. */
  items = 0;

  /**
   * @param run Runs one batch; returns one result per item.
   * @param options Sizes and grouping.
   */
  constructor(run: (items: I[]) => Promise<O[]>, options: BatcherOptions<I>) {
    this.#run = run;
    this.#options = options;
  }

  /** Items waiting. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Queues `items` as one request.
   *
   * @param items The items.
   * @returns The submission.
   * @throws {QueueFullError} When they do not fit in the queue.
   */
  submit(items: readonly I[]): Submission<O> {
    if (this.#queue.length + items.length > this.#options.maxQueue) {
      throw new QueueFullError(this.#options.maxQueue);
    }
    let ticket!: Ticket<O>;
    const result = new Promise<O[]>((resolve, reject) => {
      ticket = {
        results: new Array(items.length),
        left: items.length,
        cancelled: false,
        resolve,
        reject,
      };
    });
    if (items.length === 0) ticket.resolve([]);
    items.forEach((item, slot) => this.#queue.push({ item, ticket, slot }));
    if (!this.#running && items.length) {
      this.#running = true;
      setTimeout(() => this.#loop(), 0);
    }
    return {
      result,
      cancel: () => {
        ticket.cancelled = true;
        this.#queue = this.#queue.filter((e) => e.ticket !== ticket);
      },
    };
  }

  #take(): Entry<I, O>[] {
    const key = this.#options.groupKey;
    const first = this.#queue[0];
    const k = key?.(first.item);
    const batch: Entry<I, O>[] = [];
    const rest: Entry<I, O>[] = [];
    for (const e of this.#queue) {
      if (batch.length < this.#options.maxBatchSize && (!key || key(e.item) === k)) batch.push(e);
      else rest.push(e);
    }
    this.#queue = rest;
    return batch;
  }

  async #loop(): Promise<void> {
    try {
      while (this.#queue.length) {
        const batch = this.#take();
        try {
          const out = await this.#run(batch.map((e) => e.item));
          this.batches++;
          this.items += batch.length;
          for (const [i, e] of batch.entries()) {
            e.ticket.results[e.slot] = out[i];
            if (--e.ticket.left === 0 && !e.ticket.cancelled) e.ticket.resolve(e.ticket.results);
          }
        } catch (err) {
          for (const e of batch) {
            if (!e.ticket.cancelled) e.ticket.reject(err);
            e.ticket.cancelled = true;
          }
          this.#queue = this.#queue.filter((e) => !e.ticket.cancelled);
        }
        // Let sockets and new requests in before the next batch (no timer is left behind when
        // the queue is empty: the next submit starts the loop again).
        if (this.#queue.length) await new Promise((r) => setTimeout(r, 0));
      }
    } finally {
      this.#running = false;
    }
  }
}
