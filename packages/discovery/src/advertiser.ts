/**
 * The provider side of discovery: sign our CapabilityRecord, provide its
 * (capability class, geohash cell) keys in the kad-dht, re-sign it before
 * it expires, and withdraw.
 */

import { Queue } from '@libp2p/utils'
import { CapabilityRecordType, MAX_ADDR_LENGTH, MAX_ADDRS, RECORD_VERSION, signRecord } from '@shoal/records'
import { equalBytes } from '@shoal/utils'
import { InvalidQueryError, NoRecordError } from './errors.js'
import { isValidGeohash } from './geohash.js'
import { advertisementKeys } from './keys.js'
import { timeoutSignal } from './utils.js'
import type { AdvertiseResult, DiscoveryEvents, DiscoveryStats, Offer } from './index.js'
import type { AdvertisedKey } from './keys.js'
import type { AbortOptions, Logger, PeerId, PrivateKey, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager } from '@libp2p/interface-internal'
import type { KadDHT } from '@libp2p/kad-dht'
import type { CapabilityRecord, SignedRecord } from '@shoal/records'

/** What the advertiser needs from the node. */
export interface AdvertiserComponents {
  peerId: PeerId
  privateKey: PrivateKey
  addressManager: Pick<AddressManager, 'getAddresses'>
}

/** Options of the advertiser, resolved by the service. */
export interface AdvertiserInit {
  /** geohash precisions advertised, finest first */
  precisions: number[]
  /** lifetime of our record, ms */
  recordTtlMs: number
  /** fraction of the lifetime after which the record is re-signed */
  refreshFraction: number
  provideConcurrency: number
  /** time allowed for one provide, ms */
  provideTimeoutMs: number
  /** how long our addresses must stay unchanged before the record is signed again with them, ms */
  addressChangeDebounceMs: number
  /** the clock, ms */
  now(): number
  /** the kad-dht; throws when the service is not started */
  dht(): KadDHT
  /** whether the service runs, and the signal that ends with it */
  isStarted(): boolean
  shutdown(): AbortSignal
  /** where `record:signed` and `advertisement:withdrawn` go */
  events: Pick<TypedEventTarget<DiscoveryEvents>, 'safeDispatchEvent'>
  /** counters shared with the service (`provides`, `provideMessages`) */
  stats: DiscoveryStats
  log: Logger
}

/** Signs, provides, refreshes and withdraws our capability record. */
export class Advertiser {
  private readonly components: AdvertiserComponents
  private readonly init: AdvertiserInit
  private offer?: Offer
  private record?: SignedRecord<CapabilityRecord>
  private lastSeq = 0
  private readonly advertised = new Map<string, AdvertisedKey>()
  private refreshTimer?: ReturnType<typeof setTimeout>
  private addressTimer?: ReturnType<typeof setTimeout>
  private queue: Promise<unknown> = Promise.resolve()

  constructor (components: AdvertiserComponents, init: AdvertiserInit) {
    this.components = components
    this.init = init
  }

  /** The record we currently serve, if advertising. */
  get currentRecord (): SignedRecord<CapabilityRecord> | undefined {
    return this.record
  }

  /** The keys we are advertised under. */
  get advertisedKeys (): AdvertisedKey[] {
    return [...this.advertised.values()]
  }

  /** Stop refreshing (the service stops). */
  stop (): void {
    clearTimeout(this.refreshTimer)
    clearTimeout(this.addressTimer)
  }

  /**
   * Our addresses changed (`self:peer:update`), e.g. a relay reservation
   * added a `/p2p-circuit` one: once they settle, sign the record again
   * with them, so requesters can reach a provider behind NAT. An offer that
   * names its own `addrs` is left as it is.
   */
  addressesChanged (): void {
    if (this.offer == null || this.offer.addrs != null) {
      return
    }
    clearTimeout(this.addressTimer)
    this.addressTimer = setTimeout(() => {
      const offer = this.offer
      const listed = this.record?.value.addrs ?? []
      const now = this.ownAddrs(offer ?? {})
      if (offer == null || (now.length === listed.length && now.every((a, i) => equalBytes(a, listed[i])))) {
        return
      }
      this.resign(offer, 'addresses changed')
    }, this.init.addressChangeDebounceMs)
    this.addressTimer.unref?.()
  }

  /** Sign a record of `offer` and provide the keys not already advertised. */
  async advertise (offer: Offer, options: AbortOptions = {}): Promise<AdvertiseResult> {
    return this.serialize(async () => {
      this.offer = offer
      const record = await this.sign(offer)
      return this.syncKeys(record, options)
    })
  }

  /** Change some fields of the current offer and advertise again. */
  async update (changes: Partial<Offer>, options: AbortOptions = {}): Promise<AdvertiseResult> {
    if (this.offer == null) {
      throw new NoRecordError('nothing advertised yet')
    }
    return this.advertise({ ...this.offer, ...changes }, options)
  }

