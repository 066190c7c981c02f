import { isAbsolute, resolve } from 'node:path'
import { geographicLatency } from '../latency/geographic.js'
import { loadLatency } from '../latency/load.js'
import { worldCities } from '../latency/world-cities.js'
import { errorMessage } from '../error-text.js'
import { ScenarioError } from './errors.js'
import type { Scenario, ScenarioLatency } from './types.js'
import type { LinkProfileOptions } from '../latency/link-profile.js'
import type { LatencyModel } from '../latency/types.js'

function resolvePath (path: string, baseDir: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path)
}

/** Builds the scenario's latency model and link options. */
export async function scenarioLatency (scenario: Scenario, baseDir = process.cwd()): Promise<{ model: LatencyModel, links: LinkProfileOptions }> {
  const model = await latencyModelOf(scenario.latency, baseDir)
  const links: LinkProfileOptions = {}
  const loss = scenario.links?.loss
  if (typeof loss === 'number' || Array.isArray(loss)) links.loss = loss
  if (scenario.links?.bandwidthMbps != null) links.bandwidthBps = scenario.links.bandwidthMbps * 125_000
  return { model, links }
}

/**
 * Builds a latency model from its description (as in a scenario); relative
 * paths resolve against `baseDir`. Throws {@link ScenarioError}.
 */
export async function latencyModelOf (spec: ScenarioLatency | undefined, baseDir = process.cwd()): Promise<LatencyModel> {
  const l = spec ?? { model: 'geographic' as const }
  let model: LatencyModel

  try {
    if (l.model === 'measured') {
      model = await loadLatency(resolvePath(l.path, baseDir), { unit: l.unit, format: l.format })
    } else {
      const backbone = l.backbone != null ? await loadLatency(resolvePath(l.backbone, baseDir)) : undefined
      model = geographicLatency({
        sites: worldCities({ minPopulation: l.minPopulation }),
        lastMileMs: l.lastMileMs,
        backbone
      })
    }
  } catch (err: unknown) {
    throw new ScenarioError(l.model === 'measured' ? 'latency.path' : 'latency', errorMessage(err))
  }

  return model
}
