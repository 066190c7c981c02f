/**
 * Seeded pseudo-random numbers: every random choice in a simulation
 * (placement, workload, churn, jitter) draws from an {@link Rng} derived
 * from the scenario seed. The generator lives in `@shoal/utils`, where
 * tests and services that need reproducible randomness find it too.
 */

export { Rng, createRng } from '@shoal/utils'
export type { Seed } from '@shoal/utils'
