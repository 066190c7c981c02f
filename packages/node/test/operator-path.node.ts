/**
 * The operator's path, walked exactly as the documentation writes it: the
 * ```sh blocks of README.md's "Run a node" and of examples/full-node/README.md
 * are read from the files at test time and each line is run with `sh -c`
 * from the repository root, in order, as real OS processes. The test holds
 * no copy of the commands: change the docs and this test walks the new text.
 *
 * The only changes to what an operator types, each needed to run the path
 * inside a test on one machine:
 * - `shoal` is a two-line script on PATH running the built CLI with the
 *   project's Node (the guide defines `shoal` as `node packages/node/dist/src/cli.js`);
 *   `npx shoal` is run as written.
 * - `npm start` runs what the guide says it runs (`node packages/node/dist/src/cli.js
 *   node start`) without `npm run build`: the suite built already, and a build
 *   would rewrite the dist this test runs from.
 * - each node runs in its own "terminal": an environment with its own
 *   SHOAL_DATA_DIR and SHOAL_API_PORT (and XDG_DATA_HOME in a temporary
 *   directory), so that a requester and providers run side by side on one
 *   machine and nothing touches the user's home; `127.0.0.1:7460` in a
 *   command becomes the terminal's API port.
 * - `--out FILE` with a relative FILE writes into the temporary directory, not
 *   into the checkout.
 * - long-running commands (`node start`, `npm start`) start in the background
 *   in their own process group, and are stopped with SIGTERM to that group
 *   (what Ctrl-C, `docker stop` and systemd do) when the next document starts
 *   and at the end.
 *
 * Which terminal a line runs in: a `node start` opens the terminal named by
 * its config file (none: the requester); `job submit` runs in the
 * requester's; any other line runs where the previous line ran.
 *
 * Lines that cannot run here are skipped by name, as pending tests whose
 * title says why (see SKIPS); placeholders (documentation addresses) are
 * examples, not steps.
 */

import { strict as assert } from 'node:assert'
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import type { ChildProcess } from 'node:child_process'

// dist/test/operator-path.node.js -> the repository root
const REPO = fileURLToPath(new URL('../../../../', import.meta.url))
const CLI = join(REPO, 'packages/node/dist/src/cli.js')
const BIN = join(REPO, 'node_modules/.bin')

/** The documents walked, in order, and the part of each that is the operator's path. */
const DOCUMENTS = [
  { file: 'README.md', section: 'Run a node' },
  { file: 'examples/full-node/README.md', section: undefined }
]

/** A ```sh line of a document. */
interface DocLine {
  file: string
  /** 1-based line number in the file */
  line: number
  /** the `## ` heading it is under */
  section: string
  command: string
}

/** A ```yaml block of a document and the file the paragraph before it links to, if any. */
interface DocYaml {
  file: string
  line: number
  text: string
  linked?: string
}

/** The ```sh lines and ```yaml blocks of a document (or of one `## ` section of it). */
function readDocument (file: string, only?: string): { lines: DocLine[], yamls: DocYaml[] } {
  const text = readFileSync(join(REPO, file), 'utf8').split('\n')
  const lines: DocLine[] = []
  const yamls: DocYaml[] = []
  let section = ''
  let fence: { lang: string, start: number, body: string[] } | undefined
  let lastLink: string | undefined
  text.forEach((raw, i) => {
    if (fence !== undefined) {
      if (raw.startsWith('```')) {
        if (fence.lang === 'yaml') {
          yamls.push({ file, line: fence.start, text: fence.body.join('\n'), linked: lastLink })
          lastLink = undefined
        }
        fence = undefined
        return
      }
      if (fence.lang === 'sh' && raw.trim() !== '' && !raw.trim().startsWith('#')) {
        lines.push({ file, line: i + 1, section, command: raw.trim() })
      }
      fence.body.push(raw)
      return
    }
    if (raw.startsWith('## ')) {
      section = raw.slice(3).trim()
      lastLink = undefined
    }
    if (only !== undefined && section !== only) return
    if (raw.startsWith('```')) {
      fence = { lang: raw.slice(3).trim(), start: i + 1, body: [] }
      return
    }
    const link = /\]\(([^)]+\.ya?ml)\)/.exec(raw)
    if (link !== null) lastLink = join(dirname(file), link[1])
  })
  return { lines, yamls }
}

