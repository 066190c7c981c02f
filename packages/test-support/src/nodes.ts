import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import type { Libp2p, ServiceMap } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'

/**
 * Start a real libp2p node the way every Shoal test node connects: TCP on
 * 127.0.0.1 (a free port), noise, yamux. The test passes the services it
 * needs (identify, ping, kad-dht, gossipsub, the service under test), and any
 * other option, e.g. another transport and listen address, replaces the default.
 */
export async function createTestNode <T extends ServiceMap = ServiceMap> (options: Libp2pOptions<T> = {}): Promise<Libp2p<T>> {
  return createLibp2p<T>({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...options
  })
}
