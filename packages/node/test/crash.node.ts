import { strict as assert } from 'node:assert'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRng } from '@shoal/utils'
import { createShoalNode } from '../src/index.js'
import { LOCAL } from './fixtures/local.js'
import type { ShoalNode } from '../src/index.js'

// dist/test/crash.node.js -> dist/test/fixtures/receipt-writer.js
const WRITER = fileURLToPath(new URL('./fixtures/receipt-writer.js', import.meta.url))
const KILLS = 20
/** the kill lands this long (ms, random) after the round's first acknowledged receipt */
const MAX_KILL_DELAY = 300

interface Round {
  acked: string[]
  stderr: string
  delay: number
}

/**
 * Start the writer on `dataDir`, wait for it to acknowledge a receipt, then
 * SIGKILL it at a random moment while it keeps writing.
 */
async function writeAndKill (dataDir: string, random: () => number): Promise<Round> {
  const child = spawn(process.execPath, [WRITER, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
  const acked: string[] = []
  let stderr = ''
  let buffered = ''
  let killTimer: ReturnType<typeof setTimeout> | undefined
  const delay = Math.floor(random() * MAX_KILL_DELAY)
  const exited = new Promise<void>(resolve => child.on('exit', () => { resolve() }))
  const giveUp = setTimeout(() => { child.kill('SIGKILL') }, 30_000)
  child.stderr.on('data', (d) => { stderr += d })
  child.stdout.on('data', (d) => {
    buffered += d
    const lines = buffered.split('\n')
    buffered = lines.pop() ?? ''
    for (const line of lines) {
      if (!line.startsWith('ack ')) continue
      acked.push(line.slice(4))
      killTimer ??= setTimeout(() => { child.kill('SIGKILL') }, delay)
    }
  })
  await exited
  clearTimeout(giveUp)
  clearTimeout(killTimer)
  // whatever reached the pipe before the kill was acknowledged too
  for (const line of buffered.split('\n')) if (line.startsWith('ack ') && line.length === 4 + 64) acked.push(line.slice(4))
  assert.equal(child.signalCode, 'SIGKILL', `the writer ended on its own (exit ${child.exitCode}): ${stderr}`)
  assert.ok(acked.length > 0, `the writer acknowledged nothing before the kill: ${stderr}`)
  return { acked, stderr, delay }
}

/** Seeded random floats: the kill moments of a failing run can be replayed from the seed. */
function prng (seed: number): () => number {
  const rng = createRng(seed)
  return () => rng.float()
}

describe('kill -9 during receipt writes', function () {
  this.timeout(120_000)
  let root: string
  let node: ShoalNode | undefined

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'shoal-crash-'))
  })

  afterEach(async () => {
    await node?.stop()
    node = undefined
    await rm(root, { recursive: true, force: true })
  })

  it(`${KILLS} kills: every restart opens the store, the log verifies and no acknowledged receipt is missing`, async () => {
    const dataDir = join(root, 'data')
    const seed = Number(process.env.SHOAL_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))
    const random = prng(seed)
    const acknowledged = new Set<string>()
    let lastLength = 0
    for (let round = 1; round <= KILLS; round++) {
      const { acked, delay } = await writeAndKill(dataDir, random)
      acked.forEach(id => acknowledged.add(id))
      const where = `round ${round} (seed ${seed}, kill ${delay} ms after the first ack)`

      // restart on the same data dir, as an operator would after the crash
      node = await createShoalNode({ ...LOCAL, dataDir })
      const receipts = node.services.receipts
      const verified = await receipts.verifyLog({ signatures: true })
      assert.equal(verified.ok, true, `${where}: the log does not verify: ${JSON.stringify(verified.problems)}`)
      assert.ok(verified.length >= lastLength, `${where}: the log shrank from ${lastLength} to ${verified.length}`)
      lastLength = verified.length
      const missing: string[] = []
      for (const id of acknowledged) {
        if (!await receipts.has(Buffer.from(id, 'hex'))) missing.push(id)
      }
      assert.deepEqual(missing, [], `${where}: ${missing.length} acknowledged receipt(s) missing`)
      assert.ok(verified.length >= acknowledged.size, `${where}: ${acknowledged.size} acknowledged, ${verified.length} in the log`)
      await node.stop()
      node = undefined
    }
  })
})
