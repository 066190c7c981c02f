/**
 * Start-up checks of a provider, run by `runShoalNode` before the node
 * starts: the executor's program exists and is executable, and the GPUs
 * offered are the ones the machine has (detected with nvidia-smi when the
 * config lists none). A failed check is a `ConfigError` naming the field,
 * so a provider that could not run a job never advertises.
 */

import { constants as fsConstants } from 'node:fs'
import { access, stat } from 'node:fs/promises'
import { isAbsolute, resolve } from 'node:path'
import { errorCode } from '@shoal/utils'
import { detectGpus, findProgram } from '@shoal/work'
import { ConfigError } from './errors.js'
import type { CaptureSourceConfig, ExecutorConfig, GpuConfig, ResolvedConfig } from './config.js'
import type { GpuInventory } from '@shoal/work'

/** Options of `preflight`. */
export interface PreflightOptions {
  /**
   * Directory a relative executor command (`./run-job.sh`) is resolved
   * against: the config file's directory
   *
   * @default process.cwd()
   */
  configDir?: string
  /** PATH searched for a bare command name @default process.env.PATH */
  path?: string
  /** The GPU inventory @default detectGpus() (nvidia-smi) */
  detectGpus?: () => Promise<GpuInventory>
  /** A check that passed with a caveat, one line naming the field */
  warn?: (line: string) => void
}

/**
 * Check a provider's config against this machine and return it with the
 * executor command made absolute and the GPUs to offer filled in. Other
 * roles are returned unchanged.
 */
export async function preflight (config: ResolvedConfig, options: PreflightOptions = {}): Promise<ResolvedConfig> {
  const provider = config.provider
  if (provider === undefined || (config.role !== 'gpu-provider' && config.role !== 'capture-provider')) {
    return config
  }
  const checked = { ...provider }
  // resolveConfig refuses a provider role without one
  if (provider.executor !== undefined) {
    checked.executor = await checkExecutor(provider.executor, options)
  }
  if (provider.capture !== undefined) {
    checked.capture = { ...provider.capture, source: await checkCaptureSource(provider.capture.source, options) }
  }
  if (config.role === 'gpu-provider') {
    const inventory = await (options.detectGpus ?? detectGpus)()
    checked.gpus = gpusToOffer(provider.gpus ?? [], inventory, options.warn)
  }
  return { ...config, provider: checked }
}

/**
 * The executor with its command resolved: a path (anything with a `/`)
 * against `configDir`, a bare name in PATH. A command that is missing or
 * not executable is a `ConfigError` on `provider.executor.command`.
 */
export async function checkExecutor (executor: ExecutorConfig, options: Pick<PreflightOptions, 'configDir' | 'path'> = {}): Promise<ExecutorConfig> {
  if (executor.type !== 'command') {
    return executor
  }
  return { ...executor, command: await checkCommand(executor.command, 'provider.executor.command', options) }
}

/**
 * The capture source with its command or folder resolved like an
 * executor's (against `configDir`): a missing or non-executable command, or
 * a folder that is not a directory, is a `ConfigError` on the field.
 */
export async function checkCaptureSource (source: CaptureSourceConfig, options: Pick<PreflightOptions, 'configDir' | 'path'> = {}): Promise<CaptureSourceConfig> {
  if (source.type === 'command') {
    return { ...source, command: await checkCommand(source.command, 'provider.capture.source.command', options) }
  }
  if (source.type === 'folder') {
    const field = 'provider.capture.source.path'
    const absolute = isAbsolute(source.path) ? source.path : resolve(options.configDir ?? process.cwd(), source.path)
    let isDirectory: boolean
    try {
      isDirectory = (await stat(absolute)).isDirectory()
    } catch (err: unknown) {
      throw new ConfigError(field, `${source.path} cannot be read (${errorCode(err) ?? 'error'})`)
    }
    if (!isDirectory) throw new ConfigError(field, `${source.path} is not a directory`)
    return { ...source, path: absolute }
  }
  return source
}

