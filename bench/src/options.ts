/**
 * Options shared by every benchmark, parsed from the command line.
 */
export interface BenchOptions {
  /** benchmark name (first positional argument) */
  name?: string
  /** finish in under 60 s on 2 cores */
  quick: boolean
  /** a latency data set: a file in any format the simulator reads, or a WonderNetwork-style folder */
  latency?: string
  /** seed for every random choice the benchmark makes */
  seed: number
  /** print usage */
  help: boolean
  /** any other `--key value` pairs, for benchmark-specific knobs */
  extra: Record<string, string>
}

/** The figures a benchmark reports; printed as one JSON line. */
export type BenchResult = Record<string, unknown>

/** What a benchmark module exports. */
export interface Benchmark {
  run(options: BenchOptions): Promise<BenchResult>
}

/** Parse `NAME [--quick] [--latency PATH] [--seed N] [--key value ...]`. */
export function parseBenchArgs (argv: string[]): BenchOptions {
  const options: BenchOptions = { quick: false, seed: 1, help: false, extra: {} }

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]

    if (arg === '--quick') {
      options.quick = true
    } else if (arg === '--help' || arg === '-h') {
      options.help = true
    } else if (arg === '--latency') {
      options.latency = argv[++i]
    } else if (arg === '--seed') {
      options.seed = Number.parseInt(argv[++i] ?? '1', 10)
    } else if (arg.startsWith('--')) {
      const next = argv[i + 1]
      if (next != null && !next.startsWith('--')) {
        options.extra[arg.slice(2)] = next
        i++
      } else {
        options.extra[arg.slice(2)] = 'true'
      }
    } else if (options.name == null) {
      options.name = arg
    }
  }

  return options
}

/** Log progress to stderr so stdout's last line stays the JSON result. */
export function progress (message: string): void {
  process.stderr.write(`[bench] ${message}\n`)
}
