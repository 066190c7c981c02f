/**
 * GPU inventory: what `nvidia-smi` reports, in the shape of a capability
 * record's `gpus`, or a clear "no GPU found".
 */

import { execFile } from 'node:child_process'
import type { Gpu } from '@shoal/records'

/** The GPU inventory of this machine. */
export type GpuInventory =
  | { found: true, gpus: Gpu[] }
  | { found: false, reason: string, gpus: [] }

/** Options of `detectGpus`. */
export interface DetectGpusOptions {
  /**
   * The nvidia-smi program
   *
   * @default 'nvidia-smi'
   */
  command?: string
  /**
   * Give up after this long, ms
   *
   * @default 5000
   */
  timeoutMs?: number
}

const DATACENTER = /\b(A100|A800|H100|H200|H800|B100|B200|GH200|L4|L40S?|A10G?|A30|A40|V100|P100|T4)\b/i

/** Coarse class used for matching jobs: `consumer-24g`, `datacenter-80g`... */
export function gpuClass (model: string, vramMib: number): string {
  const kind = DATACENTER.test(model) ? 'datacenter' : 'consumer'
  return `${kind}-${Math.max(1, Math.round(vramMib / 1024))}g`
}

/**
 * Parse `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader`
 * output: one line per GPU such as `NVIDIA GeForce RTX 4090, 24564 MiB`.
 * Identical GPUs are grouped with a count; lines that do not parse are skipped.
 */
export function parseNvidiaSmi (text: string): Gpu[] {
  const groups = new Map<string, Gpu>()
  for (const line of text.split(/\r?\n/)) {
    const comma = line.lastIndexOf(',')
    if (comma < 0) {
      continue
    }
    const model = line.slice(0, comma).trim().slice(0, 64)
    const memory = /^\s*(\d+)\s*MiB\s*$/i.exec(line.slice(comma + 1))
    if (model === '' || memory == null) {
      continue
    }
    const vramMib = Number.parseInt(memory[1], 10)
    if (!Number.isSafeInteger(vramMib) || vramMib < 1 || vramMib > (1 << 24)) {
      continue
    }
    const key = `${model}\0${vramMib}`
    const gpu = groups.get(key)
    if (gpu != null) {
      gpu.count++
    } else {
      groups.set(key, { model, class: gpuClass(model, vramMib), vramMib, count: 1 })
    }
  }
  return [...groups.values()]
}

/** Ask `nvidia-smi` for the GPUs; never throws: a missing tool or GPU is `{ found: false, reason }`. */
export async function detectGpus (options: DetectGpusOptions = {}): Promise<GpuInventory> {
  const command = options.command ?? 'nvidia-smi'
  return new Promise(resolve => {
    execFile(command, ['--query-gpu=name,memory.total', '--format=csv,noheader'], { timeout: options.timeoutMs ?? 5000 }, (err, stdout, stderr) => {
      if (err != null) {
        const code = (err as NodeJS.ErrnoException).code
        const reason = code === 'ENOENT'
          ? `no GPU found: ${command} is not installed`
          : `no GPU found: ${command} failed (${String(stderr).trim() !== '' ? String(stderr).trim().slice(0, 200) : err.message})`
        resolve({ found: false, reason, gpus: [] })
        return
      }
      const gpus = parseNvidiaSmi(String(stdout))
      if (gpus.length === 0) {
        resolve({ found: false, reason: `no GPU found: ${command} lists none`, gpus: [] })
        return
      }
      resolve({ found: true, gpus })
    })
  })
}
