/**
 * Virtual time and seeded randomness for simulations: see
 * {@link VirtualClock} and {@link seedRandomness}.
 */

export { DEFAULT_EPOCH_MS, PERFORMANCE_ORIGIN_MS, SIMULATION_STALL_MS, VirtualClock, wallNow, VirtualClockInstalledError, VirtualTimeLimitError, VirtualTimeStallError, VirtualTimeout, currentPeer, currentVirtualClock, runAsPeer, withVirtualTime } from './virtual-clock.js'
export type { CpuModelInit, VirtualClockInit, VirtualClockStats } from './virtual-clock.js'
export { randomnessSeeded, restoreRandomness, seedRandomness } from './seeded-random.js'
