// A data-capture bounty on Shoal with @shoal/provenance: a requester asks for
// video of red traffic cones in South-East Asia, paid per second of VERIFIED
// footage. An honest capturer records with two nearby witnesses watching and
// is paid exactly the seconds the requester verified; a forger's proofs of
// recording (a 60 s claim for 6 s of bytes, a backdated start, a 300 ms
// witness, one witness, its own second identity as witness, footage replayed
// from the honest capture) are each refused with their reason.
// Five nodes in one process, TCP on 127.0.0.1.
//
//   npm run build && npm start -w @shoal/example-data-bounty

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { jobTopic } from '@shoal/job-board'
import { SHOAL_DHT_PROTOCOL, shoalServices, startProvider, submitJob } from '@shoal/node'
import {
  attestCapture, createDevice, createFootageStore, encodeCaptureProof, provenance, syntheticSource
} from '@shoal/provenance'
import {
  JobKind, RECORD_VERSION, WitnessStatementType, WorkReceiptType, countersign, newRandomId, openCountersigned, signRecord
} from '@shoal/records'
import { ResultRejectedError, functionExecutor } from '@shoal/work'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'

const REGION = 'w'                      // geohash cell 0-45° N, 90-135° E: mainland South-East Asia and the Philippines
const CAPTURER_AT = 'w21z6'             // Singapore, a ~5 km cell
const WITNESSES_AT = ['w21z3', 'w21z7'] // the cells either side of it
const FORGER_AT = 'w21z6'               // the forger claims the same cell
const SENSORS = ['video']
const SECONDS = 6
const PRICE = { perUnit: 2, currency: 'USDC', unit: 'footage-second' }
const HOUR = 60 * 60 * 1000

const hex = (bytes) => Buffer.from(bytes).toString('hex')
const short = (bytes) => hex(bytes).slice(0, 12) + '…'
const peer = (id) => id.toString().slice(0, 16) + '…'
const bytesOf = (key) => peerIdFromPrivateKey(key).toMultihash().bytes

