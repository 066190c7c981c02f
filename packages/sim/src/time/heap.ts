/**
 * A binary min-heap of timed entries, ordered by time then by insertion
 * (`seq`), so entries due at one instant come out in the order they were
 * added: the order a simulation's determinism rests on.
 */

/** An entry of a {@link TimeHeap}. */
export interface Timed {
  /** when it is due */
  readonly at: number
  /** insertion order, the tie-breaker for entries due at one instant */
  readonly seq: number
}

function before (a: Timed, b: Timed): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}

/** A min-heap by (`at`, `seq`). */
export class TimeHeap<T extends Timed> {
  private readonly heap: T[] = []

  /** Number of entries. */
  get size (): number {
    return this.heap.length
  }

  /** The earliest entry, left in place. */
  peek (): T | undefined {
    return this.heap[0]
  }

  /** Drops every entry. */
  clear (): void {
    this.heap.length = 0
  }

  push (entry: T): void {
    const heap = this.heap
    heap.push(entry)
    let i = heap.length - 1

    while (i > 0) {
      const parent = (i - 1) >> 1

      if (!before(entry, heap[parent])) {
        break
      }

      heap[i] = heap[parent]
      i = parent
    }

    heap[i] = entry
  }

  /** Keeps only the entries `keep` accepts (a sorted array is a heap). */
  retain (keep: (entry: T) => boolean): void {
    const kept = this.heap.filter(keep).sort((a, b) => a.at - b.at || a.seq - b.seq)
    // copied one by one: spreading hundreds of thousands of entries into push() overflows the stack
    this.heap.length = kept.length
    for (let i = 0; i < kept.length; i++) {
      this.heap[i] = kept[i]
    }
  }

  /** Removes and returns the earliest entry. */
  pop (): T | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()

    if (top == null || last == null || heap.length === 0) {
      return top
    }

    let i = 0
    const n = heap.length

    for (;;) {
      const left = 2 * i + 1

      if (left >= n) {
        break
      }

      const right = left + 1
      const child = right < n && before(heap[right], heap[left]) ? right : left

      if (!before(heap[child], last)) {
        break
      }

      heap[i] = heap[child]
      i = child
    }

    heap[i] = last

    return top
  }
}
