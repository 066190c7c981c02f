/**
 * The request of `/shoal/jobs/sync/1.0.0` (docs/spec.md §2.5): what the
 * asker serves, so the responder sends only what the asker would keep. The
 * schema (`JobSyncRequest`) lives in @shoal/records; this module maps it to
 * and from `Interests` and enforces the limits.
 */

import { JobKind, JobSyncRequest, decodeMessage, isGeohash } from '@shoal/records'
import { REGION_PRECISION, MAX_SYNC_REQUEST_BYTES, MAX_SYNC_REQUEST_ITEMS } from './constants.js'
import { InvalidSyncRequestError } from './errors.js'
import { isTopicJobKind } from './topics.js'
import type { Interests, TopicJobKind } from './topics.js'

/**
 * Wire numbers of the job kinds that have topics: enum `JobKind` of
 * records.proto (the request carries them as uint32, see `JobSyncRequest`).
 */
export const SYNC_KIND_NUMBER: Readonly<Record<TopicJobKind, number>> = Object.freeze({
  [JobKind.GPU_INFERENCE]: 1,
  [JobKind.GPU_BATCH]: 2,
  [JobKind.CAPTURE]: 3
})

const KIND_OF_NUMBER = new Map<number, TopicJobKind>(
  (Object.entries(SYNC_KIND_NUMBER) as Array<[TopicJobKind, number]>).map(([kind, n]) => [n, kind])
)

/** Encode the interests an asker sends: kinds, and regions cut to the region precision. */
export function encodeSyncRequest (interests: Interests): Uint8Array {
  const kinds = [...new Set(interests.kinds ?? [])].filter(isTopicJobKind).map(kind => SYNC_KIND_NUMBER[kind])
  const regions = [...new Set((interests.regions ?? []).map(r => r.slice(0, REGION_PRECISION)))]
  if (kinds.length > MAX_SYNC_REQUEST_ITEMS || regions.length > MAX_SYNC_REQUEST_ITEMS) {
    throw new InvalidSyncRequestError(`A sync request names at most ${MAX_SYNC_REQUEST_ITEMS} kinds and regions`)
  }
  return JobSyncRequest.encode({ kinds, regions })
}

/**
 * Decode a sync request frame. Anything wrong (size, bytes, an unknown kind,
 * a region that is not a 1- or 2-character geohash prefix, too many items)
 * is an `InvalidSyncRequestError`; nothing else is thrown.
 */
export function decodeSyncRequest (bytes: Uint8Array | { subarray(): Uint8Array }): Interests {
  let request: JobSyncRequest
  try {
    request = decodeMessage('JobSyncRequest', (buf) => JobSyncRequest.decode(buf, {
      limits: { kinds: MAX_SYNC_REQUEST_ITEMS, regions: MAX_SYNC_REQUEST_ITEMS }
    }), bytes, MAX_SYNC_REQUEST_BYTES)
  } catch (err: any) {
    throw new InvalidSyncRequestError(`${err?.name ?? 'Error'}: ${err?.message ?? err}`)
  }
  const kinds = new Set<TopicJobKind>()
  for (const n of request.kinds) {
    const kind = KIND_OF_NUMBER.get(n)
    if (kind == null) {
      throw new InvalidSyncRequestError(`Unknown job kind ${n}`)
    }
    kinds.add(kind)
  }
  for (const region of request.regions) {
    if (region.length === 0 || region.length > REGION_PRECISION || !isGeohash(region)) {
      throw new InvalidSyncRequestError(`Region "${region.slice(0, 16)}" is not a geohash prefix of 1 or ${REGION_PRECISION} characters`)
    }
  }
  return { kinds: [...kinds], regions: [...new Set(request.regions)] }
}
