/**
 * Help texts of the node's Prometheus metrics as their authors wrote them.
 */

import type { Metrics } from '@libp2p/interface'
import type { Registry } from 'prom-client'

/** A Prometheus name as `@libp2p/prometheus-metrics` writes it. */
function metricName (name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_').replace(/_+/g, '_')
}

/** What libp2p registers without a help text, described. */
const LIBP2P_HELP: Record<string, string> = {
  libp2p_data_transfer_bytes_total: 'Bytes sent and received, by protocol and direction',
  nodejs_memory_usage_bytes: 'Memory use of the Node.js process, by kind',
  nodejs_memory_total_bytes: 'Memory of the machine',
  nodejs_fs_usage_bytes: 'Size and free space of the file system the node runs in'
}

/**
 * `@libp2p/prometheus-metrics` writes every help text as a metric name
 * (spaces become `_`) and uses the name itself when none is given. This
 * wraps its factory so that the registry keeps the help texts as written,
 * and metrics registered without one get the name in words.
 */
export function describedMetrics <C> (factory: (components: C) => Metrics, registry: Registry): (components: C) => Metrics {
  return (components) => {
    const inner = factory(components)
    const describe = (name: string, help?: string): void => {
      const metric = registry.getSingleMetric(metricName(name)) as { help: string } | undefined
      if (metric === undefined) return
      metric.help = help ?? LIBP2P_HELP[metricName(name)] ?? `${metricName(name).replace(/_/g, ' ')} (libp2p gives no description)`
    }
    // registered by the constructor, before any call could be wrapped
    for (const metric of registry.getMetricsAsArray() as unknown as Array<{ name: string, help: string }>) {
      if (metric.help === metric.name) describe(metric.name)
    }
    return new Proxy(inner, {
      get (target, prop) {
        const value: unknown = Reflect.get(target, prop, target)
        if (typeof value !== 'function') return value
        if (typeof prop === 'string' && prop.startsWith('register')) {
          return (name: string, options?: { help?: string }) => {
            const result: unknown = value.call(target, name, options)
            describe(name, options?.help)
            return result
          }
        }
        return value.bind(target)
      }
    })
  }
}
