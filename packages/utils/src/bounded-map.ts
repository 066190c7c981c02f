/**
 * A Map that never grows past a size: caches and per-peer state fed by the
 * network must stay bounded however many keys peers make up.
 */

/**
 * A Map holding at most `maxSize` entries. `set` makes its key the newest
 * (re-inserting an existing one) and, when that takes the map past
 * `maxSize`, forgets the oldest entries. Reads do not refresh an entry.
 * A `maxSize` of 0 keeps nothing (a cache turned off), `Infinity` never
 * forgets, and a fraction is rounded down.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  /** most entries held */
  readonly maxSize: number

  constructor (maxSize: number) {
    super()
    if (Number.isNaN(maxSize) || maxSize < 0) {
      throw new RangeError(`maxSize must be a non-negative number, got ${maxSize}`)
    }
    // a fraction of an entry is no entry; Infinity is a map that is never cut
    this.maxSize = Math.floor(maxSize)
  }

  /** Set `key` as the newest entry, forgetting the oldest ones beyond maxSize. */
  override set (key: K, value: V): this {
    super.delete(key)
    super.set(key, value)
    while (this.size > this.maxSize) {
      const oldest = this.keys().next()
      if (oldest.done === true) {
        break
      }
      this.delete(oldest.value)
    }
    return this
  }
}
