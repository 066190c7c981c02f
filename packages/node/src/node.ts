import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { autoNAT } from '@libp2p/autonat'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { gossipsub } from '@libp2p/gossipsub'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { join } from 'node:path'
import { createFootageStore } from '@shoal/provenance'
import { FsBlockstore } from 'blockstore-fs'
import { MemoryDatastore, NamespaceDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { createLibp2p } from 'libp2p'
import { Registry, register } from 'prom-client'
import { BoundedMap, errorCode, errorMessage } from '@shoal/utils'
import { parseConfig, resolveConfig } from './config.js'
import { BLOCKS_DIR, PING_STREAMS, SHOAL_DHT_PROTOCOL } from './constants.js'
import { ensureDataDir, loadOrCreateIdentity, openDatastore } from './data-dir.js'
import { describedMetrics } from './metrics-help.js'
import { ConfigError, PortInUseError } from './errors.js'
import { JOB_BOARD_SCORE_THRESHOLDS, jobBoardScoreParams, signedMessageFastId } from '@shoal/job-board'
import { reachability as reachabilityService } from './reachability.js'
import { shoalServices } from './services.js'
import { VERSION } from './version.js'
import type { ResolvedConfig, ShoalNodeConfig } from './config.js'
import type { Reachability } from './reachability.js'
import type { ShoalCoreServices, ShoalServicesInit } from './services.js'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify, IdentifyPush } from '@libp2p/identify'
import type { Libp2p, PeerDiscovery, PrivateKey } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { Datastore } from 'interface-datastore'
import type { FootageStore } from '@shoal/provenance'
import type { Libp2pOptions, ServiceFactoryMap } from 'libp2p'

/** The stock libp2p services of a Shoal full node, by key. */
// a type literal, not an interface: libp2p's ServiceMap needs an index signature
export type ShoalStackServices = {
  identify: Identify
  /** tells connected peers when our addresses change: a relayed address that appears after a reservation reaches the bootstrap node's DHT, whose peers then find us through it */
  identifyPush: IdentifyPush
  ping: Ping
  /** Kademlia on `/shoal/kad/1.0.0` */
  dht: KadDHT
  pubsub: GossipSub
  /** present unless `reachability.autonat` is false */
  autonat?: unknown
  /** present unless `reachability.holePunching` is false */
  dcutr?: unknown
  /** present when `reachability.relayServer` is true (bootstrap role) */
  relay?: CircuitRelayService
  /** local-network discovery, present unless `mdns` is false; the node dials each peer it reports */
  mdns?: PeerDiscovery
  /** whether others can reach this node: verified and relayed addresses, connections by kind */
  reachability: Reachability
}

/** Every service of a Shoal full node, by key. */
export type ShoalServices = ShoalStackServices & ShoalCoreServices

/** A Shoal full node: a libp2p node with the Shoal services. */
export type ShoalNode = Libp2p<ShoalServices>

/** Options of `createShoalNode()`: the config file's fields, plus what only code can pass. */
export interface ShoalNodeOptions extends ShoalNodeConfig {
  /**
   * the node's key; by default loaded from (or created in) `dataDir`, or a
   * fresh one when there is no `dataDir`
   */
  privateKey?: PrivateKey
  /**
   * where the peer store, receipts, vouchers and DHT records live; by default
   * LevelDB in `<dataDir>/datastore`, or memory when there is no `dataDir`
   */
  datastore?: Datastore
  /** Prometheus registry to put the metrics in @default a new registry per node */
  metricsRegistry?: Registry
  /** options of the Shoal services (merged over what the config implies) */
  services?: Omit<ShoalServicesInit, 'role' | 'provider' | 'dataDir'>
  /** start the node before returning it @default true */
  start?: boolean
}

const registries = new WeakMap<object, Registry>()
const configs = new WeakMap<object, ResolvedConfig>()
const datastores = new WeakMap<object, Datastore>()

/** The Prometheus registry holding a node's metrics (undefined when metrics are off). */
export function metricsRegistry (node: ShoalNode): Registry | undefined {
  return registries.get(node)
}

/** The datastore a node was created on (its receipts, jobs and kept capture proofs). */
export function nodeDatastore (node: ShoalNode): Datastore | undefined {
  return datastores.get(node)
}

