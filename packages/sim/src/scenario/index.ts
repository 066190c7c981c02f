/**
 * Scenarios as data: a JSON file names the peers and roles per region, the
 * latency model, workload, churn, partitions and adversaries; the runner
 * plays it on a {@link Simulation}, hooks plug in code.
 */

export type { AdversarySpec, ChurnEvent, PartitionEvent, RegionSpec, Scenario, ScenarioConnect, ScenarioLatency, ScenarioCpu, ScenarioLinks, ScenarioNat, ScenarioWorkload } from './types.js'
export { MAX_SCENARIO_PEERS, parseScenario, validateScenario } from './validate.js'
export { ScenarioError } from './errors.js'
export { jsonLines } from './json-locate.js'
export { runScenario } from './run.js'
export { scenarioLatency, latencyModelOf } from './latency-model.js'
export { scenarioPlacement } from './placement.js'
export type { HookContext, JobArrival, PeerRow, RunProgress, RunResult, RunScenarioOptions, RunTiming, ScenarioHooks, SimulationDriver, DriverPeer } from './driver.js'
