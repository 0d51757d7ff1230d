// A binary min-heap over an array: O(log n) push and pop, what the task queue needs to keep priority order with
// re-inserted tasks keeping their place. `before(a, b)` is true when a comes out first.

export class BinaryHeap<T> {
  readonly #items: T[] = []
  readonly #before: (a: T, b: T) => boolean

  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before
  }

  get size(): number {
    return this.#items.length
  }

  peek(): T | undefined {
    return this.#items[0]
  }

  push(item: T): void {
    const items = this.#items
    items.push(item)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.#before(items[i], items[parent])) break
      ;[items[i], items[parent]] = [items[parent], items[i]]
      i = parent
    }
  }

  pop(): T | undefined {
    const items = this.#items
    if (items.length === 0) return undefined
    const top = items[0]
    const last = items.pop() as T
    if (items.length > 0) {
      items[0] = last
      let i = 0
      for (;;) {
        const left = 2 * i + 1
        const right = left + 1
        let first = i
        if (left < items.length && this.#before(items[left], items[first])) first = left
        if (right < items.length && this.#before(items[right], items[first])) first = right
        if (first === i) break
        ;[items[i], items[first]] = [items[first], items[i]]
        i = first
      }
    }
    return top
  }

  /** Every item, in no particular order (O(n)). */
  values(): IterableIterator<T> {
    return this.#items.values()
  }

  /** Removes every item for which `drop` is true (O(n)), keeping heap order. */
  removeWhere(drop: (item: T) => boolean): T[] {
    const kept: T[] = []
    const dropped: T[] = []
    for (const item of this.#items) (drop(item) ? dropped : kept).push(item)
    if (dropped.length === 0) return dropped
    this.#items.length = 0
    for (const item of kept) this.push(item)
    return dropped
  }
}