/** The resolved configuration a node was created with. */
export function nodeConfig (node: ShoalNode): ResolvedConfig | undefined {
  return configs.get(node)
}

/**
 * kad-dht's `clientMode` for the config's `dht.mode`. `auto` is kad-dht's own
 * switch (undefined): a server once the node has a public address that is not
 * a relay's, so a node behind NAT stays a client (others could reach it only
 * through a relay, which the DHT protocol does not run on). Where private
 * addresses are dialable (`allowPrivateAddresses`: a LAN or local testnet) or
 * nothing would ever verify an address (AutoNAT off), `auto` is a server.
 */
export function dhtClientMode (dht: ResolvedConfig['dht'], reachability: Pick<ResolvedConfig['reachability'], 'autonat'>): boolean | undefined {
  if (dht.mode !== 'auto') return dht.mode === 'client'
  return dht.allowPrivateAddresses || !reachability.autonat ? false : undefined
}

/** Build the libp2p options of a Shoal node from a resolved config (no I/O). */
export function shoalLibp2pOptions (config: ResolvedConfig, extra: { privateKey?: PrivateKey, datastore?: Datastore, metricsRegistry?: Registry, services?: ShoalNodeOptions['services'] } = {}): Libp2pOptions<ShoalServices> {
  const { reachability, dht } = config
  const services: ServiceFactoryMap<ShoalServices> = {
    identify: identify(),
    identifyPush: identifyPush(),
    ping: ping({ maxOutboundStreams: PING_STREAMS, maxInboundStreams: PING_STREAMS }),
    dht: kadDHT({
      protocol: SHOAL_DHT_PROTOCOL,
      clientMode: dhtClientMode(dht, reachability),
      peerInfoMapper: dht.allowPrivateAddresses ? passthroughMapper : removePrivateAddressesMapper
    }),
    pubsub: gossipsub({
      allowPublishToZeroTopicPeers: true,
      scoreParams: jobBoardScoreParams(),
      scoreThresholds: JOB_BOARD_SCORE_THRESHOLDS,
      // drop duplicate copies before checking their signatures again
      fastMsgIdFn: signedMessageFastId
    }),
    reachability: reachabilityService(),
    ...shoalServices({ role: config.role, provider: config.provider, dataDir: config.dataDir, defences: config.defences, relayed: reachability.relayedJobs, witness: config.witness, captureChecks: { ...(dht.allowPrivateAddresses ? { allowPrivateAddresses: true } : {}), ...config.captureChecks }, ...extra.services })
  }
  if (reachability.autonat) services.autonat = autoNAT()
  if (reachability.holePunching) services.dcutr = dcutr()
  if (reachability.relayServer) services.relay = circuitRelayServer()

  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = []
  if (config.bootstrap.length > 0) peerDiscovery.push(bootstrap({ list: config.bootstrap }))
  // a service rather than a plain discovery module, so the node can dial what it finds (dialLocalPeers)
  if (config.mdns) services.mdns = mdns()

  const listen = [...config.listen]
  // a relay client only gets relayed addresses if it asks for a reservation
  if (reachability.relayClient && !reachability.relayServer && !listen.includes('/p2p-circuit')) listen.push('/p2p-circuit')

  return {
    privateKey: extra.privateKey,
    datastore: extra.datastore,
    nodeInfo: { name: 'shoal', version: VERSION },
    addresses: { listen, announce: config.announce },
    transports: [tcp(), ...(reachability.relayClient ? [circuitRelayTransport()] : [])],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    // help texts as written (the metrics package turns their spaces into `_`)
    metrics: config.metrics ? describedMetrics(prometheusMetrics({ registry: extra.metricsRegistry }), extra.metricsRegistry ?? register) : undefined,
    services
  }
}

/** Whether `code` is the code or in the message of `err`, its causes or (AggregateError) its errors. */
function findErrorCode (err: unknown, code: string, depth = 0): boolean {
  if (err == null || typeof err !== 'object' || depth > 5) return false
  if (errorCode(err) === code || errorMessage(err).includes(code)) return true
  const { errors, cause } = err as { errors?: unknown, cause?: unknown }
  if (Array.isArray(errors) && errors.some((e) => findErrorCode(e, code, depth + 1))) return true
  return findErrorCode(cause, code, depth + 1)
}

