// A data-capture bounty on Shoal: a requester asks for video of red traffic
// cones in South-East Asia, paid per second of valid footage; a capture
// provider "records" it, signs a CaptureAttestation, has a nearby witness
// countersign it with a WitnessStatement, and is paid for the seconds the
// requester verified. Three nodes in one process, TCP on 127.0.0.1.
//
//   npm run build && npm start -w @shoal/example-data-bounty

import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { jobTopic } from '@shoal/job-board'
import { SHOAL_DHT_PROTOCOL, shoalServices, startProvider, submitJob } from '@shoal/node'
import {
  CaptureAttestationType, JobKind, RECORD_VERSION, WitnessStatementType, WorkReceiptType, openCountersigned, openRecord,
  peerIdFromBytes, recordId, signRecord
} from '@shoal/records'
import { functionExecutor } from '@shoal/work'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'

// Example-only protocols. Witnessing and proof transfer belong to the planned
// @shoal/provenance package; every record on them is a @shoal/records record.
const WITNESS_PROTOCOL = '/shoal-example/witness/1.0.0'
const CAPTURE_PROTOCOL = '/shoal-example/capture/1.0.0'
const MAX_FOOTAGE_BYTES = 1024 * 1024
const BYTES_PER_SECOND = 32 * 1024

const REGION = 'w'                 // geohash cell 0-45° N, 90-135° E: mainland South-East Asia and the Philippines
const CAPTURER_AT = 'w21z6'        // Singapore, revealed to ~5 km
const WITNESS_AT = 'w21z3'         // a few km away
const PRICE = { perUnit: 2, currency: 'USDC', unit: 'footage-second' }

const hex = (bytes) => Buffer.from(bytes).toString('hex')
const short = (bytes) => hex(bytes).slice(0, 16) + '…'
const sha256 = (bytes) => new Uint8Array(createHash('sha256').update(bytes).digest())
const equal = (a, b) => Buffer.from(a).equals(Buffer.from(b))

async function createNode (init = {}, privateKey) {
  return createLibp2p({
    privateKey,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    datastore: new MemoryDatastore(),
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub(),
      dht: kadDHT({ protocol: SHOAL_DHT_PROTOCOL, clientMode: false, peerInfoMapper: passthroughMapper }),
      ...shoalServices(init)
    }
  })
}

