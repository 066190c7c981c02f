// Add the Shoal services to a libp2p node of your own, then run one job
// between two such nodes in this process with the library flows
// (startProvider, submitJob) and print the receipt both signed.
//
//   npm run build && node examples/embedding/index.js

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { PING_STREAMS, SHOAL_DHT_PROTOCOL, shoalServices, startProvider, submitJob } from '@shoal/node'
import { JobKind, WorkReceiptType, openCountersigned } from '@shoal/records'
import { functionExecutor } from '@shoal/work'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'

const hex = (bytes) => Buffer.from(bytes).toString('hex')

// 1. Your node, as you would build it anyway, plus `...shoalServices(init)`.
async function createNode (init = {}) {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // receipts live in the node's datastore: use a persistent one (datastore-level) to keep them
    datastore: new MemoryDatastore(),
    services: {
      // the Shoal services depend on these four
      identify: identify(),
      // more than the stock single ping stream: libp2p's connection monitor closes a connection whose heartbeat finds it taken
      ping: ping({ maxOutboundStreams: PING_STREAMS, maxInboundStreams: PING_STREAMS }),
      pubsub: gossipsub(),
      // Shoal's own Kademlia network; passthroughMapper keeps 127.0.0.1 addresses (demo only)
      dht: kadDHT({ protocol: SHOAL_DHT_PROTOCOL, clientMode: false, peerInfoMapper: passthroughMapper }),
      // receipts, router, jobs, discovery, work
      ...shoalServices(init)
    }
  })
}

// 2. A GPU provider: what it offers, its price, and the executor that does the work.
const price = { perUnit: 2, currency: 'USDC', unit: 'gpu-second' }
const where = 'u33dc'               // a geohash: Berlin, to ~5 km
const provider = await createNode({
  role: 'gpu-provider',
  provider: { region: where, gpus: [{ model: 'RTX 4090', vramMib: 24576 }], price, concurrency: 2 },
  work: {
    // stands in for a real model: any async function of the input bytes will do
    executor: functionExecutor(async (input) => {
      return new TextEncoder().encode(`echo from the GPU: ${new TextDecoder().decode(input).toUpperCase()}`)
    })
  }
})

// 3. A requester: the same node, no role.
const requester = await createNode()
console.log('provider ', provider.peerId.toString())
console.log('requester', requester.peerId.toString())

let offering
try {
  // 4. Connect them. On a real network: dial bootstrap peers; discovery finds the rest.
  await requester.dial(provider.getMultiaddrs())

  // 5. The provider's flow: advertise the offer in the DHT (retrying until a DHT peer
  //    takes it) and quote jobs announced on the job board.
  offering = startProvider(provider.services, {
    geohash: where,
    gpus: [{ model: 'RTX 4090', class: 'consumer-24g', vramMib: 24576, count: 1 }],
    price,
    concurrency: 2
  })
  await offering.advertised

  // 6. The requester's flow: sign and publish the job, find providers near `where`, rank
  //    them (RTT, coordinates, load, price, reputation), run it down the ranking with
  //    failover, countersign the receipt. Each step is an event.
  let outcome
  const job = {
    kind: JobKind.GPU_INFERENCE,
    workload: 'echo',
    requirements: { gpuClass: 'consumer-24g', gpuCount: 1, region: where },
    priceCeiling: { perUnit: 5, currency: 'USDC', unit: 'gpu-second' },
    budget: 100,
    input: new TextEncoder().encode('hello shoal')
  }
  for await (const event of submitJob(requester.services, job, { timeoutMs: 30_000 })) {
    if (event.type === 'published') console.log('published', hex(event.detail.job.value.jobId))
    if (event.type === 'searched') console.log('found    ', event.detail.found.map(p => p.peerId.toString()))
    if (event.type === 'ranked') console.log('ranked   ', event.detail.decision.choices.map(c => c.explain))
    if (event.type === 'progress') console.log(`progress  ${event.detail.permille / 10}% ${event.detail.units} units ${event.detail.message}`)
    if (event.type === 'receipt') outcome = event.detail.outcome
  }
  console.log('output   ', new TextDecoder().decode(outcome.output))

  // 7. The receipt: signed by the provider, countersigned by the requester. Anyone can check it.
  const { record, countersigner } = await openCountersigned(WorkReceiptType, outcome.receipt.bytes)
  const r = record.value
  console.log('receipt', {
    id: hex(outcome.receipt.id),
    job: hex(r.jobId),
    provider: record.signer.toString(),
    countersignedBy: countersigner.toString(),
    units: r.units,
    price: `${r.price.perUnit} ${r.price.currency} per ${r.price.unit}`,
    total: r.total,
    resultHash: hex(r.resultHash),
    status: r.status
  })
  // payment: cumulative vouchers, streamed while metered work runs and topped up with the countersignature
  console.log('paid     ', provider.services.work.book.paid(requester.peerId, 'USDC'), 'USDC, owed', provider.services.work.book.unpaid(requester.peerId, 'USDC'))

  // 8. Both sides keep the same countersigned receipt in a hash-linked log.
  const theirs = await provider.services.receipts.get(outcome.receipt.id)
  const mine = await requester.services.receipts.get(outcome.receipt.id)
  console.log('stores   ', `requester: ${mine.state}, provider: ${theirs.state}, same bytes: ${Buffer.from(mine.bytes).equals(theirs.bytes)}`)
  const log = await requester.services.receipts.verifyLog({ signatures: true })
  console.log('log      ', `ok: ${log.ok}, length: ${log.length}`)
  console.log('reputation of the provider', (await requester.services.receipts.reputation(provider.peerId)).toFixed(3))
} finally {
  // 9. Stop: services stop with the node (discovery withdraws the offer, the receipt store flushes first).
  offering?.stop()
  await Promise.all([requester.stop(), provider.stop()])
}