/** Why a listen address cannot be used, by the error code libp2p reports for it. */
const LISTEN_HINTS: Record<string, string> = {
  EADDRNOTAVAIL: 'no network interface of this machine has that address (listen on 0.0.0.0 or a local address; put a public address behind NAT in announce)',
  EACCES: 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve (DNS unavailable)'
}

/**
 * libp2p's `UnsupportedListenAddressesError` lists each address it could not
 * listen on, one `  <addr>: <error>` line each: a `ConfigError` naming the
 * first configured one among them (its `listen[i]` field) and the reason,
 * since restarting with the same address fails the same way.
 */
function unusableListenAddress (err: unknown, listen: string[]): ConfigError | undefined {
  if ((err as { name?: unknown } | null)?.name !== 'UnsupportedListenAddressesError') return undefined
  const message = errorMessage(err)
  for (const [i, addr] of listen.entries()) {
    const at = message.indexOf(`\n  ${addr}: `)
    if (at < 0) continue
    const line = message.slice(at + addr.length + 5).split('\n')[0].replace(/^Error: /, '').trim()
    const code = Object.keys(LISTEN_HINTS).find(c => line.includes(c))
    return new ConfigError(`listen[${i}]`, `cannot listen on ${addr}: ${code !== undefined ? `${code}, ${LISTEN_HINTS[code]}` : line}`)
  }
  return undefined
}

/**
 * Create (and by default start) a Shoal full node: TCP, noise, yamux, the
 * Shoal Kademlia DHT, gossipsub, identify, ping, AutoNAT, circuit relay v2,
 * DCUtR, mDNS, bootstrap, Prometheus metrics and the Shoal services, with
 * the defaults of its role.
 *
 * With `dataDir` the identity (`identity.key`) and every store (LevelDB)
 * persist there; without it the node lives in memory.
 *
 * @example
 *
 * ```ts
 * const node = await createShoalNode({ role: 'requester', listen: ['/ip4/127.0.0.1/tcp/0'], dataDir: './shoal-data' })
 * console.log(node.peerId.toString(), node.getMultiaddrs())
 * await node.stop()
 * ```
 */
export async function createShoalNode (options: ShoalNodeOptions = {}): Promise<ShoalNode> {
  const { privateKey: givenKey, datastore: givenDatastore, metricsRegistry: givenRegistry, services, start, ...fileFields } = options
  const config = resolveConfig(parseConfig(fileFields))
  if (config.role === 'gpu-provider' && (config.provider?.gpus ?? []).length === 0) {
    // runShoalNode fills them in from nvidia-smi first (preflight.ts); in code, name them
    throw new ConfigError('provider.gpus', 'the gpu-provider role needs at least one GPU')
  }
  let privateKey = givenKey
  let datastore: Datastore | undefined = givenDatastore
  if (config.dataDir !== undefined) {
    await ensureDataDir(config.dataDir)
    privateKey ??= (await loadOrCreateIdentity(config.dataDir)).privateKey
    // libp2p starts and stops it with the node, closing it after every service stopped
    datastore ??= await openDatastore(config.dataDir)
  }
  datastore ??= new MemoryDatastore()
  const registry = config.metrics ? (givenRegistry ?? new Registry()) : undefined
  const libp2pOptions = shoalLibp2pOptions(config, { privateKey, datastore, metricsRegistry: registry, services })

  let node: ShoalNode
  try {
    node = await createLibp2p({ ...libp2pOptions, start: false })
  } catch (err) {
    if (datastore !== givenDatastore) await (datastore as Partial<{ close(): Promise<void> }>).close?.()
    throw err
  }
  if (registry !== undefined) registries.set(node, registry)
  configs.set(node, config)
  datastores.set(node, datastore)
  withFootage(node, datastore, config.dataDir)
  if (start !== false) {
    await startShoalNode(node)
  }
  return node
}

/**
 * Start a node made with `createShoalNode({ start: false })`: an occupied
 * port becomes `PortInUseError`, and `dht.mode: server` is applied.
 */
