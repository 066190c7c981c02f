/**
 * @packageDocumentation
 *
 * Fixtures shared by the Shoal packages' own tests, kept once here rather
 * than copied into each package's `test/` (as js-libp2p keeps its shared test
 * code in packages of its own). Private: never published, and no package's
 * `src` may import it.
 *
 * @example
 *
 * ```ts
 * import { countingMetrics, createTestNode, party } from '@shoal/test-support'
 * import { identify } from '@libp2p/identify'
 *
 * const { metrics, counts } = countingMetrics()
 * const node = await createTestNode({ services: { identify: identify() } })
 * const requester = await party()
 * ```
 */

export { countingMetrics } from './metrics.js'
export type { CountingMetrics } from './metrics.js'
export { createTestNode } from './nodes.js'
export { party } from './parties.js'
export { processRunning } from './processes.js'
export { waitFor, waitForMesh } from './wait.js'
export { stoppedAfterEach } from './suite.js'
export type { Party } from './parties.js'
export { NOW, capabilityRecord, jobAnnouncement } from './records.js'
