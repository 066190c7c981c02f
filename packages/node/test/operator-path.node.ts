/**
 * The operator's path, walked exactly as the documentation writes it: the
 * ```sh blocks of README.md's "Run a node" and of examples/full-node/README.md
 * are read from the files at test time and each line is run with `sh -c`
 * from the repository root, in order, as real OS processes. The test holds
 * no copy of the commands: change the docs and this test walks the new text.
 *
 * Each line runs in a fresh shell with the operator's environment and nothing
 * else: what a line needs (a data dir, an API port) it must say itself, in
 * front of the command or as a flag, as an operator typing it into a new
 * terminal would ("in another terminal" is how the docs start the next
 * command). A line without a prefix gets the defaults, so two documented
 * nodes that leave out their own data dir or port collide here as they would
 * on the operator's machine (DataDirLockedError, port in use), and the walk
 * fails. Nothing is separated that the docs do not separate.
 *
 * What is mapped, not added, to run the path inside a test on a shared machine:
 * - HOME is a temporary directory and XDG_DATA_HOME is unset, so the default
 *   data dir (`~/.local/share/shoal`) and every documented one
 *   (`~/.local/share/shoal-gpu`, ...) land in it through the shell's `~`
 *   and the CLI's own default, and nothing touches the user's home. No SHOAL_*
 *   variable of the test's own environment reaches a line.
 * - documented API ports are free ports chosen by the test: a literal 7460,
 *   7461, 7462, ... in a line (`SHOAL_API_PORT=7461`, `127.0.0.1:7460`) is
 *   rewritten to p0, p1, p2, ..., always the same one for the same number; the
 *   default port 7460 of a node given none maps to p0 through SHOAL_API_PORT=p0
 *   in the operator's environment, which a line's own prefix or flag overrides
 *   as it would the default (a config file's `apiPort` is mapped the same way).
 * - libp2p's fixed tcp/4001 (gpu-provider.yaml's `listen`) is a free port
 *   too: a `node start` whose config listens on it gets the same `listen` with
 *   the mapped port in SHOAL_LISTEN (which overrides the file's), so a
 *   second node on 4001 still collides, but another suite on this machine does not.
 * - `shoal` is a two-line script on PATH running the built CLI with the
 *   project's Node (the guide defines `shoal` as `node packages/node/dist/src/cli.js`);
 *   `npx shoal` is run as written.
 * - `npm start` runs what the guide says it runs (`node packages/node/dist/src/cli.js
 *   node start`) without `npm run build`: the suite built already, and a build
 *   would rewrite the dist this test runs from.
 * - `--out FILE` with a relative FILE writes into the temporary directory, not
 *   into the checkout.
 * - long-running commands (`node start`, `npm start`) start in the background
 *   in their own process group, and are stopped with SIGTERM to that group
 *   (what Ctrl-C, `docker stop` and systemd do) when the next document starts
 *   (each guide starts from no running node; data dirs, and so identities
 *   and receipts, persist) and at the end.
 * - before a `job submit`, the walk waits until the node it goes to has met
 *   every running provider (mDNS), as "with a provider on the network" asks.
 *
 * Lines that cannot run here are skipped by name, as pending tests whose
 * title says why (see skipReason); placeholders (documentation addresses) are
 * examples, not steps.
 */

