#!/usr/bin/env node
/**
 * `shoal-sim`: run a simulation scenario and write its events, summary and
 * plots.
 */

import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { formatSummary } from './output/summary.js'
import { writeRun } from './output/write.js'
import { ScenarioError } from './scenario/errors.js'
import { runScenario } from './scenario/run.js'
import { parseScenario } from './scenario/validate.js'
import { MAX_SHARDS } from './shard/constants.js'
import { parseHostPort } from './shard/control.js'
import { autoShards } from './shard/sharded-simulation.js'
import { joinCoordinator } from './shard/shard-runner.js'
import { errorCodeOrMessage, errorMessage, errorParts } from './error-text.js'
import type { RunProgress } from './scenario/driver.js'

const HELP = `shoal-sim — hundreds of real libp2p peers on one machine, with real-world latency

Usage:
  shoal-sim run SCENARIO.json [--out DIR] [--seed N] [--duration S] [--shards N|auto]
                [--time virtual|wall] [--cpu-factor F]
                [--shard-host thread|process|remote] [--listen HOST:PORT] [--quiet]
  shoal-sim shard --join HOST:PORT [--bind ADDR[:PORT]]
  shoal-sim check SCENARIO.json
  shoal-sim --help

Commands:
  run      place, start and wire the scenario's peers, play its timeline
           (jobs, pings, churn, partitions) and write the results to DIR:
           run.json, summary.json, events.csv, peers.csv and SVG plots
           (rtt-cdf, rtt-error-cdf, connect-cdf, world-map)
  shard    run one shard of a "--shard-host remote" run on this machine:
           connect to its coordinator, receive the plan and this shard's
           index, run its peers until the coordinator ends the run. Every
           machine needs the same checkout (built) at the same path, with
           the same latency data: paths in the plan are the coordinator's.
  check    validate a scenario file and exit (0 when valid)

Options:
  -o, --out DIR       output folder (default: out/<scenario name>)
  -s, --seed N        override the scenario's seed
  -d, --duration S    override the scenario's duration in seconds
  -j, --shards N      run the peers in N worker threads (default: the
                      scenario's "shards", else 1; "auto" = one per
                      available core). Links between shards go
                      through a gateway after the same latency model.
      --shard-host H  where shards run: thread (default: worker threads of
                      this process), process (child processes) or remote
                      (processes on any machine that join with "shoal-sim
                      shard --join"). Processes and remote shards exchange
                      packets over TCP, with the same latency model.
      --listen A      remote: HOST:PORT the coordinator waits on for the
                      --shards shards to join (default 0.0.0.0:7400)
      --join A        shard: the coordinator's HOST:PORT
      --bind A        shard: ADDR[:PORT] this shard's gateway listens on for
                      the other shards (default: the interface that reaches
                      the coordinator, any port; give a port to open it in a
                      firewall)
      --time T        the clock: virtual (default: simulated time, which
                      stands still while peers compute, so the same seed
                      gives the same events on any machine) or wall (the
                      real clock; the CPU shows as network delay)
      --cpu-factor F  virtual time: each peer's computation costs it F
                      simulated ms per real ms (default 0: free; a
                      scenario's "cpu" section can set it per role)
  -q, --quiet         no progress bar
  -h, --help          this text

Examples:
  shoal-sim run examples/simulation/world-100.json --out out/world-100
  shoal-sim run world-100.json --seed 7 --duration 30
  shoal-sim run world-1000.json --shards auto
  shoal-sim run world-1000.json --shards 2 --shard-host process
  shoal-sim check my-scenario.json

  # 10,000 peers on 4 machines: the coordinator on machine A ...
  shoal-sim run world-10k.json --shards 8 --shard-host remote --listen 0.0.0.0:7400
  # ... and on each of A, B, C, D (two shards per machine):
  shoal-sim shard --join A:7400 --bind 0.0.0.0:7401
  shoal-sim shard --join A:7400 --bind 0.0.0.0:7402

Set DEBUG=libp2p:* to see libp2p's logs (slow with many peers).
`

