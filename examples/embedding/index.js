// Add the Shoal services to a libp2p node of your own, then run one job
// between two such nodes in this process and print the receipt both signed.
//
//   npm run build && node examples/embedding/index.js

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { SHOAL_DHT_PROTOCOL, shoalServices } from '@shoal/node'
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
      ping: ping(),
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
const provider = await createNode({
  role: 'gpu-provider',
  provider: { gpus: [{ model: 'RTX 4090', vramMib: 24576 }], price, concurrency: 2 },
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

try {
  // 4. Connect them. On a real network: bootstrap peers, then discovery.findNearby().
  await requester.dial(provider.getMultiaddrs())

  // 5. Run a job in direct mode: quote, signed assignment, run, result, receipt, countersignature, voucher.
  const outcome = await requester.services.work.run(provider.peerId, {
    kind: JobKind.GPU_INFERENCE,
    workload: 'echo',
    requirements: { gpuClass: 'consumer-24g', gpuCount: 1 },
    priceCeiling: { perUnit: 5, currency: 'USDC', unit: 'gpu-second' },
    budget: 100
  }, new TextEncoder().encode('hello shoal'), {
    timeout: 30_000,
    onProgress: (p) => { console.log(`progress ${p.permille / 10}% ${p.units} units ${p.message}`) }
  })
  console.log('output   ', new TextDecoder().decode(outcome.output))

  // 6. The receipt: signed by the provider, countersigned by the requester. Anyone can check it.
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
  console.log('paid     ', provider.services.work.book.paid(requester.peerId), 'USDC, owed', provider.services.work.book.unpaid(requester.peerId))

  // 7. Both sides keep the same countersigned receipt in a hash-linked log.
  const theirs = await provider.services.receipts.get(outcome.receipt.id)
  const mine = await requester.services.receipts.get(outcome.receipt.id)
  console.log('stores   ', `requester: ${mine.state}, provider: ${theirs.state}, same bytes: ${Buffer.from(mine.bytes).equals(theirs.bytes)}`)
  const log = await requester.services.receipts.verifyLog({ signatures: true })
  console.log('log      ', `ok: ${log.ok}, length: ${log.length}`)
  console.log('reputation of the provider', (await requester.services.receipts.reputation(provider.peerId)).toFixed(3))
} finally {
  // 8. Stop: services stop with the node (the receipt store flushes first).
  await Promise.all([requester.stop(), provider.stop()])
}
