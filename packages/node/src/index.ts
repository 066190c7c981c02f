/**
 * @packageDocumentation
 *
 * `@shoal/node`: the Shoal full node and the `shoal` CLI.
 *
 * Two ways in:
 *
 * - `createShoalNode(config)` builds a complete libp2p 3 node (TCP, noise,
 *   yamux, the Shoal Kademlia DHT on `/shoal/kad/1.0.0`, gossipsub,
 *   identify, ping, AutoNAT, circuit relay v2, DCUtR, mDNS, bootstrap,
 *   Prometheus metrics) with the Shoal services and the defaults of a role;
 * - `shoalServices(init)` returns just the Shoal services as libp2p service
 *   factories, to spread into the `services` of a node you build yourself.
 *
 * On either, `submitJob(node.services, spec)` runs the requester's flow
 * (publish, find, rank, run with failover, countersigned receipt) as an
 * async generator of progress events, and `startProvider(node.services,
 * offer)` the provider's (advertise with retry, quote announced jobs).
 *
 * @example
 *
 * ```ts
 * import { createShoalNode } from '@shoal/node'
 *
 * const node = await createShoalNode({ role: 'requester', dataDir: './shoal-data' })
 * console.log(node.peerId.toString())
 * await node.stop()
 * ```
 *
 * @example
 *
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { shoalServices, SHOAL_DHT_PROTOCOL } from '@shoal/node'
 *
 * const node = await createLibp2p({
 *   // transports, encrypters, muxers, datastore...
 *   services: {
 *     identify: identify(), ping: ping(), pubsub: gossipsub(),
 *     dht: kadDHT({ protocol: SHOAL_DHT_PROTOCOL }),
 *     ...shoalServices()
 *   }
 * })
 * ```
 */

export * from './constants.js'
export * from './errors.js'
export { parseConfig, parseConfigText, loadConfigFile, resolveConfig, configFromEnv, ROLES, ENVIRONMENT } from './config.js'
export type { ShoalNodeConfig, ResolvedConfig, ShoalRole, ProviderConfig, GpuConfig, PriceConfig, ExecutorConfig, DhtConfig, ReachabilityConfig, CaptureConfig, CaptureSourceConfig, WitnessConfig } from './config.js'
export { commandSource, folderSource, captureSourceFromConfig, captureSeconds, MAX_CHUNK_FILE_BYTES } from './capture-source.js'
export type { CaptureSourceOptions, CommandSourceInit, FolderSourceInit } from './capture-source.js'
export { captureExecutor, captureCheck, parseCaptureRequest, saveCaptureProof, loadCaptureProof, verdictToJson, describeReasons } from './capture.js'
export type { CaptureRequest, CaptureExecutorInit, CaptureCheckInit, CaptureVerdictJson } from './capture.js'
export { Reachability, reachability, reachabilityStatus, isRelayedAddress, isRelayedConnection, relayOf } from './reachability.js'
export type { ReachabilityStatus, ReachabilityComponents } from './reachability.js'
export { createShoalNode, startShoalNode, shoalLibp2pOptions, metricsRegistry, nodeConfig, nodeDatastore } from './node.js'
export type { ShoalNode, ShoalServices, ShoalStackServices, ShoalNodeOptions } from './node.js'
export { shoalServices } from './services.js'
export type { ShoalCoreServices, ShoalServiceFactories, ShoalServicesInit } from './services.js'
export { defaultDataDir, loadOrCreateIdentity, openDatastore, PersistentDatastore, readApiInfo } from './data-dir.js'
export type { ApiInfo } from './data-dir.js'
export { submitJob, nearbyQuery } from './flows/submit-job.js'
export type { SubmitJobServices, SubmitJobOptions, SubmitJobEvent, SubmitJobResult, SearchRound, ProviderCandidate } from './flows/submit-job.js'
export { startProvider } from './flows/start-provider.js'
export type { StartProviderServices, StartProviderOptions, ProviderHandle, ProviderEvents } from './flows/start-provider.js'
export { drainShoalNode, WorkGate, workGate } from './drain.js'
export { preflight, checkExecutor, checkCaptureSource, gpusToOffer } from './preflight.js'
export type { PreflightOptions } from './preflight.js'
export type { DrainOptions, DrainResult } from './drain.js'