function bar (fraction: number, width = 28): string {
  const full = Math.round(Math.max(0, Math.min(1, fraction)) * width)
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`
}

function progressPrinter (enabled: boolean): (p: RunProgress) => void {
  const tty = process.stderr.isTTY === true
  let lastLine = ''
  let lastPrint = 0

  return (p) => {
    if (!enabled) return
    let line: string
    if (p.phase === 'run') {
      line = `run      ${bar(p.elapsedS / Math.max(p.durationS, 1e-9))} ${p.elapsedS.toFixed(0)}/${p.durationS} s`
    } else {
      const label = p.phase === 'start' ? 'start   ' : p.phase === 'connect' ? 'connect ' : p.phase === 'settle' ? 'settle  ' : 'stop    '
      const unit = p.phase === 'connect' ? ' dials' : p.phase === 'settle' ? ' s (DHT bootstrap)' : ' peers'
      line = `${label} ${bar(p.done / Math.max(1, p.total))} ${p.done}/${p.total}${unit}`
    }
    if (line === lastLine) return
    const now = Date.now()
    const finished = (p.phase === 'run' ? p.elapsedS >= p.durationS : p.done >= p.total)
    if (tty) {
      process.stderr.write(`\r${line}${finished ? '\n' : ''}`)
    } else if (finished || now - lastPrint > 2000) {
      // not a terminal (CI, a log file): one line every few seconds
      process.stderr.write(`${line}\n`)
      lastPrint = now
    }
    lastLine = line
  }
}

async function load (path: string): Promise<ReturnType<typeof parseScenario>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err: unknown) {
    throw new ScenarioError('', `cannot read: ${errorCodeOrMessage(err)}`, undefined, path)
  }
  return parseScenario(text, path)
}

export async function main (argv: string[] = process.argv.slice(2)): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      seed: { type: 'string', short: 's' },
      duration: { type: 'string', short: 'd' },
      shards: { type: 'string', short: 'j' },
      'shard-host': { type: 'string' },
      listen: { type: 'string' },
      join: { type: 'string' },
      bind: { type: 'string' },
      time: { type: 'string' },
      'cpu-factor': { type: 'string' },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })

  const [command, file] = positionals

  if (values.help === true || command == null) {
    process.stdout.write(HELP)
    return command == null && values.help !== true ? 2 : 0
  }

  if (command === 'shard') {
    if (values.join == null) {
      process.stderr.write(`shoal-sim: "shard" needs --join HOST:PORT (the coordinator)\n\n${HELP}`)
      return 2
    }
    for (const [name, text] of [['join', values.join], ['bind', values.bind]] as const) {
      try {
        if (text != null) parseHostPort(text, { host: '0.0.0.0', port: 0 })
      } catch (err: unknown) {
        throw new ScenarioError(name, `--${name}: ${errorMessage(err)}`)
      }
    }
    await joinCoordinator({
      join: values.join,
      bind: values.bind,
      log: (line) => { process.stderr.write(`shoal-sim shard: ${line}\n`) }
    })
    return 0
  }

  if ((command !== 'run' && command !== 'check') || file == null) {
    process.stderr.write(`shoal-sim: expected "run SCENARIO.json", "shard --join HOST:PORT" or "check SCENARIO.json"\n\n${HELP}`)
    return 2
  }

  const path = resolve(file)
  const scenario = await load(path)

  if (values.seed != null) {
    const seed = Number(values.seed)
    if (!Number.isSafeInteger(seed)) throw new ScenarioError('seed', `--seed must be an integer, got ${values.seed}`)
    scenario.seed = seed
  }
  if (values.duration != null) {
    const d = Number(values.duration)
    if (!(d >= 0)) throw new ScenarioError('durationS', `--duration must be a number of seconds >= 0, got ${values.duration}`)
    scenario.durationS = d
  }

  if (values.time != null) {
    if (values.time !== 'virtual' && values.time !== 'wall') throw new ScenarioError('time', `--time must be virtual or wall, got ${values.time}`)
    scenario.time = values.time
  }
  if (values['cpu-factor'] != null) {
    const f = Number(values['cpu-factor'])
    if (!(f >= 0 && f <= 1000)) throw new ScenarioError('cpu', `--cpu-factor must be a number in 0..1000, got ${values['cpu-factor']}`)
    scenario.cpu = { ...scenario.cpu, factor: f }
  }

  // --shards, else the scenario's own `shards`, else one thread
  const shardsSpec = values.shards ?? (scenario.shards == null ? undefined : String(scenario.shards))
  let shards = 1
  if (shardsSpec != null) {
    shards = shardsSpec === 'auto' ? autoShards() : Number(shardsSpec)
    if (!Number.isSafeInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
      throw new ScenarioError('shards', `--shards must be "auto" or an integer in 1..${MAX_SHARDS}, got ${shardsSpec}`)
    }
  }

  const shardHost = values['shard-host'] ?? 'thread'
  if (shardHost !== 'thread' && shardHost !== 'process' && shardHost !== 'remote') {
    throw new ScenarioError('shardHost', `--shard-host must be thread, process or remote, got ${shardHost}`)
  }
  if (values.listen != null && shardHost !== 'remote') {
    throw new ScenarioError('listen', '--listen is for --shard-host remote')
  }
  if (values.listen != null) {
    try {
      parseHostPort(values.listen, { host: '0.0.0.0', port: 0 })
    } catch (err: unknown) {
      throw new ScenarioError('listen', `--listen: ${errorMessage(err)}`)
    }
  }

  const peers = Object.values(scenario.regions).reduce((a, r) => a + r.peers, 0)
  if (command === 'check') {
    process.stdout.write(`${file}: valid scenario "${scenario.name}", ${peers} peers, ${scenario.durationS} s\n`)
    return 0
  }

  const out = resolve(values.out ?? `out/${scenario.name}`)
  const where = shardHost === 'thread' ? (shards > 1 ? ` in ${shards} shards` : '') : ` in ${shards} ${shardHost === 'process' ? 'shard processes' : 'remote shards'}`
  process.stderr.write(`shoal-sim: ${scenario.name}: ${peers} peers${where} for ${scenario.durationS} s (seed ${scenario.seed ?? 1}, ${scenario.time ?? 'virtual'} time) -> ${out}\n`)
  const controller = new AbortController()
  const onSigint = (): void => {
    process.stderr.write('\nshoal-sim: interrupted, writing what was measured so far\n')
    controller.abort()
  }
  process.once('SIGINT', onSigint)

  try {
    const result = await runScenario(scenario, {
      baseDir: dirname(path),
      onProgress: progressPrinter(values.quiet !== true),
      shards,
      sharding: {
        shardHost,
        listen: values.listen,
        onListening: ({ host, port }) => {
          process.stderr.write(`shoal-sim: waiting for ${shards} shard(s) on ${host}:${port}; on each machine run: shoal-sim shard --join <this machine>:${port}\n`)
        },
        onShardJoined: (shard, address) => {
          process.stderr.write(`shoal-sim: shard ${shard} joined from ${address}\n`)
        }
      },
      signal: controller.signal
    })
    const { summary, files } = await writeRun(out, result)
    process.stdout.write(`\n${formatSummary(summary)}\n\nwrote ${files.length} files to ${out}: ${files.join(', ')}\n`)
    return 0
  } finally {
    process.off('SIGINT', onSigint)
  }
}

main().then(code => {
  process.exitCode = code
  // libp2p leaves unref'd timers only, but a hook may not: do not hang after the run
  setTimeout(() => process.exit(code), 2000).unref()
}, (err: unknown) => {
  const { name, message } = errorParts(err)
  const code = err != null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined
  if (name === 'ScenarioError' || code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    process.stderr.write(`shoal-sim: ${message}\n`)
    process.exitCode = 2
  } else {
    process.stderr.write(`shoal-sim: ${err instanceof Error ? err.stack ?? String(err) : String(err)}\n`)
    process.exitCode = 1
  }
})