import { strict as assert } from 'node:assert'
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { freePort } from './fixtures/cli-process.js'
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
  if (line.section.includes('Docker') || /\bdocker\b/.test(line.command)) {
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

/** A node a documented `node start` line started, as it says in its start lines and api.json. */
interface RunningNode {
  line: DocLine
  proc: Proc
  /** its role, for the titles and the checks after the walk */
  role: string
  dataDir: string
  apiPort: number
  peerId: string
  /** when it was started (ms since the epoch) */
  startedAt: number
}

interface Result { code: number | null, stdout: string, stderr: string }

/** A line without its trailing `# comment` (the docs quote no `#`). */
function code (command: string): string {
  return command.replace(/(^|\s)#.*$/, '').trim()
}

function isStart (command: string): boolean {
  return /\bnpm start\b/.test(code(command)) || /\bnode start\b/.test(code(command))
}

/** The documented ports a line names: API ports 7460-7469 and libp2p's 4001. */
const DOCUMENTED_PORT = /\b(746\d|4001)\b/g

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
  let home = ''
  /** the operator's environment: see the header comment */
  let operator: NodeJS.ProcessEnv = {}
  /** documented port -> the free port it maps to */
  const ports = new Map<number, number>()
  /** the nodes running now, in the order the documents started them */
  let running: RunningNode[] = []
  const all: Proc[] = []
  /** what the `job submit` lines printed, to check the receipts against */
  const submitted: Array<{ command: string, result: Result }> = []

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'shoal-operator-'))
    home = join(root, 'home')
    const bin = join(root, 'bin')
    await mkdir(bin)
    await mkdir(home)
    // `shoal` as the guide defines it, run with the project's Node
    await writeFile(join(bin, 'shoal'), `#!/bin/sh\nexec "${join(BIN, 'node')}" "${CLI}" "$@"\n`)
    await chmod(join(bin, 'shoal'), 0o755)
    operator = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SHOAL_') && name !== 'XDG_DATA_HOME'))
    // node_modules/.bin first, as in every npm script: `node` is the project's Node 24
    operator.PATH = [bin, BIN, process.env.PATH ?? ''].join(':')
    operator.HOME = home
    // the default API port, 7460, is a documented port: mapped like a written one
    operator.SHOAL_API_PORT = String(await mapped(7460))
  })

  after(async () => {
    for (const proc of all) {
      if (proc.running()) signalGroup(proc, 'SIGKILL')
    }
    await Promise.all(all.map(async p => Promise.race([p.exited, sleep(5000)])))
    if (root !== '') await rm(root, { recursive: true, force: true })
  })

  /** The free port a documented port maps to, the same one every time. */
  async function mapped (port: number): Promise<number> {
    let free = ports.get(port)
    while (free === undefined) {
      const candidate = await freePort()
      if (![...ports.values()].includes(candidate)) free = candidate
    }
    ports.set(port, free)
    return free
  }

  /** The mappings of the header comment, applied to one documented line. */
  async function substitute (command: string): Promise<string> {
    for (const m of command.matchAll(DOCUMENTED_PORT)) await mapped(Number(m[1]))
    return command
      .replace(/\bnpm start\b/, 'node packages/node/dist/src/cli.js node start')
      .replace(DOCUMENTED_PORT, (port) => String(ports.get(Number(port))))
      .replace(/--out (?!\/)(\S+)/, (_m, file: string) => `--out ${join(root, file)}`)
  }

  /**
   * The environment a line runs in: the operator's; for a `node start` whose config file
   * listens on tcp/4001 or sets `apiPort`, those ports mapped (SHOAL_* overrides the file,
   * and the operator's SHOAL_API_PORT=p0 would otherwise hide the file's `apiPort`).
   */
  async function lineEnv (command: string): Promise<NodeJS.ProcessEnv> {
    const file = /--config (\S+)/.exec(code(command))?.[1]
    if (file === undefined || !isStart(command)) return operator
    const config: { listen?: unknown, apiPort?: unknown } | null = parseYaml(await readFile(join(REPO, file), 'utf8'))
    const env = { ...operator }
    if (typeof config?.apiPort === 'number') env.SHOAL_API_PORT = String(config.apiPort === 0 ? 0 : await mapped(config.apiPort))
    const listen = config?.listen
    if (Array.isArray(listen) && listen.some(a => /\/tcp\/4001\b/.test(String(a)))) {
      const free = await mapped(4001)
      env.SHOAL_LISTEN = listen.map(a => String(a).replace(/\/tcp\/4001\b/, `/tcp/${free}`)).join(',')
    }
    return env
  }

  /** The data dir a line's `shoal` command reads, as the CLI finds it: --data-dir, SHOAL_DATA_DIR, the default. */
  function lineDataDir (command: string): string {
    const dir = /--data-dir (\S+)/.exec(code(command))?.[1] ?? /\bSHOAL_DATA_DIR=(\S+)/.exec(code(command))?.[1]
    if (dir === undefined) return join(home, '.local/share/shoal')
    return dir.startsWith('~/') ? join(home, dir.slice(2)) : join(REPO, dir)
  }

  /** Run a command to its end (killed with its group after `ms`). */
  async function run (command: string, env: NodeJS.ProcessEnv, ms = 30_000): Promise<Result> {
    const proc = spawnLine(command, env)
    all.push(proc)
    const timer = setTimeout(() => { signalGroup(proc, 'SIGKILL') }, ms)
    const exit = await proc.exited
    clearTimeout(timer)
    return { code: exit, stdout: proc.stdout(), stderr: proc.stderr() }
  }

  /** A `shoal` command of the walk's own checks, asking the node in `dataDir`. */
  async function ask (node: RunningNode, args: string): Promise<Result> {
    return run(`shoal ${args} --data-dir '${node.dataDir}'`, operator)
  }

  /** Stop a node as Ctrl-C would: a signal to its process group, then a clean exit. */
  async function stop (node: RunningNode): Promise<void> {
    running = running.filter(n => n !== node)
    if (!node.proc.running()) return
    // the whole group, as Ctrl-C in a terminal and systemd's stop do: sh and npx get it too; the
    // node's own words say how it ended (sh, killed by the signal, has no exit code to tell)
    signalGroup(node.proc, 'SIGTERM')
    const exit = await Promise.race([node.proc.exited, sleep(40_000).then(() => 'hung' as const)])
    assert.notEqual(exit, 'hung', `the ${node.role} node did not stop within 40 s of SIGTERM:\n${node.proc.stderr()}`)
    assert.match(node.proc.stderr(), /^shoal: stopped$/m, `the ${node.role} node did not stop cleanly on SIGTERM:\n${node.proc.stderr()}`)
    await assert.rejects(readFile(join(node.dataDir, 'api.json')), `the ${node.role} node left api.json behind`)
  }

  async function startStep (line: DocLine): Promise<void> {
    const startedAt = Date.now()
    const proc = spawnLine(await substitute(line.command), await lineEnv(line.command))
    all.push(proc)
    // the node's start lines name its data dir, and its api.json there where its API is
    const node = await waitFor(() => `\`${line.command}\` to start (its start lines and api.json); it printed:\n${proc.stdout()}${proc.stderr()}`, 45_000, async () => {
      if (!proc.running() || proc.child.exitCode !== null) {
        assert.fail(`\`${line.command}\` exited with ${String(proc.child.exitCode)} before it started:\n${proc.stderr()}${proc.stdout()}`)
      }
      const dataDir = /^ {2}data dir {2}(.+)$/m.exec(proc.stdout())?.[1]
      if (dataDir === undefined) return undefined
      try {
        const api: { port: number, peerId: string } = JSON.parse(await readFile(join(dataDir, 'api.json'), 'utf8'))
        const role = /^ {2}role {6}(\S+)/m.exec(proc.stdout())?.[1] ?? 'unknown'
        return { line, proc, role, dataDir, apiPort: api.port, peerId: api.peerId, startedAt }
      } catch {
        return undefined
      }
    })
    running.push(node)
  }

  /** The last lines the other running nodes printed: what an operator would look at when a job fails. */
  function nodeLogs (except?: RunningNode): string {
    return running.filter(o => o !== except).map(o => {
      const lines = `${o.proc.stdout()}${o.proc.stderr()}`.split('\n').filter(l => l !== '').slice(-8)
      return `\n--- the ${o.role} node's last lines:\n${lines.join('\n')}`
    }).join('')
  }

  /** Before a job: wait until the node it goes to met every running provider (mDNS, as zero config promises). */
  async function providersMet (requester: RunningNode): Promise<void> {
    const providers = running.filter(n => n !== requester)
    let last = ''
    await waitFor(() => `the ${requester.role} node to find ${providers.map(p => `${p.role} ${p.peerId}`).join(', ')} on the local network (mDNS); last \`shoal peers --json\`: ${last}${nodeLogs(requester)}`, 30_000, async () => {
      const r = await ask(requester, 'peers --json')
      last = `exit ${String(r.code)} ${r.stderr}${r.stdout}`.slice(0, 2000)
      if (r.code !== 0) return undefined
      const peers: Array<{ peerId: string }> = JSON.parse(r.stdout)
      return providers.every(p => peers.some(peer => peer.peerId === p.peerId)) ? true : undefined
    })
  }

  async function lineStep (line: DocLine): Promise<void> {
    // a fresh shell per line: state one line would leave to the next is not the operator's
    assert.doesNotMatch(code(line.command), /^(export|cd|source|\.)\s/, 'the walk runs each line in a fresh shell (a new terminal): give the variables in front of the command')
    if (isStart(line.command)) {
      await startStep(line)
      return
    }
    const submit = /\bjob submit\b/.test(line.command)
    const target = running.find(n => n.dataDir === lineDataDir(line.command))
    if (submit && target !== undefined) await providersMet(target)
    const command = await substitute(line.command)
    const result = await run(command, await lineEnv(line.command), submit ? 130_000 : 30_000)
    assert.equal(result.code, 0, `exit ${String(result.code)}:\n${result.stderr}${result.stdout}${submit ? nodeLogs(target) : ''}`)
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
      const out = command.replace(/^.*--out (\S+).*$/, '$1')
      const exported = (await readFile(out, 'utf8')).split('\n').filter(l => l !== '')
      assert.ok(exported.length > 0, 'receipts export wrote no receipt')
      for (const l of exported) JSON.parse(l)
    }
  }

  for (const doc of documents) {
    describe(`${doc.file}${doc.section !== undefined ? ` "${doc.section}"` : ''}`, () => {
      before(async () => {
        // a new document: the operator stops the nodes of the previous one (same data dirs: identities and receipts persist)
        for (const node of [...running]) await stop(node)
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
      const requester = running.find(n => n.role === 'requester')
      assert.ok(requester !== undefined, `no requester is running; running: ${running.map(n => n.role).join(', ')}`)
      const mine: ListedReceipt[] = JSON.parse((await ask(requester, 'receipts list --json')).stdout)
      // a node that only witnesses (witness.yaml) serves no job
      const providers = running.filter(n => n.role.endsWith('-provider'))
      assert.ok(providers.length >= 2, `a GPU provider and a capture provider run; running: ${providers.map(p => p.role).join(', ')}`)
      for (const p of providers) {
        const theirs: ListedReceipt[] = await waitFor(`the ${p.role} node to store a countersigned receipt`, 20_000, async () => {
          const list: ListedReceipt[] = JSON.parse((await ask(p, 'receipts list --json')).stdout)
          return list.some(r => r.state === 'countersigned') ? list : undefined
        })
        const receipt = theirs.find(r => r.state === 'countersigned' && r.provider === p.peerId && r.requester === requester.peerId)
        assert.ok(receipt !== undefined, `the ${p.role} node has no countersigned receipt for the requester: ${JSON.stringify(theirs)}`)
        assert.ok(mine.some(r => r.id === receipt.id && r.state === 'countersigned'), `the requester does not have the ${p.role} node's receipt ${receipt.id}: ${JSON.stringify(mine)}`)
      }
    })

    it('each provider\'s log names the job it served (the node says what it is doing)', async () => {
      const silent: string[] = []
      for (const p of running.filter(n => n.role !== 'requester')) {
        const r = await ask(p, 'receipts list --json')
        // the jobs this process served (an earlier node in the same data dir logged elsewhere)
        const served = (r.code === 0 ? JSON.parse(r.stdout) as Array<ListedReceipt & { addedAt: number }> : []).filter(x => x.addedAt >= p.startedAt)
        const log = `${p.proc.stdout()}${p.proc.stderr()}`
        // the first 8 hex digits: however short the log's job id, it starts with these
        for (const receipt of served) if (!log.includes(receipt.jobId.slice(0, 8))) silent.push(`${p.role}: job ${receipt.jobId.slice(0, 12)} not in its log`)
        if (served.length === 0) silent.push(`${p.role}: served no job`)
      }
      assert.deepEqual(silent, [])
    })

    it('/metrics on the requester and on each provider counts completed jobs in its role and the receipts', async () => {
      assert.ok(running.length >= 3, `a requester and two providers run; running: ${running.map(n => n.role).join(', ')}`)
      const problems: string[] = []
      // the requester the jobs went to, and the providers (a node that only witnesses runs no job)
      const requester = running.find(n => n.role === 'requester')
      for (const node of running.filter(n => n === requester || n.role.endsWith('-provider'))) {
        const r = await run(`curl -s 127.0.0.1:${node.apiPort}/metrics`, operator)
        assert.equal(r.code, 0, `curl /metrics failed for the ${node.role} node`)
        // jobs that ended here with a receipt and exit status 0, counted in this node's role
        const role = node.role === 'requester' ? 'requester' : 'provider'
        const completed = metricSum(r.stdout, /^shoal_node_jobs_total$/, new RegExp(`(?=.*\\brole="${role}")(?=.*\\boutcome="completed")`))
        if (!(completed > 0)) problems.push(`${node.role}: no shoal_node_jobs_total{role="${role}",outcome="completed"} above 0`)
        if (!(metricSum(r.stdout, /^shoal_node_receipts_total$/, /state="countersigned"/) > 0)) problems.push(`${node.role}: no countersigned receipt counted`)
      }
      assert.deepEqual(problems, [])
    })

    it('SIGTERM stops every node cleanly ("shoal: stopped", api.json removed)', async () => {
      for (const node of [...running]) await stop(node)
    })
  })
})
