/**
 * The calls in flight on one connection, by id. A connection with one call at a time keeps it in
 * a field instead of the Map: a Map that empties and refills on every call reallocates its table
 * each time it empties (V8 shrinks it), about a thousand instructions per call measured.
 */
export class CallTable<T extends { readonly id: number }> {
  private one: T | undefined;
  private readonly rest = new Map<number, T>();

  get size(): number {
    return (this.one === undefined ? 0 : 1) + this.rest.size;
  }

  get(id: number): T | undefined {
    const one = this.one;
    if (one !== undefined && one.id === id) return one;
    return this.rest.size === 0 ? undefined : this.rest.get(id);
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Adds `call`, whose id is not in the table. */
  add(call: T): void {
    if (this.one === undefined) this.one = call;
    else this.rest.set(call.id, call);
  }

  /** Removes the call with `id`; false when there was none. */
  delete(id: number): boolean {
    if (this.one !== undefined && this.one.id === id) {
      this.one = undefined;
      return true;
    }
    return this.rest.size === 0 ? false : this.rest.delete(id);
  }

  /** The calls, as a snapshot: the caller may delete while it goes through them. */
  values(): T[] {
    const all = [...this.rest.values()];
    if (this.one !== undefined) all.push(this.one);
    return all;
  }
}