/** Why a documented line is not run; undefined: it is a step. */
function skipReason (line: DocLine, docker: boolean): string | undefined {
  // 203.0.113.0/24 is TEST-NET-3 and `12D3KooW...` an elided peer id: an example of the flag, not a step
  if (/203\.0\.113\.|12D3KooW\.\.\./.test(line.command)) return 'placeholder address (documentation example, not a step)'
  if (/^npm (install|ci)\b/.test(line.command)) return 'the checkout this suite runs from is installed already; a second install would rewrite node_modules under the running tests'
  if (line.section.includes('Docker') || /\bdocker\b|testnet-bootstrap-addr/.test(line.command)) {
    return docker
      ? 'the Docker testnet builds an image (minutes): it has its own test, out of this walk\'s time budget'
      : 'no Docker daemon runs on this machine (`docker info` fails)'
  }
  if (/\bsystemctl\b|journalctl/.test(line.command)) return 'systemd is not available to a test'
  return undefined
}

function dockerRuns (): boolean {
  try {
    return spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0
  } catch {
    return false
  }
}

/** A process started from a documented line. */
interface Proc {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  /** resolves when the line's process and every process of its group sharing its output are gone */
  exited: Promise<number | null>
  /** whether some process of the group still holds its output open */
  running: () => boolean
}

/** A terminal: the environment one node and the commands addressed to it run in. */
interface Terminal {
  name: string
  dataDir: string
  apiPort: number
  env: NodeJS.ProcessEnv
  node?: Proc
  /** when its running node was started (ms since the epoch) */
  startedAt?: number
}

interface Result { code: number | null, stdout: string, stderr: string }

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}

/** The substitutions of the header comment, applied to one documented line. */
function substitute (command: string, terminal: Terminal, root: string): string {
  return command
    .replace(/^npm start\b/, 'node packages/node/dist/src/cli.js node start')
    .replace(/127\.0\.0\.1:7460/g, `127.0.0.1:${terminal.apiPort}`)
    .replace(/--out (?!\/)(\S+)/, (_m, file: string) => `--out ${join(root, file)}`)
}

function isStart (command: string): boolean {
  return /^npm start\b/.test(command) || /\bnode start\b/.test(command)
}