async function createNode (geohash, init = {}, privateKey) {
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
      ...shoalServices(init),
      // after shoalServices: it finds the node's receipts (witness history) among the components;
      // every node is on 127.0.0.1, so witnesses see the capturer at a loopback address: a local testnet allows it.
      // On one machine Shoal would also waive the history rules (a LAN); the example keeps them, as on the
      // Internet, to show what they refuse
      provenance: provenance({ geohash, witnesses: 2, verify: { allowPrivateAddresses: true, minWitnessCounterparties: 1, minWitnessAgeMs: HOUR } })
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

/**
 * SIMULATED PAST: a countersigned receipt for work `providerKey` did for
 * `clientKey` hours ago. A witness counts only with a history of work for
 * peers other than the capturer that the verifier has itself worked with,
 * older than the capture by an hour; a demo that starts now has none, so it
 * is signed here, backdated.
 */
async function pastReceipt (providerKey, clientKey, hoursAgo) {
  const endedMs = Date.now() - hoursAgo * HOUR
  const receipt = await signRecord(WorkReceiptType, {
    version: RECORD_VERSION,
    jobId: newRandomId(),
    assignmentId: crypto.getRandomValues(new Uint8Array(32)),
    requester: bytesOf(clientKey),
    provider: bytesOf(providerKey),
    units: 60,
    price: { perUnit: 1, currency: 'USDC', unit: 'gpu-second' },
    total: 60,
    resultHash: new Uint8Array(32).fill(7),
    startedMs: endedMs - 60_000,
    endedMs,
    status: 0,
    prev: new Uint8Array()
  }, providerKey)
  return countersign(receipt, clientKey)
}

const rows = [] // the table at the end: variant, verdict, code, paid seconds
const nodes = []
let offering

try {
  // ---------------------------------------------------------------- the nodes
  const pastClientKey = await generateKeyPair('Ed25519') // someone the witnesses worked for, long ago
  const witnessKeys = [await generateKeyPair('Ed25519'), await generateKeyPair('Ed25519')]
  const witnesses = await Promise.all(WITNESSES_AT.map((at, i) => createNode(at, {}, witnessKeys[i])))
  nodes.push(...witnesses)
  for (const [i, w] of witnesses.entries()) {
    await w.services.receipts.put(await pastReceipt(witnessKeys[i], pastClientKey, 3 + i))
  }

  const capturerKey = await generateKeyPair('Ed25519')
  let honestCapture
  const capturer = await createNode(CAPTURER_AT, {
    role: 'capture-provider',
    provider: { region: CAPTURER_AT, sensors: SENSORS, price: PRICE, concurrency: 1 },
    work: {
      // the capture job: record with the witnesses watching, answer with the CaptureProof,
      // and charge the seconds the capturer's own verdict verified
      executor: functionExecutor(async (input, { job, assignmentId, signal }) => {
        const { seconds } = JSON.parse(new TextDecoder().decode(input))
        // SIMULATED camera: generated footage (32 KiB a second, an mp4 header), one chunk a second in real time
        honestCapture = await capturer.services.provenance.capture(syntheticSource({ seed: 2026 }), {
          durationMs: seconds * 1000,
          jobId: job?.jobId,
          assignmentId,
          witnesses: witnesses.map(w => w.peerId),
          k: witnesses.length,
          signal
        })
        return { output: honestCapture.proof, units: honestCapture.verdict.verifiedSeconds, status: 0 }
      })
    }
  }, capturerKey)
  nodes.push(capturer)

  const requesterKey = await generateKeyPair('Ed25519')
  const requester = await createNode(undefined, {}, requesterKey)
  // the requester has worked with that past client too: a witness's history counts only with
  // counterparties the verifier itself knows (a key a forger made up proves nothing)
  await requester.services.receipts.put(await pastReceipt(pastClientKey, requesterKey, 8))
  nodes.push(requester)
  const forgerKey = await generateKeyPair('Ed25519')
  const forger = await createNode(FORGER_AT, {}, forgerKey)
  nodes.push(forger)

  // footage travels over bitswap: each node's store runs on its libp2p node
  for (const node of [requester, capturer, forger, ...witnesses]) {
    node.services.provenance.footage = await createFootageStore({ libp2p: node })
  }

  for (const node of [capturer, forger, ...witnesses]) await requester.dial(node.getMultiaddrs())
  for (const w of witnesses) {
    await capturer.dial(w.getMultiaddrs())
    await forger.dial(w.getMultiaddrs())
  }
  await forger.dial(capturer.getMultiaddrs())
  console.log('requester', requester.peerId.toString())
  console.log('capturer ', capturer.peerId.toString(), 'at', CAPTURER_AT)
  for (const [i, w] of witnesses.entries()) console.log(`witness ${i + 1}`, w.peerId.toString(), 'at', WITNESSES_AT[i])
  console.log('forger   ', forger.peerId.toString(), 'claims', FORGER_AT)

  // ---------------------------------------------------------------- 1. the honest capture
  console.log('\n== the honest capture ==')
  offering = startProvider(capturer.services, { geohash: CAPTURER_AT, sensors: SENSORS, price: PRICE, concurrency: 1 })
  await offering.advertised
  const bounty = {
    kind: JobKind.CAPTURE,
    workload: 'video',
    description: 'video of red traffic cones in South-East Asia, paid per second of valid footage',
    requirements: { sensors: SENSORS, region: REGION },
    priceCeiling: { perUnit: 3, currency: 'USDC', unit: 'footage-second' },
    budget: 120,
    deadlineInMs: 120_000,
    input: new TextEncoder().encode(JSON.stringify({ seconds: SECONDS }))
  }
  await waitFor(() => requester.services.pubsub.getSubscribers(jobTopic(JobKind.CAPTURE)).some(p => p.equals(capturer.peerId)), 'the capturer to subscribe')

  let honestVerdict
  let outcome
  /** Before countersigning: verify the proof of recording; the receipt may charge only verified seconds. */
  const checkResult = async ({ provider, output, receipt, assignment }) => {
    honestVerdict = await requester.services.provenance.verify(output, {
      capturer: provider,
      jobId: receipt.value.jobId,
      assignmentId: assignment.id,
      assignedMs: assignment.value.createdMs,
      resultMs: Date.now(),
      region: REGION,
      sensors: SENSORS,
      remember: true // its footage is now known: attested again elsewhere, it is a replay
    })
    if (!honestVerdict.ok) {
      throw new ResultRejectedError(`capture refused: ${honestVerdict.reasons.map(r => r.code).join(', ')}`)
    }
    if (receipt.value.units > honestVerdict.verifiedSeconds) {
      throw new ResultRejectedError(`receipt charges ${receipt.value.units} s, ${honestVerdict.verifiedSeconds} s verified`)
    }
  }
  for await (const event of submitJob(requester.services, bounty, { checkResult, timeoutMs: 60_000 })) {
    if (event.type === 'published') console.log('bounty   ', short(event.detail.job.value.jobId), `"${bounty.description}"`)
    if (event.type === 'ranked') console.log('ranked   ', event.detail.decision.choices.map(c => `${peer(c.peerId)} ${c.input.provider != null ? `at ${c.input.provider.record.value.geohash}` : 'by its quote on the board'}`))
    if (event.type === 'receipt') outcome = event.detail.outcome
  }

  const a = honestVerdict.attestation.value
  console.log('capture  ', {
    cid: a.contentCid,
    bytes: a.contentBytes,
    chunks: a.chunkCount,
    seconds: a.durationMs / 1000,
    at: a.geohash,
    device: short(a.deviceKey)
  })
  for (const w of honestVerdict.witnesses) {
    console.log(`  witness ${w.witness.slice(0, 16)}… at ${w.geohash}: ${w.rttMs} ms to the capturer ` +
      `(plausible ${w.floorMs?.toFixed(1)}-${w.ceilingMs?.toFixed(1)} ms) ${w.accepted ? 'accepted' : `refused: ${w.code}`}`)
  }
  console.log('verdict  ', { ok: honestVerdict.ok, claimedSeconds: honestVerdict.claimedSeconds, verifiedSeconds: honestVerdict.verifiedSeconds, reasons: honestVerdict.reasons.map(r => r.code) })
  const { record, countersigner } = await openCountersigned(WorkReceiptType, outcome.receipt.bytes)
  console.log('receipt  ', {
    id: short(outcome.receipt.id),
    units: record.value.units,
    price: `${record.value.price.perUnit} ${record.value.price.currency} per ${record.value.price.unit}`,
    total: record.value.total,
    provider: peer(record.signer),
    countersignedBy: peer(countersigner)
  })
  const paidUsdc = capturer.services.work.book.paid(requester.peerId)
  console.log(`honest    paid ${record.value.units} seconds (${paidUsdc} USDC) for ${honestVerdict.verifiedSeconds} verified seconds`)
  rows.push({ variant: 'honest, two witnesses', verdict: honestVerdict.ok ? 'accepted' : 'REFUSED', code: '-', paid: record.value.units, expected: honestVerdict.ok && record.value.units === honestVerdict.verifiedSeconds })

  // ---------------------------------------------------------------- 2. the forger
  // It signs its own records (@shoal/records, attestCapture): its device is bound to its
  // key, and two keys it controls witness for it; so that each variant is refused for the
  // one thing it forges, those two have (simulated) history with others and sign plausible RTTs.
  console.log('\n== the forger ==')
  const device = await createDevice(forgerKey, { model: 'dashcam-x2' })
  const accompliceKeys = [await generateKeyPair('Ed25519'), await generateKeyPair('Ed25519')]
  const history = []
  for (const [i, key] of accompliceKeys.entries()) history.push((await pastReceipt(key, pastClientKey, 5 + i)).bytes)
  // its second identity: a key whose only work was for the forger itself
  const sybilKey = await generateKeyPair('Ed25519')
  history.push((await pastReceipt(sybilKey, forgerKey, 4)).bytes)

  // a second bounty, which the forger answers; it was assigned 90 s ago
  const forgedBounty = await requester.services.work.createJob({ ...bounty, description: 'the same, from another capturer' })
  const assignedMs = Date.now() - 90_000
  const ownFootage = []
  for await (const chunk of syntheticSource({ seed: 666, realTime: false }).record(SECONDS * 1000, {})) ownFootage.push(chunk)
  // the honest capture's footage, fetched by its CID like anyone can
  const honestFootage = await forger.services.provenance.footage.get(honestCapture.cid)

  /** A witness statement the forger signs with one of its keys. */
  async function statement (key, attestation, at, rttMs) {
    const { startedMs, durationMs } = attestation.value
    return signRecord(WitnessStatementType, {
      version: RECORD_VERSION,
      witness: bytesOf(key),
      attestationId: attestation.id,
      capturer: attestation.value.capturer,
      rttMs,
      geohash: at,
      createdMs: startedMs + durationMs + 300,
      rounds: 5,
      windowStartMs: startedMs - 200,
      windowEndMs: startedMs + durationMs + 200,
      observedAddr: new Uint8Array()
    }, key)
  }

  /** Attest `chunks` as the forger, have its witnesses sign, bundle the CaptureProof. */
  async function forge ({ chunks = ownFootage, startedMs = assignedMs + 5_000, durationMs, witnessed = [[0, 1], [1, 1]] }) {
    const cid = await forger.services.provenance.footage.add(chunks)
    const attestation = await attestCapture({
      chunks, mediaType: 'video/mp4', startedMs, durationMs, geohash: FORGER_AT, sensors: SENSORS, jobId: forgedBounty.value.jobId, contentCid: cid
    }, forgerKey, device)
    const statements = []
    for (const [who, rttMs] of witnessed) {
      const key = who === 'sybil' ? sybilKey : accompliceKeys[who]
      statements.push((await statement(key, attestation, who === 'sybil' ? FORGER_AT : WITNESSES_AT[who], rttMs)).bytes)
    }
    return encodeCaptureProof({ attestation: attestation.bytes, witnesses: statements, history })
  }

  /** The requester's check of a forged proof, with the same facts as for the honest one. */
  async function check (variant, proof, expected) {
    const verdict = await requester.services.provenance.verify(proof, {
      capturer: forger.peerId,
      jobId: forgedBounty.value.jobId,
      assignedMs,
      resultMs: Date.now(),
      region: REGION,
      sensors: SENSORS
    })
    const codes = verdict.reasons.map(r => r.code)
    const code = expected.find(c => codes.includes(c)) ?? codes[0] ?? '-'
    const paid = verdict.ok ? verdict.verifiedSeconds : 0
    rows.push({ variant, verdict: verdict.ok ? 'accepted' : 'refused', code, paid, expected: !verdict.ok && expected.some(c => codes.includes(c)) })
    return verdict
  }

  // the forgery of the "Why": 60 s claimed for 6 s of bytes, started before the assignment,
  // and a witness reporting 300 ms to a capturer one cell (~5 km) away
  const why = await check('60 s for 6 s, backdated, 300 ms witness', await forge({
    durationMs: 60_000, startedMs: assignedMs - 60_000, witnessed: [[0, 300], [1, 1]]
  }), ['duration-mismatch', 'bytes-implausible', 'starts-before-assignment', 'witness-rtt-above-ceiling'])
  console.log('forged   ', { ok: why.ok, claimedSeconds: why.claimedSeconds, verifiedSeconds: why.verifiedSeconds })
  for (const r of why.reasons) console.log(`  refused  ${r.code}${r.fatal ? '' : ' (not fatal)'}: ${r.explain}`)

  // each forgery alone
  await check('claimed duration (60 s for 6 s)', await forge({ durationMs: 60_000 }), ['duration-mismatch', 'bytes-implausible'])
  await check('backdated start', await forge({ startedMs: assignedMs - 60_000 }), ['starts-before-assignment'])
  await check('implausible witness RTT (300 ms)', await forge({ witnessed: [[0, 300], [1, 1]] }), ['witness-rtt-above-ceiling'])
  await check('one witness only', await forge({ witnessed: [[0, 1]] }), ['too-few-witnesses'])
  await check('witness = second identity', await forge({ witnessed: [[0, 1], ['sybil', 1]] }), ['witness-no-history', 'witness-sybil-address', 'witness-too-new', 'witness-self'])
  await check('replayed footage', await forge({ chunks: honestFootage }), ['replay'])

  // ---------------------------------------------------------------- the table
  console.log('\n' + ['variant'.padEnd(40), 'verdict '.padEnd(9), 'code'.padEnd(26), 'paid seconds'].join(' '))
  for (const r of rows) {
    console.log([r.variant.padEnd(40), r.verdict.padEnd(9), r.code.padEnd(26), String(r.paid)].join(' '))
  }
  const wrong = rows.filter(r => !r.expected)
  if (wrong.length > 0) {
    console.error(`unexpected: ${wrong.map(r => r.variant).join('; ')}`)
    process.exitCode = 1
  }
} finally {
  offering?.stop()
  await Promise.all(nodes.map(async n => { await n.services.provenance.footage?.stop(); await n.stop() }))
}
