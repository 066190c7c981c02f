import { strict as assert } from 'node:assert'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { verifyCaptureProof } from '@shoal/provenance'
import { loadCaptureProof, verdictToJson } from '../src/capture.js'
import { createShoalNode, nodeConfig, nodeDatastore } from '../src/index.js'
import { createJobApi, startProviderRole } from '../src/jobs.js'
import { LOCAL } from './fixtures/local.js'
import type { CaptureVerdictJson } from '../src/capture.js'
import type { JobRecordJson, LiveJob } from '../src/jobs.js'
import type { ShoalNode, ShoalNodeOptions } from '../src/index.js'
import type { ProviderHandle } from '../src/flows/start-provider.js'

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url))
const CELL = 'u33db'

/** Run the CLI; resolves with its exit code and output. */
async function shoal (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise(resolve => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, SHOAL_DATA_DIR: join(tmpdir(), 'shoal-no-node-here') } }, (err, stdout, stderr) => {
      resolve({ code: err == null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

// fresh test keys have no receipts history: the requester waives the history rules, nothing else
// loopback: the witnesses see the capturer at 127.0.0.1, which only a local testnet allows
const FRESH_WITNESSES = { provenance: { verify: { minWitnessCounterparties: 0, minWitnessAgeMs: 0, allowPrivateAddresses: true } } }

describe('a capture job: requester, capture provider and two witnesses (in process, TCP on loopback)', function () {
  this.timeout(120_000)
  let nodes: ShoalNode[] = []
  let role: ProviderHandle | undefined
  let dir: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-capture-job-'))
  })

  afterEach(async () => {
    role?.stop()
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
    await rm(dir, { recursive: true, force: true })
  })

  it('is not submitted by a node that cannot check captures (no provenance service) unless its defences are off', async () => {
    const blind = await createShoalNode({ ...LOCAL, services: { provenance: false } })
    nodes.push(blind)
    const api = createJobApi(blind, new Map<string, LiveJob>(), {})
    const last = await api.submit({ sensors: ['video'], seconds: 2, timeoutMs: 5_000 }, () => {}, new AbortController().signal)
    assert.equal(last.stage, 'failed')
    assert.equal(last.error, 'ConfigError')
    assert.match(String(last.message), /no provenance service/)
  })

  it('is paid exactly its verified seconds, shows its verdict, keeps its proof, and `shoal capture verify` reads the proof file', async () => {
    const witness = (): ShoalNodeOptions => ({ ...LOCAL, witness: { geohash: CELL }, services: FRESH_WITNESSES })
    const provider = await createShoalNode({
      ...LOCAL,
      role: 'capture-provider',
      provider: { region: CELL, sensors: ['video'], capture: { source: { type: 'synthetic', bytesPerSecond: 4096 }, witnesses: 2, minWitnesses: 2 } },
      services: FRESH_WITNESSES
    })
    const witnesses = [await createShoalNode(witness()), await createShoalNode(witness())]
    const requester = await createShoalNode({ ...LOCAL, dataDir: join(dir, 'requester'), services: FRESH_WITNESSES })
    nodes.push(provider, ...witnesses, requester)
    for (const w of witnesses) await provider.dial(w.getMultiaddrs()[0])
    await requester.dial(provider.getMultiaddrs()[0])
    role = startProviderRole(provider, nodeConfig(provider) ?? assert.fail('no config'))

    const api = createJobApi(requester, new Map<string, LiveJob>(), {})
    const stages: string[] = []
    const last = await api.submit({ sensors: ['video'], region: CELL, seconds: 3, maxPricePerUnit: 2, timeoutMs: 90_000 }, (event) => { stages.push(event.stage) }, new AbortController().signal)
    assert.equal(last.stage, 'receipt', `the job ended ${last.stage}: ${String(last.message)} (stages: ${stages.join(', ')})`)
    assert.ok(stages.includes('verified'), 'the proof was checked before the receipt was countersigned')
    const receipt = last.receipt as { units: number, total: number }
    const capture = last.capture as CaptureVerdictJson
    assert.equal(capture.ok, true)
    assert.equal(capture.verifiedSeconds, 3)
    assert.equal(receipt.units, 3, 'paid exactly the verified seconds')
    assert.equal(receipt.total, 3 * 1)
    assert.equal(capture.witnesses.filter(w => w.accepted).length, 2)

    // the job's status keeps the verdict
    const record = await api.get?.(String(last.jobId)) as JobRecordJson
    assert.equal(record.stage, 'receipt')
    assert.equal(record.capture?.verifiedSeconds, 3)

    // the requester keeps the proof by the footage's CID, as the job's output
    const cid = capture.cid ?? assert.fail('no CID')
    const proof = await loadCaptureProof(nodeDatastore(requester) ?? assert.fail('no datastore'), cid)
    assert.equal(Buffer.from(proof ?? new Uint8Array()).toString('base64'), String(last.output))

    // offline, the CLI gives the verdict verifyCaptureProof gives (no footage, default rules), as bytes or base64
    const file = join(dir, 'proof.bin')
    await writeFile(file, proof ?? new Uint8Array())
    const expected = verdictToJson(await verifyCaptureProof(proof ?? new Uint8Array(), undefined))
    const offline = await shoal(['capture', 'verify', file, '--json'])
    assert.equal(offline.code, expected.ok ? 0 : 1, offline.stderr)
    assert.deepEqual(JSON.parse(offline.stdout), JSON.parse(JSON.stringify(expected)))
    await writeFile(join(dir, 'proof.b64'), Buffer.from(proof ?? new Uint8Array()).toString('base64') + '\n')
    assert.equal((await shoal(['capture', 'verify', join(dir, 'proof.b64'), '--json'])).code, offline.code)
    const text = await shoal(['capture', 'verify', file])
    assert.match(text.stdout, /capture (VERIFIED|REFUSED): \d+ of 3 second\(s\) verified/)
    assert.match(text.stdout, /witnesses \(2\)/)
  })

  it('`shoal capture verify` exits 2 on what is no proof, or a CID without a node', async () => {
    const file = join(dir, 'garbage.bin')
    await writeFile(file, new Uint8Array([0xff, 0x00, 0x13, 0x37]))
    const garbage = await shoal(['capture', 'verify', file])
    assert.equal(garbage.code, 2, garbage.stderr)
    const missing = await shoal(['capture', 'verify', 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'])
    assert.equal(missing.code, 2, missing.stderr)
    assert.equal((await shoal(['capture', 'verify'])).code, 2, 'no FILE or CID: a usage error')
  })
})
