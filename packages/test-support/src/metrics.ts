import type { CounterGroup, Metrics } from '@libp2p/interface'

/** A metrics registry that keeps only counter groups, and the counts they were incremented by. */
export interface CountingMetrics {
  /** pass as `components.metrics`; only `registerCounterGroup` is implemented */
  metrics: Metrics
  /** each registered counter group's totals, by group name then key */
  counts: Map<string, Record<string, number>>
}

/** A metrics registry that keeps only counter groups, by name, so a test can read what a service counted. */
export function countingMetrics (): CountingMetrics {
  const counts = new Map<string, Record<string, number>>()
  const registerCounterGroup = (name: string): CounterGroup => {
    const values: Record<string, number> = {}
    counts.set(name, values)
    return {
      increment: (keys: Record<string, number | true>) => {
        for (const [key, by] of Object.entries(keys)) {
          values[key] = (values[key] ?? 0) + (by === true ? 1 : by)
        }
      },
      reset: () => {}
    }
  }
  // the services under test only register counter groups; the rest of Metrics is never called
  return { metrics: { registerCounterGroup } as unknown as Metrics, counts }
}
