import { placePeers } from '../latency/placement.js'
import { errorMessage } from '../error-text.js'
import { ScenarioError } from './errors.js'
import type { Scenario } from './types.js'
import type { LatencyModel } from '../latency/types.js'
import type { Rng } from '../random.js'

/** Places the scenario's peers region by region: site index and role per peer, shuffled. */
export function scenarioPlacement (scenario: Scenario, model: LatencyModel, rng: Rng): { sites: number[], roles: string[], regions: string[] } {
  const peers: Array<{ site: number, role: string, region: string }> = []

  for (const [region, spec] of Object.entries(scenario.regions)) {
    if (spec.peers === 0) continue
    let sites: number[]

    try {
      sites = placePeers(model, spec.peers, rng.fork(`region-${region}`), { regions: { [region]: 1 } })
    } catch (err: unknown) {
      throw new ScenarioError(`regions.${region}`, errorMessage(err))
    }

    const roles: string[] = []
    for (const [role, count] of Object.entries(spec.roles ?? { peer: spec.peers })) {
      for (let k = 0; k < count; k++) roles.push(role)
    }
    rng.fork(`roles-${region}`).shuffle(roles)
    sites.forEach((site, i) => peers.push({ site, role: roles[i], region }))
  }

  rng.fork('order').shuffle(peers)
  return { sites: peers.map(p => p.site), roles: peers.map(p => p.role), regions: peers.map(p => p.region) }
}