export async function startShoalNode (node: ShoalNode): Promise<void> {
  const config = configs.get(node)
  try {
    await node.start()
  } catch (err: unknown) {
    // libp2p has stopped what it started (and closed the datastore) by now
    await Promise.resolve(node.stop()).catch(() => {})
    if (findErrorCode(err, 'EADDRINUSE')) {
      const where = config?.listen.join(', ') ?? 'the listen address'
      throw new PortInUseError(where, `cannot listen on ${where}: address already in use (is another node running on this port?)`, { cause: err })
    }
    throw unusableListenAddress(err, config?.listen ?? []) ?? err
  }
  if (config?.dht.mode === 'server') {
    await node.services.dht.setMode('server')
  }
  try {
    await footageHooks.get(node)?.attach()
  } catch (err: unknown) {
    // a capture provider without its footage store could record nothing a requester can fetch
    if (config?.role === 'capture-provider') {
      await Promise.resolve(node.stop()).catch(() => {})
      throw err
    }
    node.logger.forComponent('shoal:node:footage').error('no footage store: captures cannot be fetched or served - %e', err)
  }
  dialLocalPeers(node)
}

/** How a node's footage store is made once it started, and stopped before it stops. */
const footageHooks = new WeakMap<object, { attach(): Promise<void> }>()

/**
 * Give the node's provenance service a footage store on Helia once the node
 * started (bitswap runs on the node's libp2p): blocks in `<dataDir>/blocks`
 * (blockstore-fs), Helia's records under `/helia` in the node's datastore;
 * in memory without a data dir. `node.stop()` stops the store first (Helia
 * only: the node's libp2p stops once, after it), then the node.
 */
function withFootage (node: ShoalNode, datastore: Datastore, dataDir: string | undefined): void {
  const service = node.services.provenance
  if (service === undefined) return
  const log = node.logger.forComponent('shoal:node:footage')
  let footage: FootageStore | undefined
  let blockstore: FsBlockstore | undefined
  footageHooks.set(node, {
    async attach () {
      if (footage !== undefined) return
      if (dataDir !== undefined) {
        blockstore = new FsBlockstore(join(dataDir, BLOCKS_DIR))
        await blockstore.open()
      }
      footage = await createFootageStore({ libp2p: node, blockstore, datastore: new NamespaceDatastore(datastore, new Key('/helia')) })
      service.footage = footage
    }
  })
  const stopNode = node.stop.bind(node)
  node.stop = async () => {
    const held = footage
    const blocks = blockstore
    footage = undefined
    blockstore = undefined
    if (service.footage === held) service.footage = undefined
    await held?.stop().catch((err: unknown) => { log.error('could not stop the footage store - %e', err) })
    await stopNode()
    await blocks?.close().catch((err: unknown) => { log.error('could not close the footage blockstore - %e', err) })
  }
}

/** Give up on a peer mDNS reported if the dial takes longer than this. */
const LOCAL_DIAL_TIMEOUT_MS = 10_000

/** After a failed dial, a peer mDNS reports again is not dialled for this long. */
const LOCAL_DIAL_BACKOFF_MS = 60_000

/** Most peers remembered as recently failed (the oldest are forgotten first). */
const LOCAL_DIAL_FAILURES = 1024

/**
 * Dial every peer mDNS reports that the node is not connected to. libp2p
 * itself announces (`peer:discovery`) only peers its peer store did not know,
 * so after a restart two nodes that met before, whose persisted peer stores
 * know each other, would never connect again on a local network.
 */
function dialLocalPeers (node: ShoalNode): void {
  const discovery = node.services.mdns
  if (discovery === undefined) return
  const log = node.logger.forComponent('shoal:node:mdns')
  const dialing = new Set<string>()
  // peers that did not answer (other software on the LAN, spoofed announcements) are left alone a while
  const failed = new BoundedMap<string, number>(LOCAL_DIAL_FAILURES)
  discovery.addEventListener('peer', (evt) => {
    const { id, multiaddrs } = evt.detail
    const key = id.toString()
    if (node.status !== 'started' || dialing.has(key) || node.getConnections(id).length > 0 || multiaddrs.length === 0) return
    if ((failed.get(key) ?? -Infinity) + LOCAL_DIAL_BACKOFF_MS > Date.now()) return
    dialing.add(key)
    node.dial(multiaddrs, { signal: AbortSignal.timeout(LOCAL_DIAL_TIMEOUT_MS) })
      .then(() => { failed.delete(key) }, (err: unknown) => {
        failed.set(key, Date.now())
        log('could not dial %p found on the local network - %e', id, err)
      })
      .finally(() => { dialing.delete(key) })
  })
}
