import { peerIdFromBytes } from '@shoal/records'
import type { RouterCandidate } from './index.js'
import type { CapabilityRecord } from '@shoal/records'

/**
 * Turn a capability record (already verified, e.g. by discovery) into a
 * candidate for `choose`: its coordinate lets the router predict RTT to a
 * provider it never contacted, its advertised capacity and price are
 * claims that late binding re-checks, and its geohash a claim the location
 * check weighs against the RTT measured to it. Throws records' `InvalidFieldError`
 * if the provider bytes are not a peer id.
 */
export function candidateFromCapability (record: CapabilityRecord, extra: Partial<Omit<RouterCandidate, 'peerId'>> = {}): RouterCandidate {
  return {
    peerId: peerIdFromBytes(record.provider, 'provider'),
    coordinate: record.coordinate == null ? undefined : { vec: [...record.coordinate.vec], height: record.coordinate.height, error: record.coordinate.error },
    freeSlots: record.freeSlots,
    concurrency: record.concurrency > 0 ? record.concurrency : undefined,
    price: record.price?.perUnit,
    geohash: record.geohash === '' ? undefined : record.geohash,
    ...extra
  }
}
