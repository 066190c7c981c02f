/**
 * Scenarios as data: a JSON file names the peers and roles per region, the
 * latency model, workload, churn, partitions and adversaries; the runner
 * plays it on a {@link Simulation}, hooks plug in code.
 */

export type { AdversarySpec, ChurnEvent, PartitionEvent, RegionSpec, Scenario, ScenarioConnect, ScenarioLatency, ScenarioLinks, ScenarioWorkload } from './types.js'
export { MAX_SCENARIO_PEERS, parseScenario, validateScenario } from './validate.js'
export { ScenarioError } from './errors.js'
export { jsonLines } from './json-locate.js'
export { runScenario, scenarioLatency, scenarioPlacement, latencyModelOf } from './run.js'
export type { HookContext, JobArrival, PeerRow, RunProgress, RunResult, RunScenarioOptions, ScenarioHooks, SimulationDriver, DriverPeer } from './run.js'