async function waitFor (condition, what, timeout = 10_000) {
  const deadline = Date.now() + timeout
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

// ------------------------------------------------------------------ the witness
// A peer near the capturer. It countersigns a capture with what it observed
// itself: the RTT to the capturer now, and where the witness is.
const witnessKey = await generateKeyPair('Ed25519')
const witness = await createNode({}, witnessKey)
await witness.handle(WITNESS_PROTOCOL, async (stream, connection) => {
  const lp = lpStream(stream, { maxDataLength: CaptureAttestationType.maxSize })
  try {
    const bytes = await lp.read({ signal: AbortSignal.timeout(5_000) })
    const attestation = await openRecord(CaptureAttestationType, bytes.subarray())
    if (!attestation.signer.equals(connection.remotePeer)) throw new Error('attestation of another capturer')
    const rttMs = Math.round(await witness.services.ping.ping(connection.remotePeer))
    const statement = await signRecord(WitnessStatementType, {
      version: RECORD_VERSION,
      witness: witness.peerId.toMultihash().bytes,
      attestationId: attestation.id,
      capturer: attestation.value.capturer,
      rttMs,
      geohash: WITNESS_AT,
      createdMs: Date.now()
    }, witnessKey)
    await lp.write(statement.bytes)
    await stream.close()
  } catch (err) {
    stream.abort(err)
  }
})

// ------------------------------------------------------------------ the capture provider
const capturerKey = await generateKeyPair('Ed25519')
// the camera's own key: a real device keeps it in secure hardware
const deviceKey = await generateKeyPair('Ed25519')
const captures = new Map()          // content hash (hex) -> { attestation, statement, footage }
const workDir = await mkdtemp(join(tmpdir(), 'shoal-data-bounty-'))

const capturer = await createNode({
  role: 'capture-provider',
  provider: { region: CAPTURER_AT, sensors: ['video'], price: PRICE, concurrency: 1 },
  work: {
    executor: functionExecutor(async (input, { job }) => {
      const { seconds } = JSON.parse(new TextDecoder().decode(input))
      const startedMs = Date.now()
      // SIMULATED camera: a generated file stands in for the recording
      const file = join(workDir, 'cones.mp4')
      const fake = new Uint8Array(seconds * BYTES_PER_SECOND)
      fake.set(new TextEncoder().encode('\0\0\0\x18ftypisom'), 0)
      for (let i = 16; i < fake.length; i++) fake[i] = (i * 2654435761) >>> 24
      await writeFile(file, fake)
      const footage = new Uint8Array(await readFile(file))
      const contentHash = sha256(footage)

      // proof of recording, signed at capture time by the node and by the device
      const attestation = await signRecord(CaptureAttestationType, {
        version: RECORD_VERSION,
        capturer: capturer.peerId.toMultihash().bytes,
        deviceKey: publicKeyToProtobuf(deviceKey.publicKey),
        deviceSignature: await deviceKey.sign(contentHash),
        contentHash,
        contentBytes: footage.byteLength,
        mediaType: 'video/mp4',
        startedMs,
        durationMs: seconds * 1000,
        geohash: CAPTURER_AT,
        sensors: ['video'],
        jobId: job?.jobId ?? new Uint8Array()
      }, capturerKey)

      // a nearby witness countersigns it
      const stream = await capturer.dialProtocol(witness.peerId, WITNESS_PROTOCOL)
      const lp = lpStream(stream, { maxDataLength: WitnessStatementType.maxSize })
      await lp.write(attestation.bytes)
      const statement = await openRecord(WitnessStatementType, (await lp.read({ signal: AbortSignal.timeout(5_000) })).subarray())
      if (!equal(statement.value.attestationId, attestation.id)) throw new Error('witness signed another capture')
      await stream.close()

      captures.set(hex(contentHash), { attestation, statement, footage })
      // the footage is fetched with its proofs (below); units = seconds of footage
      return { output: new Uint8Array(), location: `${CAPTURE_PROTOCOL}/${hex(contentHash)}`, outputHash: contentHash, units: seconds, status: 0 }
    })
  }
}, capturerKey)

// serve a capture with its attestation and witness statement
await capturer.handle(CAPTURE_PROTOCOL, async (stream) => {
  const lp = lpStream(stream, { maxDataLength: MAX_FOOTAGE_BYTES })
  try {
    const wanted = (await lp.read({ signal: AbortSignal.timeout(5_000) })).subarray()
    const capture = wanted.byteLength === 32 ? captures.get(hex(wanted)) : undefined
    if (capture === undefined) throw new Error('no such capture')
    await lp.write(capture.attestation.bytes)
    await lp.write(capture.statement.bytes)
    await lp.write(capture.footage)
    await stream.close()
  } catch (err) {
    stream.abort(err)
  }
})


// ------------------------------------------------------------------ the requester
const requester = await createNode()

/**
 * Fetch the footage and its proofs before countersigning anything, and
 * accept it only if every check passes: that is what "valid footage" means here.
 */
async function fetchCapture (location, receipt) {
  const stream = await requester.dialProtocol(peerIdFromBytes(receipt.provider), CAPTURE_PROTOCOL)
  const lp = lpStream(stream, { maxDataLength: MAX_FOOTAGE_BYTES })
  await lp.write(receipt.resultHash)
  const read = async () => (await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray()
  const attestation = await openRecord(CaptureAttestationType, await read())
  const statement = await openRecord(WitnessStatementType, await read())
  const footage = await read()
  await stream.close()

  const a = attestation.value
  const checks = {
    'attested by the provider': equal(a.capturer, receipt.provider),
    'for this bounty': equal(a.jobId, receipt.jobId),
    'footage matches the attested hash': equal(sha256(footage), a.contentHash) && equal(a.contentHash, receipt.resultHash),
    'signed by the capture device': await publicKeyFromProtobuf(a.deviceKey).verify(a.contentHash, a.deviceSignature),
    'video, in the region': a.sensors.includes('video') && a.geohash.startsWith(REGION),
    'units = whole seconds of footage': receipt.units <= Math.floor(a.durationMs / 1000),
    'witnessed by another peer': equal(statement.value.attestationId, attestation.id) && !statement.signer.equals(attestation.signer) &&
      equal(statement.value.capturer, a.capturer),
    'witness in the region': statement.value.geohash.startsWith(REGION)
  }
  console.log('capture  ', {
    contentHash: short(a.contentHash),
    bytes: a.contentBytes,
    seconds: a.durationMs / 1000,
    at: a.geohash,
    device: short(sha256(a.deviceKey)),
    witness: `${statement.signer.toString().slice(0, 16)}… at ${statement.value.geohash}, ${statement.value.rttMs} ms from the capturer`
  })
  for (const [check, ok] of Object.entries(checks)) {
    console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${check}`)
    if (!ok) throw new Error(`capture refused: ${check}`)
  }
  return footage
}

let offering
try {
  await requester.dial(capturer.getMultiaddrs())
  await requester.dial(witness.getMultiaddrs())
  await capturer.dial(witness.getMultiaddrs())
  console.log('requester', requester.peerId.toString())
  console.log('capturer ', capturer.peerId.toString(), 'at', CAPTURER_AT)
  console.log('witness  ', witness.peerId.toString(), 'at', WITNESS_AT)

  // the capturer's side: advertise the camera in the DHT, quote bounties gossiped on the job board
  offering = startProvider(capturer.services, { geohash: CAPTURER_AT, sensors: ['video'], price: PRICE, concurrency: 1 })
  await offering.advertised

  // 1. the bounty: CAPTURE, video, region `w`, per footage-second
  const bounty = {
    kind: JobKind.CAPTURE,
    workload: 'video',
    description: 'video of red traffic cones in South-East Asia, paid per second of valid footage',
    requirements: { sensors: ['video'], region: REGION },
    priceCeiling: { perUnit: 3, currency: 'USDC', unit: 'footage-second' },
    budget: 120,
    deadlineInMs: 120_000,
    input: new TextEncoder().encode(JSON.stringify({ seconds: 6 }))
  }
  // a one-character region has no regional topic: the bounty goes on the global capture topic
  await waitFor(() => requester.services.pubsub.getSubscribers(jobTopic(JobKind.CAPTURE)).some(p => p.equals(capturer.peerId)), 'the capturer to subscribe')

  // 2. the requester's flow: publish the bounty, find capture providers in the region, rank them,
  //    and run it; the capture is fetched and checked (fetchCapture) before the receipt is countersigned
  let outcome
  for await (const event of submitJob(requester.services, bounty, { fetchOutput: fetchCapture, timeoutMs: 30_000 })) {
    if (event.type === 'published') console.log('bounty   ', hex(event.detail.job.value.jobId), `"${bounty.description}"`)
    if (event.type === 'ranked') console.log('ranked   ', event.detail.decision.choices.map(c => `${c.peerId.toString().slice(0, 16)}… at ${c.input.provider.record.value.geohash}`))
    if (event.type === 'receipt') outcome = event.detail.outcome
  }

  // 3. the quote the capturer signed, which the assignment embeds
  const quote = outcome.quote
  console.log('quote    ', `${quote.value.price.perUnit} ${quote.value.price.currency} per ${quote.value.price.unit} from ${quote.signer.toString().slice(0, 16)}…`)

  // 4. the receipt: units = seconds of valid footage, signed by both
  const { record, countersigner } = await openCountersigned(WorkReceiptType, outcome.receipt.bytes)
  console.log('receipt  ', {
    id: short(outcome.receipt.id),
    units: record.value.units,
    price: `${record.value.price.perUnit} ${record.value.price.currency} per ${record.value.price.unit}`,
    total: record.value.total,
    resultHash: short(record.value.resultHash),
    provider: record.signer.toString().slice(0, 16) + '…',
    countersignedBy: countersigner.toString().slice(0, 16) + '…'
  })
  const mine = await requester.services.receipts.get(outcome.receipt.id)
  const theirs = await capturer.services.receipts.get(outcome.receipt.id)
  console.log('stores   ', `requester: ${mine.state}, capturer: ${theirs.state}, same bytes: ${equal(mine.bytes, theirs.bytes)}`)
  console.log('paid     ', capturer.services.work.book.paid(requester.peerId), 'USDC')
} finally {
  offering?.stop()
  await Promise.all([requester.stop(), capturer.stop(), witness.stop()])
  await rm(workDir, { recursive: true, force: true })
}