/** A program's absolute path: a path (anything with a `/`) against `configDir`, a bare name in PATH; else a `ConfigError` on `field`. */
async function checkCommand (command: string, field: string, options: Pick<PreflightOptions, 'configDir' | 'path'>): Promise<string> {
  if (!command.includes('/')) {
    const found = findProgram(command, options.path ?? process.env.PATH ?? '')
    if (found === undefined) {
      throw new ConfigError(field, `${command} not found in PATH (give a path such as ./run-job.sh for a script next to the config file)`)
    }
    return found
  }
  const absolute = isAbsolute(command) ? command : resolve(options.configDir ?? process.cwd(), command)
  const where = absolute === command ? '' : ` (resolved to ${absolute}, relative to the config file's directory)`
  let isFile: boolean
  try {
    isFile = (await stat(absolute)).isFile()
  } catch (err: unknown) {
    const code = errorCode(err)
    throw new ConfigError(field, `${command} ${code === 'ENOENT' || code === 'ENOTDIR' ? 'not found' : `cannot be read (${code ?? 'error'})`}${where}`)
  }
  if (!isFile) {
    throw new ConfigError(field, `${command} is not a file${where}`)
  }
  try {
    await access(absolute, fsConstants.X_OK)
  } catch {
    throw new ConfigError(field, `${command} is not executable${where}: chmod +x it`)
  }
  return absolute
}

/** Model names compared without vendor words, case, spaces or punctuation: `NVIDIA GeForce RTX 4090` has `RTX 4090`. */
function modelKey (model: string): string {
  return model.toLowerCase().replace(/\b(nvidia|geforce)\b/g, '').replace(/[^a-z0-9]/g, '')
}

/** nvidia-smi reports a little less memory than the card's nominal size (an RTX 4090: 24564 of 24576 MiB). */
const VRAM_SLACK = 0.02

function describeInventory (inventory: GpuInventory): string {
  return inventory.gpus.map(g => `${g.model} ${g.vramMib} MiB x${g.count}`).join(', ')
}

/**
 * The GPUs to offer: the listed ones, each checked against what nvidia-smi
 * detected (a warning if nothing could be detected); with none listed,
 * the detected ones; with neither, a `ConfigError` on `provider.gpus`.
 */
export function gpusToOffer (listed: GpuConfig[], inventory: GpuInventory, warn?: (line: string) => void): GpuConfig[] {
  if (listed.length === 0) {
    if (!inventory.found) {
      throw new ConfigError('provider.gpus', `none listed and none detected (${inventory.reason}); list the GPUs to offer in provider.gpus`)
    }
    return inventory.gpus.map(g => ({ model: g.model, vramMib: g.vramMib, count: g.count, class: g.class }))
  }
  if (!inventory.found) {
    // operators try a GPU config on a machine without one (the echo executor): say so, do not refuse
    warn?.(`provider.gpus: ${listed.length} GPU kind(s) listed but not checked (${inventory.reason}); offering them as listed`)
    return listed
  }
  listed.forEach((gpu, i) => {
    const key = modelKey(gpu.model)
    const matching = inventory.gpus.filter(g => modelKey(g.model).includes(key))
    const field = `provider.gpus[${i}]`
    if (key === '' || matching.length === 0) {
      throw new ConfigError(`${field}.model`, `${gpu.model} is not on this machine (nvidia-smi lists: ${describeInventory(inventory)})`)
    }
    const fits = matching.filter(g => gpu.vramMib <= g.vramMib * (1 + VRAM_SLACK))
    if (fits.length === 0) {
      throw new ConfigError(`${field}.vramMib`, `${gpu.vramMib} MiB is more than the ${gpu.model} here has (nvidia-smi lists: ${describeInventory({ found: true, gpus: matching })})`)
    }
    const available = fits.reduce((n, g) => n + g.count, 0)
    if ((gpu.count ?? 1) > available) {
      throw new ConfigError(`${field}.count`, `${gpu.count ?? 1} listed but nvidia-smi finds ${available} ${gpu.model} here`)
    }
  })
  return listed
}
