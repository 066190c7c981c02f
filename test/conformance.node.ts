/**
 * Conformance: a client built from stock js-libp2p 3 packages,
 * docs/spec.md and records.proto alone (test/conformance/client, no Shoal
 * code) joins a network of real Shoal nodes and uses every public protocol:
 * job gossip, DHT provider search, capability records, its own
 * announcements, the work protocol, late-joiner sync and coordinate probes.
 * test/conformance/README.md lists what the spec left it to guess.
 */

import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { startProvider } from '@shoal/node'
import { attestCapture, createDevice, syntheticSource, verifyCaptureProof } from '@shoal/provenance'
import { CaptureAttestationType, JobKind, signRecord } from '@shoal/records'
import { equals } from 'uint8arrays/equals'
import { ShoalClient, capabilityKey, jobTopic, openCapability, openJob, validateJobMessage } from './conformance/client/client.js'
import { RECORD, openCountersigned } from './conformance/client/envelope.js'
import { CaptureProofCodec, CoordinateMessageCodec, JOB_KIND, JobSyncRequestCodec, NetworkCoordinateCodec } from './conformance/client/messages.js'
import { ConformanceWitness, verifyAttestation } from './conformance/client/provenance.js'
import { Reader } from './conformance/client/protobuf.js'
import { gpuProvider, sha256 } from './helpers/market.js'
import { connectAll, createEmbedderNode, waitFor } from './helpers/network.js'
import type { Checked, JobRun } from './conformance/client/client.js'
import type { CapabilityRecord, JobAnnouncement } from './conformance/client/messages.js'
import type { Behaviour } from './helpers/market.js'
import type { EmbedderNode } from './helpers/network.js'
import type { Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { ProviderHandle } from '@shoal/node'
import type { Capture } from '@shoal/provenance'
import type { Price } from '@shoal/records'

const CLIENT_DIR = fileURLToPath(new URL('../conformance/client/', import.meta.url))

/** What the client may import: stock libp2p packages, multiformats, byte helpers, `it-*`, node built-ins. */
const ALLOWED = /^(node:.*|libp2p|@libp2p\/[^/]+(\/.*)?|@chainsafe\/libp2p-(noise|yamux)|multiformats(\/.*)?|uint8arrays(\/.*)?|uint8-varint|uint8arraylist|it-[^/]+)$/

/** The conformance test that must not import Shoal code (it checks the client against test-vectors/). */
const VECTORS_TEST = fileURLToPath(new URL('../conformance/vectors.node.ts', import.meta.url))

/**
 * Assert that `path` imports no `@shoal` package, only stock packages, and
 * relative files of the client's folder; the number of imports checked.
 */
async function checkImports (path: string): Promise<number> {
  const source = await readFile(path, 'utf8')
  // static imports and re-exports (`from '...'`), side-effect imports and dynamic import()
  const specifiers = [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map(m => m[1])
  for (const spec of specifiers) {
    assert.ok(!spec.startsWith('@shoal'), `${path} imports ${spec}`)
    if (spec.startsWith('.')) {
      const target = resolve(dirname(path), spec)
      assert.equal(dirname(target), resolve(CLIENT_DIR), `${path} imports ${spec}, outside the client's folder`)
    } else {
      assert.match(spec, ALLOWED, `${path} imports ${spec}, not a stock package`)
    }
  }
  return specifiers.length
}

describe('conformance: a stock libp2p client written from docs/spec.md', function () {
  this.timeout(60_000)
  // the steps run in order and build on each other (the job one step announces, the next
  // runs): run the file whole, not one step with --grep

  const GEOHASH = 'w21z7p'
  const GPU_CLASS = 'gpu:consumer-24g'
  const price: Price = { perUnit: 2, currency: 'USDC', unit: 'gpu-second' }
  // fractional and negative components: the doubles must survive both codecs exactly
  const coordinate = { vec: [12.5, -3.25, 0, 7.125, 0.001, -0.5, 100, 42], height: 1.5, error: 0.75 }
  const behaviour: Behaviour = { fail: false, runs: 0 }
  let requester: EmbedderNode
  let provider: EmbedderNode
  let client: ShoalClient
  let handle: ProviderHandle
  const received: Message[] = []
  let shoalJob: JobAnnouncement | undefined
  let clientJob: Checked<JobAnnouncement> | undefined
  let capability: Checked<CapabilityRecord> | undefined
  let firstRun: JobRun | undefined

  before(async () => {
    requester = await createEmbedderNode()
    provider = await createEmbedderNode(gpuProvider(GEOHASH, price, behaviour))
    client = await ShoalClient.create()
    await connectAll([requester, provider])
    await client.node.dial(requester.getMultiaddrs())
    await client.node.dial(provider.getMultiaddrs())
    handle = startProvider(provider.services, {
      geohash: GEOHASH,
      gpus: [{ model: 'RTX 4090', class: 'consumer-24g', vramMib: 24576, count: 1 }],
      price,
      coordinate
    })
    await handle.advertised
  })

  after(async () => {
    handle?.stop()
    await Promise.all([requester, provider].filter(n => n != null).map(async n => n.stop()))
    await client?.stop()
  })

  it('the client imports no Shoal code: only stock packages and files of its own folder', async () => {
    const files = (await readdir(CLIENT_DIR)).filter(f => f.endsWith('.ts'))
    assert.ok(files.length >= 4, `client sources found in ${CLIENT_DIR}`)
    let checked = 0
    for (const file of files) {
      checked += await checkImports(join(CLIENT_DIR, file))
    }
    assert.ok(checked > 10, 'the imports were found')
  })

  it('the test of the client against the vectors imports no Shoal code either: only the client and stock packages', async () => {
    assert.ok(await checkImports(VECTORS_TEST) > 5, 'the imports were found')
  })

  it('§2: receives a job a Shoal node announces, decodes it and verifies its signature itself', async () => {
    const topic = jobTopic(JOB_KIND.GPU_INFERENCE, 'w2')
    client.node.services.pubsub.addEventListener('message', evt => { received.push(evt.detail) })
    client.subscribeJobs(topic)
    await waitFor(() => requester.services.pubsub.getSubscribers(topic).some(p => p.equals(client.node.peerId)), 'the requester to see the client subscribed')
    const announced = await requester.services.jobs.announce({
      kind: JobKind.GPU_INFERENCE,
      workload: 'llama-7b',
      description: 'announced by a Shoal node',
      requirements: { gpuClass: 'consumer-24g', region: 'w21z' },
      priceCeiling: { perUnit: 5, currency: 'USDC', unit: 'gpu-second' },
      budget: 100
    })
    await waitFor(() => received.some(m => m.topic === topic && equals(m.data, announced.bytes)), 'the announcement on the client')
    const message = received.find(m => equals(m.data, announced.bytes))
    assert.ok(message != null)
    assert.equal(message.type, 'signed', 'StrictSign')
    assert.ok(message.type === 'signed' && message.from.equals(requester.peerId), 'published by its requester')

    const job = await openJob(message.data)
    assert.ok(job.signer.equals(requester.peerId))
    assert.ok(equals(job.value.jobId, announced.value.jobId))
    assert.equal(job.value.kind, JOB_KIND.GPU_INFERENCE)
    assert.equal(job.value.workload, 'llama-7b')
    assert.equal(job.value.description, 'announced by a Shoal node')
    assert.equal(job.value.requirements?.region, 'w21z')
    assert.equal(job.value.requirements?.gpuClass, 'consumer-24g')
    assert.deepEqual(job.value.priceCeiling, { perUnit: 5, currency: 'USDC', unit: 'gpu-second' })
    assert.equal(job.value.budget, 100)
    assert.equal(job.value.expiresMs, announced.value.expiresMs)
    shoalJob = job.value

    // the client's own checks can fail: a changed payload byte breaks the signature; §2.3 on other topics and senders
    const tampered = Uint8Array.from(message.data)
    const payloadAt = Buffer.from(tampered).indexOf(Buffer.from(job.payload))
    assert.ok(payloadAt > 0, 'the payload inside the envelope')
    tampered[payloadAt + Math.floor(job.payload.length / 2)] ^= 1
    await assert.rejects(openJob(tampered))
    assert.equal(await validateJobMessage(topic, requester.peerId, message.data), 'accept')
    assert.equal(await validateJobMessage(topic, requester.peerId, tampered), 'reject')
    assert.equal(await validateJobMessage(jobTopic(JOB_KIND.GPU_BATCH, 'w2'), requester.peerId, message.data), 'reject', 'another kind\'s topic')
    assert.equal(await validateJobMessage(jobTopic(JOB_KIND.GPU_INFERENCE, 'u3'), requester.peerId, message.data), 'reject', 'another region\'s topic')
    assert.equal(await validateJobMessage(topic, provider.peerId, message.data), 'reject', 'relayed as published by another peer')
    assert.equal(await validateJobMessage(topic, requester.peerId, message.data, job.value.expiresMs + 31_000), 'ignore', 'just expired')
  })

  it('§3.2: finds the Shoal provider with its own kad-dht by the capability key', async () => {
    const key = await capabilityKey(GPU_CLASS, GEOHASH.slice(0, 3))
    let found: PeerId[] = []
    await waitFor(async () => {
      found = []
      try {
        for await (const event of client.node.services.dht.findProviders(key, { signal: AbortSignal.timeout(5_000) })) {
          if (event.name === 'PROVIDER') found.push(...event.providers.map(p => p.id))
        }
      } catch (err: unknown) {
        // a query that timed out is polled again; anything else is a failure
        if (!(err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError'))) throw err
      }
      return found.some(p => p.equals(provider.peerId))
    }, 'the provider under its DHT key')
    assert.ok(!found.some(p => p.equals(requester.peerId)), 'the requester advertises nothing')
  })

  it('§3.3: fetches the provider\'s capability record, verifies and decodes it, coordinate included', async () => {
    capability = await client.fetchCapability(provider.peerId, GPU_CLASS, GEOHASH.slice(0, 3))
    const record = capability.value
    assert.ok(capability.signer.equals(provider.peerId))
    assert.equal(record.geohash, GEOHASH)
    assert.deepEqual(record.gpus, [{ model: 'RTX 4090', class: 'consumer-24g', vramMib: 24576, count: 1 }])
    assert.deepEqual(record.price, price)
    assert.deepEqual(record.coordinate, coordinate)
    assert.ok(record.concurrency >= 1 && record.freeSlots <= record.concurrency)
    assert.ok(record.addrs.length > 0)
    // the same record refused under a key it was not advertised for
    await assert.rejects(openCapability(capability.bytes, provider.peerId, 'sensor:video', ''), /AdvertisementMismatchError/)
    await assert.rejects(openCapability(capability.bytes, requester.peerId, GPU_CLASS, 'w21'), /WrongProviderError/)
  })

  it('§2: publishes its own signed job; the Shoal provider takes it on its board and pushes a quote', async () => {
    const topic = jobTopic(JOB_KIND.GPU_INFERENCE, 'w2')
    await waitFor(() => client.node.services.pubsub.getSubscribers(topic).some(p => p.equals(provider.peerId)), 'the client to see the provider subscribed')
    const input = new TextEncoder().encode('hello shoal')
    clientJob = await client.announce({
      kind: JOB_KIND.GPU_INFERENCE,
      workload: 'llama-7b',
      description: 'announced by the conformance client',
      requirements: { gpuClass: 'consumer-24g', minVramMib: 16384, gpuCount: 1, region: 'w21z' },
      priceCeiling: { perUnit: 5, currency: 'USDC', unit: 'gpu-second' },
      budget: 100,
      deadlineMs: Date.now() + 60_000,
      inputHash: sha256(input),
      inputBytes: input.byteLength,
      lifetimeMs: 60_000
    })
    const jobId = clientJob.value.jobId
    await waitFor(() => provider.services.jobs.get(jobId) != null, 'the job on the provider\'s board')
    const entry = provider.services.jobs.get(jobId)
    assert.ok(entry != null)
    assert.equal(entry.source, 'gossip')
    assert.ok(entry.requester.equals(client.node.peerId))
    assert.ok(equals(entry.record.bytes, clientJob.bytes), 'kept as the bytes the client signed')
    assert.equal(entry.record.value.workload, 'llama-7b')
    assert.equal(entry.record.value.requirements?.minVramMib, 16384)

    // open market (§4.2): the provider pushes a quote on /shoal/work/1.0.0; the client checks and acknowledges it
    await waitFor(() => client.offered.some(q => equals(q.value.jobId, jobId)), 'the provider\'s quote for the client\'s job')
    const offered = client.offered.find(q => equals(q.value.jobId, jobId))
    assert.ok(offered != null && offered.signer.equals(provider.peerId))
    assert.deepEqual(offered.value.price, price)
  })

  it('§4: runs the job over /shoal/work/1.0.0 and the provider stores the countersigned receipt', async () => {
    assert.ok(clientJob != null, 'the job of the step before')
    const input = new TextEncoder().encode('hello shoal')
    const run: JobRun = await client.runJob(provider.peerId, clientJob, input)
    firstRun = run
    assert.equal(new TextDecoder().decode(run.output), '[llama-7b] HELLO SHOAL')
    assert.equal(behaviour.runs, 1)

    const receipt = run.receipt.value
    assert.ok(run.receipt.signer.equals(provider.peerId))
    assert.equal(receipt.status, 0)
    assert.ok(equals(receipt.assignmentId, sha256(run.assignment)), 'the receipt settles our assignment (its record id)')
    assert.ok(equals(receipt.jobId, clientJob.value.jobId))
    assert.ok(equals(receipt.resultHash, sha256(run.output)))
    assert.ok(receipt.units >= 1, 'GPU-seconds are rounded up')
    assert.equal(receipt.total, receipt.units * price.perUnit)
    for (const p of run.progress) {
      assert.ok(equals(p.assignmentId, run.assignmentId) && p.permille <= 1000)
    }

    // the Ack names the receipt and the lane's total the voucher paid
    assert.ok(equals(run.ack.id, run.receipt.id))
    assert.equal(run.ack.paid, receipt.total)

    const stored = await provider.services.receipts.get(run.receipt.id)
    assert.equal(stored.state, 'countersigned')
    assert.ok(equals(stored.bytes, run.countersigned), 'the provider keeps the bytes the client countersigned')
    const both = await openCountersigned(stored.bytes, RECORD.WorkReceipt)
    assert.ok(both.countersigner.equals(client.node.peerId))
    assert.ok(equals(both.record.id, run.receipt.id), 'the countersigned record keeps the provider envelope\'s id')
  })

  it('§4: a second job in direct mode (inline job) is paid on the same lane, its Ack holding the lane\'s total', async () => {
    assert.ok(firstRun != null, 'the job of the step before')
    const input = new TextEncoder().encode('again')
    const first = await provider.services.receipts.verifyLog()
    const job = client.newJob({
      kind: JOB_KIND.GPU_BATCH,
      workload: 'sdxl',
      requirements: { region: 'w21' },
      priceCeiling: { perUnit: 3, currency: 'USDC', unit: 'gpu-second' },
      budget: 50,
      deadlineMs: Date.now() + 60_000,
      lifetimeMs: 60_000
    })
    const run = await client.runJob(provider.peerId, { value: job }, input)
    assert.equal(new TextDecoder().decode(run.output), '[sdxl] AGAIN')
    const stored = await provider.services.receipts.get(run.receipt.id)
    assert.equal(stored.state, 'countersigned')
    // the lane now covers both receipts: the provider holds the sum
    const log = await provider.services.receipts.verifyLog({ signatures: true })
    assert.equal(log.ok, true, JSON.stringify(log.problems))
    assert.equal(log.length, first.length + 1)
    assert.equal(run.ack.paid, firstRun.receipt.value.total + run.receipt.value.total, 'the voucher (nonce 2) covers the first job too')
  })

  describe('packed repeated numbers (proto3\'s canonical form)', () => {
    it('§2.5: a PACKED JobSyncRequest gets the announcements back, not a reset', async () => {
      assert.ok(shoalJob != null && clientJob != null, 'the jobs of the steps before')
      const request = { kinds: [JOB_KIND.GPU_INFERENCE, JOB_KIND.GPU_BATCH], regions: ['w2'] }
      const encoded = JobSyncRequestCodec.encode(request)
      assert.equal(encoded[0], 0x0a, 'kinds is one length-delimited field (packed)')
      assert.ok(new Reader(encoded).isPacked(1))

      const frames = await client.sync(provider.peerId, request)
      const jobs = await Promise.all(frames.map(async f => openJob(f)))
      const ids = jobs.map(j => Buffer.from(j.value.jobId).toString('hex'))
      assert.ok(ids.includes(Buffer.from(shoalJob.jobId).toString('hex')), 'the Shoal node\'s job')
      assert.ok(ids.includes(Buffer.from(clientJob.value.jobId).toString('hex')), 'the client\'s own job')
    })

    it('§6: a PACKED CoordinateProbe gets a reply with the coordinate and the load', async () => {
      const probe = { vec: [1.5, -2, 3.25, 0, 0, 0, 0, 0.5], height: 0.25, error: 1 }
      const encodedProbe = CoordinateMessageCodec.encode({ kind: 'probe', coordinate: probe, wantLoad: true })
      assert.ok(new Reader(NetworkCoordinateCodec.encode(probe)).isPacked(1))
      assert.ok(encodedProbe.byteLength <= 1024)

      const { reply, bytes } = await client.probe(provider.peerId, probe, true)
      assert.ok(reply.coordinate != null && reply.load != null)
      // the reply's coordinate (CoordinateMessage.reply = 2, its coordinate = 1) came packed too
      const replyCoordinate = new Reader(new Reader(bytes).message(2) ?? new Uint8Array()).message(1)
      assert.ok(replyCoordinate != null && new Reader(replyCoordinate).isPacked(1), 'Shoal wrote the reply\'s vec as one packed run')
      assert.equal(reply.coordinate.vec.length, 8, 'Shoal uses 8 dimensions')
      assert.ok(reply.coordinate.vec.every(Number.isFinite))
      assert.ok(reply.coordinate.error > 0 && reply.coordinate.error <= 1.5)
      assert.equal(reply.load.concurrency, 1)
      assert.ok(reply.load.freeSlots <= reply.load.concurrency)
    })

    it('§1: the Shoal provider writes its capability record\'s coordinate packed', () => {
      assert.ok(capability != null, 'the record of the step before')
      const coordinateBytes = new Reader(capability.payload).message(7)
      assert.ok(coordinateBytes != null)
      assert.ok(new Reader(coordinateBytes).isPacked(1), 'NetworkCoordinate.vec is one length-delimited field')
    })
  })
})

describe('conformance: the client witnesses a Shoal capture and checks its proof (§7)', function () {
  this.timeout(60_000)
  // one cell of about 5 km: witnesses here may measure up to about 5 ms (§7.5 W5), loopback is far below
  const CELL = 'w21z7'
  let capturer: EmbedderNode
  let witness: EmbedderNode
  let client: ShoalClient
  let clientWitness: ConformanceWitness
  let capture: Capture | undefined

  before(async () => {
    capturer = await createEmbedderNode({ provenance: { geohash: CELL } })
    witness = await createEmbedderNode({ provenance: { geohash: CELL } })
    client = await ShoalClient.create()
    clientWitness = new ConformanceWitness(client.node, client.key, { geohash: CELL })
    await clientWitness.start()
    await capturer.dial(witness.getMultiaddrs())
    await capturer.dial(client.node.getMultiaddrs())
  })

  after(async () => {
    await Promise.all([capturer, witness].filter(n => n != null).map(async n => n.stop()))
    await client?.stop()
  })

  it('§7.4: a Shoal node captures with the client as one of its two witnesses; the client signs a statement of what it measured', async () => {
    const provenance = capturer.services.provenance
    assert.ok(provenance != null, 'the embedder node runs the provenance service')
    capture = await provenance.capture(syntheticSource({ realTime: false, bytesPerSecond: 8192 }), { durationMs: 3000, witnesses: [client.node.peerId, witness.peerId] })
    assert.equal(capture.statements.length, 2, 'both witnesses signed')

    assert.equal(clientWitness.witnessed.length, 1)
    const seen = clientWitness.witnessed[0]
    assert.equal(seen.refused, undefined)
    assert.ok(seen.capturer.equals(capturer.peerId))
    assert.ok(seen.attestation != null && equals(seen.attestation, capture.attestation.bytes), 'the attestation it checked is the one signed')
    const statement = seen.statement
    assert.ok(statement != null)
    const a = capture.attestation.value
    assert.ok(statement.value.rounds >= 1 && statement.value.rounds <= 5)
    assert.ok(statement.value.windowStartMs <= a.startedMs && statement.value.windowEndMs >= a.startedMs + a.durationMs, 'it watched the whole recording')
    assert.ok(statement.value.observedAddr.byteLength > 0)
    assert.ok(equals(statement.value.attestationId, capture.attestation.id))
    // Shoal's capturer put the client's statement into the proof as signed
    const proof = CaptureProofCodec.decode(capture.proof)
    assert.ok(equals(proof.attestation, capture.attestation.bytes))
    assert.ok(proof.witnesses.some(w => equals(w, statement.bytes)), 'the client\'s statement is in the CaptureProof')
  })

  it('§7.5: the proof verifies in Shoal with the client\'s statement accepted (fresh witness keys: no history asked)', async () => {
    assert.ok(capture != null, 'the capture of the step before')
    const verdict = await verifyCaptureProof(capture.proof, { chunks: capture.chunks }, {
      capturer: capturer.peerId,
      minWitnessCounterparties: 0,
      minWitnessAgeMs: 0,
      // every node is on 127.0.0.1: the witnesses saw the capturer at a loopback address
      allowPrivateAddresses: true
    })
    assert.deepEqual(verdict.reasons, [])
    assert.equal(verdict.ok, true)
    assert.equal(verdict.verifiedSeconds, 3)
    const mine = verdict.witnesses.find(w => w.witness === client.node.peerId.toString())
    assert.ok(mine?.accepted === true, 'the client\'s statement is accepted')
    assert.ok(verdict.witnesses.find(w => w.witness === witness.peerId.toString())?.accepted === true)
  })

  it('§7.2, §7.5: the client verifies the Shoal attestation against the footage, and refuses a mutated one', async () => {
    assert.ok(capture != null, 'the capture of the step before')
    const chunks = capture.chunks
    const checked = await verifyAttestation(capture.attestation.bytes, { chunks, capturer: capturer.peerId })
    assert.ok(equals(checked.id, capture.attestation.id))
    assert.equal(checked.value.chunkCount, 3)

    const changed = chunks.map(c => Uint8Array.from(c))
    changed[1][100] ^= 1
    await assert.rejects(verifyAttestation(capture.attestation.bytes, { chunks: changed }), { code: 'content-mismatch' })
    await assert.rejects(verifyAttestation(capture.attestation.bytes, { chunks: [chunks[0], chunks[2], chunks[1]] }), { code: 'content-mismatch' })
    await assert.rejects(verifyAttestation(capture.attestation.bytes, { chunks, capturer: witness.peerId }), { code: 'wrong-capturer' })

    // signed again by a peer with a device of its own: the device signature no longer covers a changed cell,
    // and another peer's attestation cannot borrow its binding
    const peerKey = await generateKeyPair('Ed25519')
    const device = await createDevice(peerKey)
    const good = await attestCapture({ chunks, mediaType: attested(capture).mediaType, startedMs: attested(capture).startedMs, geohash: CELL, sensors: attested(capture).sensors }, peerKey, device)
    await verifyAttestation(good.bytes, { chunks })
    const moved = await signRecord(CaptureAttestationType, { ...good.value, geohash: 'u33db' }, peerKey)
    await assert.rejects(verifyAttestation(moved.bytes, { chunks }), { code: 'device-signature-invalid' })
    const otherKey = await generateKeyPair('Ed25519')
    const borrowed = await signRecord(CaptureAttestationType, { ...good.value, capturer: otherKey.publicKey.toMultihash().bytes }, otherKey)
    await assert.rejects(verifyAttestation(borrowed.bytes, { chunks }), { code: 'device-binding-invalid' })
    const unbound = await signRecord(CaptureAttestationType, { ...good.value, deviceBinding: new Uint8Array() }, peerKey)
    await assert.rejects(verifyAttestation(unbound.bytes, { chunks }), { code: 'device-binding-invalid' })
  })

  it('§7.4: the client refuses to witness a cell more than 100 km from its own (too-far)', async () => {
    const provenance = capturer.services.provenance
    assert.ok(provenance != null)
    await assert.rejects(provenance.capture(syntheticSource({ realTime: false }), { durationMs: 1000, geohash: 'u33db', witnesses: [client.node.peerId, witness.peerId] }), { name: 'CaptureFailedError' })
    const last = clientWitness.witnessed[clientWitness.witnessed.length - 1]
    assert.equal(last.refused, 'too-far')
    assert.equal(last.statement, undefined)
  })
})

/** The attestation's values. */
function attested (capture: Capture): Capture['attestation']['value'] {
  return capture.attestation.value
}

describe('conformance client: its hand-written proto3 codec', () => {
  it('writes repeated numbers packed and reads them packed or unpacked', () => {
    const coordinate = { vec: [1.5, -0.25], height: 2, error: 0.5 }
    const packed = NetworkCoordinateCodec.encode(coordinate)
    // field 1, wire type 2, 16 bytes: two little-endian doubles
    assert.deepEqual([...packed.subarray(0, 2)], [0x0a, 16])
    // the same message unpacked, as protons wrote it before: one fixed64 field per component
    const unpacked = Uint8Array.from([
      0x09, ...new Uint8Array(new Float64Array([1.5]).buffer),
      0x09, ...new Uint8Array(new Float64Array([-0.25]).buffer),
      0x11, ...new Uint8Array(new Float64Array([2]).buffer),
      0x19, ...new Uint8Array(new Float64Array([0.5]).buffer)
    ])
    assert.deepEqual(NetworkCoordinateCodec.decode(packed), coordinate)
    assert.deepEqual(NetworkCoordinateCodec.decode(unpacked), coordinate)

    assert.deepEqual([...JobSyncRequestCodec.encode({ kinds: [1, 3], regions: [] })], [0x0a, 2, 1, 3])
    assert.deepEqual(JobSyncRequestCodec.decode(Uint8Array.from([0x08, 1, 0x08, 3])), { kinds: [1, 3], regions: [] })
    // a mix of both is one list too (a parser must concatenate them)
    assert.deepEqual(JobSyncRequestCodec.decode(Uint8Array.from([0x08, 1, 0x0a, 1, 2, 0x08, 3])).kinds, [1, 2, 3])
  })
})