  /** Stop serving our record and stop re-providing our keys. */
  async withdraw (dht: KadDHT | undefined, options: AbortOptions = {}): Promise<void> {
    // after any advertise or refresh in flight, which would otherwise set the
    // record and keys again once this has cleared them
    return this.serialize(async () => {
      clearTimeout(this.refreshTimer)
      const keys = [...this.advertised.values()]
      this.record = undefined
      this.offer = undefined
      this.advertised.clear()
      if (dht != null) {
        for (const key of keys) {
          await dht.cancelReprovide(key.cid, options).catch(err => { this.init.log('could not cancel reprovide of %s - %e', key.text, err) })
        }
      }
      if (keys.length > 0) {
        this.init.events.safeDispatchEvent('advertisement:withdrawn', { detail: keys })
      }
    })
  }

  private async serialize<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => {})
    return run
  }

  private async sign (offer: Offer): Promise<SignedRecord<CapabilityRecord>> {
    if (!isValidGeohash(offer.geohash)) {
      throw new InvalidQueryError('offer.geohash must be a geohash')
    }
    const now = this.init.now()
    const seq = Math.max(this.lastSeq + 1, now)
    const concurrency = offer.concurrency ?? 1
    const addrs = this.ownAddrs(offer)
    const value: CapabilityRecord = {
      version: RECORD_VERSION,
      provider: this.components.peerId.toMultihash().bytes,
      seq,
      gpus: offer.gpus ?? [],
      sensors: offer.sensors ?? [],
      geohash: offer.geohash,
      coordinate: offer.coordinate,
      price: offer.price,
      concurrency,
      freeSlots: offer.freeSlots ?? concurrency,
      addrs,
      createdMs: now,
      expiresMs: now + this.init.recordTtlMs
    }
    const record = await signRecord(CapabilityRecordType, value, this.components.privateKey)
    this.lastSeq = seq
    this.record = record
    this.scheduleRefresh()
    this.init.events.safeDispatchEvent('record:signed', { detail: record })
    return record
  }

  /** The addresses a record of `offer` lists: its own, else the node's, those that fit a record. */
  private ownAddrs (offer: Pick<Offer, 'addrs'>): Uint8Array[] {
    return (offer.addrs ?? this.components.addressManager.getAddresses())
      .map(ma => ma.bytes)
      .filter(b => b.byteLength > 0 && b.byteLength <= MAX_ADDR_LENGTH)
      .slice(0, MAX_ADDRS)
  }

  private scheduleRefresh (): void {
    clearTimeout(this.refreshTimer)
    this.refreshTimer = setTimeout(() => {
      const offer = this.offer
      if (offer != null) {
        this.resign(offer, 'refreshed')
      }
    }, Math.max(1, Math.floor(this.init.recordTtlMs * this.init.refreshFraction)))
    this.refreshTimer.unref?.()
  }

  /** Sign `offer` again (if it is still the current one) and provide any new keys, in the background. */
  private resign (offer: Offer, why: string): void {
    if (!this.init.isStarted()) {
      return
    }
    this.serialize(async () => {
      if (this.offer !== offer) {
        return
      }
      const record = await this.sign(offer)
      const result = await this.syncKeys(record, { signal: this.init.shutdown() })
      this.init.log('%s: record seq %d, %d keys re-provided', why, record.value.seq, result.provided.length)
    }).catch(err => {
      this.init.log.error('signing the record again (%s) failed - %e', why, err)
      this.scheduleRefresh()
    })
  }

  /** Provide the keys of `record` not yet advertised; cancel those it no longer has. */
  private async syncKeys (record: SignedRecord<CapabilityRecord>, options: AbortOptions): Promise<AdvertiseResult> {
    const dht = this.init.dht()
    const keys = advertisementKeys(record.value, this.init.precisions)
    const wanted = new Set(keys.map(k => k.text))

    for (const [text, key] of this.advertised) {
      if (!wanted.has(text)) {
        this.advertised.delete(text)
        await dht.cancelReprovide(key.cid, options).catch(err => { this.init.log('could not cancel reprovide of %s - %e', text, err) })
      }
    }

    const todo = keys.filter(k => !this.advertised.has(k.text))
    const failed: AdvertisedKey[] = []
    let messages = 0
    const slots = new Queue<void, AbortOptions>({ concurrency: this.init.provideConcurrency })

    await Promise.all(todo.map(async key => slots.add(async () => {
      const signal = timeoutSignal(this.init.provideTimeoutMs, options.signal)
      let stored = 0
      this.init.stats.provides++
      try {
        for await (const event of dht.provide(key.cid, { signal })) {
          if (event.name === 'SEND_QUERY') {
            messages++
            this.init.stats.provideMessages++
          } else if (event.name === 'PEER_RESPONSE' && event.messageName === 'ADD_PROVIDER') {
            stored++
          }
        }
      } catch (err) {
        this.init.log('provide of %s failed - %e', key.text, err)
      }
      if (stored > 0) {
        this.advertised.set(key.text, key)
      } else {
        failed.push(key)
      }
    }, { signal: options.signal }).catch(() => {
      // aborted while queued
      if (!failed.includes(key)) {
        failed.push(key)
      }
    })))

    this.init.log('advertised %s under %d keys (%d provided now, %d failed, %d messages)', record.value.seq, keys.length, todo.length - failed.length, failed.length, messages)
    return { record, keys, provided: todo.filter(k => !failed.includes(k)), failed, messages }
  }
}
