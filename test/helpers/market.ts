/**
 * Providers for the end-to-end tests: executors that can be told to fail,
 * and the `shoalServices()` options of a GPU or capture provider.
 */

import { createHash } from 'node:crypto'
import { functionExecutor } from '@shoal/work'
import type { ShoalServicesInit } from '@shoal/node'
import type { Gpu, Price } from '@shoal/records'
import type { Executor } from '@shoal/work'

/** A switch the test flips to make a provider's executor fail. */
export interface Behaviour {
  fail: boolean
  runs: number
}

/** SHA-256 of `bytes`. */
export function sha256 (bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}

/** A stand-in for a GPU inference: echoes the prompt, upper-cased, under the workload's name. */
export function inferenceExecutor (behaviour: Behaviour): Executor {
  return functionExecutor((input, { job }) => {
    behaviour.runs++
    if (behaviour.fail) {
      throw new Error('CUDA error: out of memory')
    }
    return new TextEncoder().encode(`[${job?.workload ?? '?'}] ${new TextDecoder().decode(input).toUpperCase()}`)
  })
}

/** Bytes a fake camera "records" per second of footage. */
export const FOOTAGE_BYTES_PER_SECOND = 16 * 1024

/**
 * A stand-in for a camera: "records" the seconds asked for (deterministic
 * bytes), and meters the job in seconds of footage.
 */
export function captureExecutor (behaviour: Behaviour): Executor {
  return functionExecutor((input) => {
    behaviour.runs++
    if (behaviour.fail) {
      throw new Error('camera unavailable')
    }
    const { seconds } = JSON.parse(new TextDecoder().decode(input)) as { seconds: number }
    const footage = new Uint8Array(seconds * FOOTAGE_BYTES_PER_SECOND)
    for (let i = 0; i < footage.length; i++) footage[i] = (i * 31 + seconds) & 0xff
    return { output: footage, units: seconds, status: 0 }
  })
}

const RTX_4090: Gpu = { model: 'RTX 4090', class: 'consumer-24g', vramMib: 24576, count: 1 }

/** `shoalServices()` options of a GPU provider at `geohash`. */
export function gpuProvider (geohash: string, price: Price, behaviour: Behaviour): ShoalServicesInit {
  return {
    role: 'gpu-provider',
    provider: { region: geohash, gpus: [{ model: RTX_4090.model, vramMib: RTX_4090.vramMib }], price, concurrency: 1 },
    work: {
      // the default bid policy follows the provider config: kinds, GPUs, sensors, region
      executor: inferenceExecutor(behaviour)
    }
  }
}

/** `shoalServices()` options of a capture provider with a video camera at `geohash`. */
export function captureProvider (geohash: string, price: Price, behaviour: Behaviour): ShoalServicesInit {
  return {
    role: 'capture-provider',
    provider: { region: geohash, sensors: ['video'], price, concurrency: 1 },
    work: {
      executor: captureExecutor(behaviour)
    }
  }
}
