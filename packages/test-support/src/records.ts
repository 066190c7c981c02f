import { JobKind, RECORD_VERSION, newRandomId } from '@shoal/records'
import type { CapabilityRecord, JobAnnouncement } from '@shoal/records'

/** The clock of the unit tests' records (Nov 2023). */
export const NOW = 1_700_000_000_000

/**
 * A valid GPU-inference job announcement made at `now`: a 24 GB consumer GPU
 * for llama-7b near Singapore (region w21z), `over` replacing any field.
 */
export function jobAnnouncement (over: Partial<JobAnnouncement> = {}, now = NOW): JobAnnouncement {
  return {
    version: RECORD_VERSION,
    jobId: newRandomId(),
    requester: new Uint8Array(38),
    kind: JobKind.GPU_INFERENCE,
    requirements: { gpuModel: '', gpuClass: 'consumer-24g', minVramMib: 16384, gpuCount: 1, sensors: [], region: 'w21z', maxRttMs: 40 },
    priceCeiling: { perUnit: 20, currency: 'USDC', unit: 'gpu-second' },
    budget: 10_000,
    deadlineMs: now + 120_000,
    createdMs: now,
    expiresMs: now + 60_000,
    description: 'run a 7B model near Singapore',
    inputHash: new Uint8Array(),
    inputBytes: 0,
    workload: 'llama-7b',
    ...over
  }
}

/**
 * A valid capability record of `provider` (multihash bytes) made at `now`: one
 * RTX 4090 in Tokyo (xn76u) at 10 USDC a GPU-second, for ten minutes, `over`
 * replacing any field.
 */
export function capabilityRecord (provider: Uint8Array, over: Partial<CapabilityRecord> = {}, now = NOW): CapabilityRecord {
  return {
    version: RECORD_VERSION,
    provider,
    seq: now,
    gpus: [{ model: 'RTX 4090', class: 'consumer-24g', vramMib: 24576, count: 1 }],
    sensors: [],
    geohash: 'xn76u',
    price: { perUnit: 10, currency: 'USDC', unit: 'gpu-second' },
    concurrency: 1,
    freeSlots: 1,
    addrs: [],
    createdMs: now,
    expiresMs: now + 600_000,
    ...over
  }
}
