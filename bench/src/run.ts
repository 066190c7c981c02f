/**
 * The one entry to Shoal's benchmarks: `npm run bench -- NAME [--quick] [--latency PATH]`.
 *
 * Each benchmark is a module in `./benchmarks/NAME.js` exporting
 * `run(options: BenchOptions): Promise<BenchResult>`. Progress goes to stderr;
 * the last line on stdout is one JSON object with the figures, the baseline
 * measured in the same run and the ratio to it.
 */

import { readdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parseBenchArgs } from './options.js'
import type { Benchmark } from './options.js'

async function listBenchmarks (): Promise<string[]> {
  const dir = fileURLToPath(new URL('./benchmarks/', import.meta.url))
  const files = await readdir(dir)
  return files.filter(f => f.endsWith('.js')).map(f => f.slice(0, -3)).sort()
}

async function main (): Promise<void> {
  const options = parseBenchArgs(process.argv.slice(2))
  const names = await listBenchmarks()

  if (options.name == null || options.help) {
    process.stderr.write(`usage: npm run bench -- NAME [--quick] [--latency PATH] [--seed N]\n\nbenchmarks: ${names.join(', ')}\n`)
    process.exitCode = options.help ? 0 : 2
    return
  }

  if (!names.includes(options.name)) {
    process.stderr.write(`unknown benchmark "${options.name}"; known: ${names.join(', ')}\n`)
    process.exitCode = 2
    return
  }

  const mod: Benchmark = await import(`./benchmarks/${options.name}.js`)
  const started = Date.now()
  const result = await mod.run(options)
  const line = {
    benchmark: options.name,
    quick: options.quick,
    node: process.version,
    elapsed_s: Math.round((Date.now() - started) / 100) / 10,
    ...result
  }
  process.stdout.write(JSON.stringify(line) + '\n')
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`)
  process.exitCode = 1
})