/** The terminal a `node start` line opens: named after its config file. */
function startTerminalName (command: string): string {
  const config = /--config (\S+)/.exec(command)?.[1]
  if (config === undefined) return 'requester'
  return config.replace(/^.*\//, '').replace(/\.ya?ml$/, '')
}

function spawnLine (command: string, env: NodeJS.ProcessEnv): Proc {
  // its own process group (detached), so that stopping it stops npx, sh and node together
  const child = spawn('sh', ['-c', command], { cwd: REPO, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d) => { stdout += d })
  child.stderr?.on('data', (d) => { stderr += d })
  let closed = false
  // 'close': the line's process has exited and every process of its group that shares its output has too
  const exited = new Promise<number | null>(resolve => child.on('close', (code, signal) => {
    closed = true
    resolve(code ?? (signal !== null ? 128 : null))
  }))
  return { child, stdout: () => stdout, stderr: () => stderr, exited, running: () => !closed }
}

function signalGroup (proc: Proc, signal: NodeJS.Signals): void {
  if (proc.child.pid === undefined) return
  try {
    process.kill(-proc.child.pid, signal)
  } catch {}
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** Poll `fn` until it returns a value; fail naming `what` after `ms`. */
async function waitFor<T> (what: string | (() => string), ms: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms
  while (true) {
    const value = await fn()
    if (value !== undefined) return value
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${typeof what === 'string' ? what : what()}`)
    await sleep(250)
  }
}

/** Every key of `part` has the same value in `whole` (arrays element by element). */
function assertSubset (part: unknown, whole: unknown, path: string): void {
  if (part !== null && typeof part === 'object') {
    assert.ok(whole !== null && typeof whole === 'object', `${path}: the file has ${JSON.stringify(whole)}, the document shows ${JSON.stringify(part)}`)
    for (const [key, value] of Object.entries(part)) {
      assertSubset(value, (whole as Record<string, unknown>)[key], `${path}.${key}`)
    }
    return
  }
  assert.deepEqual(whole, part, `${path}: the file has ${JSON.stringify(whole)}, the document shows ${JSON.stringify(part)}`)
}

/** The receipts a `receipts list --json` printed. */
interface ListedReceipt { id: string, state: string, jobId: string, provider: string, requester: string }

/** Sum of the samples of metrics whose name matches `name` and whose labels match `labels`. */
function metricSum (text: string, name: RegExp, labels: RegExp = /.*/): number {
  let sum = 0
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? ([-+\d.eE]+|NaN)$/.exec(line)
    if (m === null || !name.test(m[1]) || !labels.test(m[2] ?? '')) continue
    const value = Number(m[3])
    if (Number.isFinite(value)) sum += value
  }
  return sum
}

describe('the operator\'s path as documented (README "Run a node", examples/full-node/README.md)', function () {
  // each step has its own timeout; the walk as a whole stays around two minutes
  this.timeout(150_000)
  const docker = dockerRuns()
  const documents = DOCUMENTS.map(d => ({ ...d, ...readDocument(d.file, d.section) }))
  let root = ''
  let pathEnv = ''
  const terminals = new Map<string, Terminal>()
  const all: Proc[] = []
  let current: Terminal | undefined
  /** what each terminal's `job submit` lines printed, to check the receipts against */
  const submitted: Array<{ command: string, result: Result }> = []

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'shoal-operator-'))
    const bin = join(root, 'bin')
    await mkdir(bin)
    // `shoal` as the guide defines it, run with the project's Node
    await writeFile(join(bin, 'shoal'), `#!/bin/sh\nexec "${join(BIN, 'node')}" "${CLI}" "$@"\n`)
    await chmod(join(bin, 'shoal'), 0o755)
    // node_modules/.bin first, as in every npm script: `node` is the project's Node 24
    pathEnv = [bin, BIN, process.env.PATH ?? ''].join(':')
  })

  after(async () => {
    for (const proc of all) {
      if (proc.running()) signalGroup(proc, 'SIGKILL')
    }
    await Promise.all(all.map(async p => Promise.race([p.exited, sleep(5000)])))
    if (root !== '') await rm(root, { recursive: true, force: true })
  })

  async function terminal (name: string): Promise<Terminal> {
    let t = terminals.get(name)
    if (t === undefined) {
      const dataDir = join(root, 'data', name)
      const apiPort = await freePort()
      t = {
        name,
        dataDir,
        apiPort,
        env: { ...process.env, PATH: pathEnv, SHOAL_DATA_DIR: dataDir, SHOAL_API_PORT: String(apiPort), XDG_DATA_HOME: join(root, 'xdg'), SHOAL_CONFIG: '' }
      }
      terminals.set(name, t)
    }
    return t
  }

  /** Run a line in a terminal to its end (killed with its group after `ms`). */
  async function run (command: string, t: Terminal, ms = 30_000): Promise<Result> {
    const proc = spawnLine(substitute(command, t, root), t.env)
    all.push(proc)
    const timer = setTimeout(() => { signalGroup(proc, 'SIGKILL') }, ms)
    const code = await proc.exited
    clearTimeout(timer)
    return { code, stdout: proc.stdout(), stderr: proc.stderr() }
  }

  /** Stop a terminal's node as Ctrl-C would: a signal to its process group, then a clean exit. */
  async function stop (t: Terminal): Promise<void> {
    const node = t.node
    if (node === undefined) return
    t.node = undefined
    if (!node.running()) return
    // the whole group, as Ctrl-C in a terminal and systemd's stop do: sh and npx get it too; the
    // node's own words say how it ended (sh, killed by the signal, has no exit code to tell)
    signalGroup(node, 'SIGTERM')
    const code = await Promise.race([node.exited, sleep(40_000).then(() => 'hung' as const)])
    assert.notEqual(code, 'hung', `the ${t.name} node did not stop within 40 s of SIGTERM:\n${node.stderr()}`)
    assert.match(node.stderr(), /^shoal: stopped$/m, `the ${t.name} node did not stop cleanly on SIGTERM:\n${node.stderr()}`)
    await assert.rejects(readFile(join(t.dataDir, 'api.json')), `the ${t.name} node left api.json behind`)
  }

  async function ids (t: Terminal): Promise<string> {
    const r = await run('shoal id --json', t)
    assert.equal(r.code, 0, `shoal id failed in the ${t.name} terminal: ${r.stderr}`)
    return JSON.parse(r.stdout).peerId
  }

  async function startStep (line: DocLine): Promise<void> {
    const t = await terminal(startTerminalName(line.command))
    current = t
    if (t.node !== undefined) await stop(t)
    t.startedAt = Date.now()
    const node = spawnLine(substitute(line.command, t, root), t.env)
    all.push(node)
    t.node = node
    await waitFor(`the ${t.name} node to start (api.json in its data dir)`, 45_000, async () => {
      if (node.child.exitCode !== null) {
        assert.fail(`\`${line.command}\` exited with ${node.child.exitCode}:\n${node.stderr()}${node.stdout()}`)
      }
      try {
        return JSON.parse(await readFile(join(t.dataDir, 'api.json'), 'utf8'))
      } catch {
        return undefined
      }
    })
    assert.match(node.stdout(), /started/, 'the node says it started')
  }

  /** The last lines the other running nodes printed: what an operator would look at when a job fails. */
  function nodeLogs (except: Terminal): string {
    return [...terminals.values()].filter(o => o !== except && o.node !== undefined).map(o => {
      const lines = `${o.node?.stdout() ?? ''}${o.node?.stderr() ?? ''}`.split('\n').filter(l => l !== '').slice(-8)
      return `\n--- the ${o.name} node's last lines:\n${lines.join('\n')}`
    }).join('')
  }

  /** Before a job: wait until the requester met every running provider (mDNS, as zero config promises). */
  async function providersMet (requester: Terminal): Promise<void> {
    const providers = [...terminals.values()].filter(t => t !== requester && t.node !== undefined)
    const wanted = await Promise.all(providers.map(async p => ids(p)))
    let last = ''
    await waitFor(() => `the requester to find ${providers.map(p => p.name).join(', ')} on the local network (mDNS), ${wanted.join(" and ")}; last \`shoal peers --json\`: ${last}${nodeLogs(requester)}`, 30_000, async () => {
      const r = await run('shoal peers --json', requester)
      last = `exit ${String(r.code)} ${r.stderr}${r.stdout}`.slice(0, 2000)
      if (r.code !== 0) return undefined
      const peers: Array<{ peerId: string }> = JSON.parse(r.stdout)
      return wanted.every(id => peers.some(p => p.peerId === id)) ? true : undefined
    })
  }

  async function lineStep (line: DocLine): Promise<void> {
    if (isStart(line.command)) {
      await startStep(line)
      return
    }
    const submit = /\bjob submit\b/.test(line.command)
    const t = submit ? await terminal('requester') : current
    assert.ok(t !== undefined, 'a command before any node was started: the document starts no node first')
    current = t
    if (submit) await providersMet(t)
    const result = await run(line.command, t, submit ? 130_000 : 30_000)
    assert.equal(result.code, 0, `exit ${String(result.code)}:\n${result.stderr}${result.stdout}${submit ? nodeLogs(t) : ''}`)
    if (/--json\b/.test(line.command)) {
      assert.doesNotThrow(() => JSON.parse(result.stdout), `--json printed something that is not JSON: ${result.stdout.slice(0, 300)}`)
    }
    if (submit) {
      submitted.push({ command: line.command, result })
      // the job's output is printed: the input piped by the document comes back, as is (the echo
      // executor) or upper-cased (examples/full-node/run-job.sh's stand-in workload)
      const input = /^echo '([^']*)'/.exec(line.command)?.[1]
      if (input !== undefined) assert.ok(result.stdout.toLowerCase().includes(input.toLowerCase()), `job submit did not print the job's output ${JSON.stringify(input)}; stdout:\n${result.stdout}`)
    }
    if (/\bcurl\b.*\/health\b/.test(line.command)) assert.equal(JSON.parse(result.stdout).ok, true)
    if (/\bcurl\b.*\/metrics\b/.test(line.command)) assert.match(result.stdout, /^shoal_/m)
    if (/\breceipts export --out\b/.test(line.command)) {
      const out = substitute(line.command, t, root).replace(/^.*--out (\S+).*$/, '$1')
      const exported = (await readFile(out, 'utf8')).split('\n').filter(l => l !== '')
      assert.ok(exported.length > 0, 'receipts export wrote no receipt')
      for (const l of exported) JSON.parse(l)
    }
  }

  for (const doc of documents) {
    describe(`${doc.file}${doc.section !== undefined ? ` "${doc.section}"` : ''}`, () => {
      before(async () => {
        // a new document: the operator stops the nodes of the previous one (same data dirs: identities and receipts persist)
        for (const t of terminals.values()) await stop(t)
        current = undefined
      })

      for (const yaml of doc.yamls.filter(y => y.linked !== undefined)) {
        it(`${doc.file}:${yaml.line} the yaml shown is what ${yaml.linked} says`, async () => {
          const file = parseYaml(await readFile(join(REPO, yaml.linked ?? ''), 'utf8'))
          assertSubset(parseYaml(yaml.text), file, yaml.linked ?? '')
        })
      }

      for (const line of doc.lines) {
        const reason = skipReason(line, docker)
        const title = `${doc.file}:${line.line} $ ${line.command}`
        if (reason !== undefined) {
          it.skip(`${title}  [skipped: ${reason}]`)
          continue
        }
        it(title, async function () {
          this.timeout(150_000)
          await lineStep(line)
        })
      }
    })
  }

  describe('after the walk: both sides have the receipts, the metrics show both', () => {
    it('a GPU job and a capture job completed', () => {
      assert.ok(submitted.some(s => /--gpu-class/.test(s.command) && s.result.code === 0), 'no GPU job completed: the documents submit none, or it failed (see its step)')
      assert.ok(submitted.some(s => /--sensor/.test(s.command) && s.result.code === 0), 'no capture job completed: the documents submit none (examples/full-node/README.md "Offer a capture device"), or it failed (see its step)')
    })

    it('`receipts list --json` on the requester and on each provider shows the countersigned receipts', async () => {
      const requester = terminals.get('requester')
      assert.ok(requester?.node !== undefined, 'no requester is running')
      const requesterId = await ids(requester)
      const mine: ListedReceipt[] = JSON.parse((await run('npx shoal receipts list --json', requester)).stdout)
      const providers = [...terminals.values()].filter(t => t !== requester && t.node !== undefined)
      assert.ok(providers.length >= 2, `a GPU provider and a capture provider run; running: ${providers.map(p => p.name).join(', ')}`)
      for (const p of providers) {
        const providerId = await ids(p)
        const theirs: ListedReceipt[] = await waitFor(`the ${p.name} node to store a countersigned receipt`, 20_000, async () => {
          const list: ListedReceipt[] = JSON.parse((await run('npx shoal receipts list --json', p)).stdout)
          return list.some(r => r.state === 'countersigned') ? list : undefined
        })
        const receipt = theirs.find(r => r.state === 'countersigned' && r.provider === providerId && r.requester === requesterId)
        assert.ok(receipt !== undefined, `the ${p.name} node has no countersigned receipt for the requester: ${JSON.stringify(theirs)}`)
        assert.ok(mine.some(r => r.id === receipt.id && r.state === 'countersigned'), `the requester does not have the ${p.name} node's receipt ${receipt.id}: ${JSON.stringify(mine)}`)
      }
    })

    it('each provider\'s log names the job it served (the node says what it is doing)', async () => {
      const providers = [...terminals.values()].filter(t => t.name !== 'requester' && t.node !== undefined)
      const silent: string[] = []
      for (const p of providers) {
        const r = await run('npx shoal receipts list --json', p)
        // the jobs this process served (an earlier node in the same data dir logged elsewhere)
        const served = (r.code === 0 ? JSON.parse(r.stdout) as Array<ListedReceipt & { addedAt: number }> : []).filter(x => x.addedAt >= (p.startedAt ?? 0))
        const log = `${p.node?.stdout() ?? ''}${p.node?.stderr() ?? ''}`
        // the first 8 hex digits: however short the log's job id, it starts with these
        for (const receipt of served) if (!log.includes(receipt.jobId.slice(0, 8))) silent.push(`${p.name}: job ${receipt.jobId.slice(0, 12)} not in its log`)
        if (served.length === 0) silent.push(`${p.name}: served no job`)
      }
      assert.deepEqual(silent, [])
    })

    it('/metrics on the requester and on each provider counts the jobs and the receipts', async () => {
      const running = [...terminals.values()].filter(t => t.node !== undefined)
      assert.ok(running.length >= 3, `a requester and two providers run; running: ${running.map(t => t.name).join(', ')}`)
      const problems: string[] = []
      for (const t of running) {
        // the documented command (examples/full-node/README.md "Metrics and health"), on this terminal's port
        const r = await run('curl -s 127.0.0.1:7460/metrics', t)
        assert.equal(r.code, 0, `curl /metrics failed for the ${t.name} node`)
        // a counter of jobs (shoal_node_jobs_total or a per-outcome sibling), whatever its labels
        if (!(metricSum(r.stdout, /^shoal_\w*jobs(_\w+)?_total$/) > 0)) problems.push(`${t.name}: no shoal_*jobs*_total counter above 0`)
        if (!(metricSum(r.stdout, /^shoal_\w*receipts?_\w*total$/, /countersigned/) > 0)) problems.push(`${t.name}: no countersigned receipt counted`)
      }
      assert.deepEqual(problems, [])
    })

    it('SIGTERM stops every node cleanly ("shoal: stopped", api.json removed)', async () => {
      for (const t of terminals.values()) await stop(t)
    })
  })
})
