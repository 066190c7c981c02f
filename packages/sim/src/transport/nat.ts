/**
 * The NAT in front of a simulated peer. An address-restricted NAT (the
 * common home router) lets an inbound connection through only from a remote
 * the peer itself sent to within the mapping window: that is what lets the
 * simultaneous dials of DCUtR hole punching meet. A symmetric NAT maps every
 * destination to a different port, so nothing the remote learnt is of use:
 * inbound dials never get through.
 */

import { DEFAULT_NAT_MAPPING_MS } from './constants.js'

/** How a NAT treats inbound connections. */
export type NatType = 'address-restricted' | 'symmetric'

/** Options of {@link NatMapping}. */
export interface NatInit {
  type: NatType
  /** how long an outbound dial keeps the way back open, ms @default 60000 */
  mappingMs?: number
}

/**
 * One NAT's mappings: the remotes (by peer id, the simulation's stand-in
 * for an IP address) its peer dialed, and when.
 */
export class NatMapping {
  readonly type: NatType
  readonly mappingMs: number
  private readonly dialed = new Map<string, number>()

  constructor (init: NatInit) {
    this.type = init.type
    this.mappingMs = init.mappingMs ?? DEFAULT_NAT_MAPPING_MS
  }

  /** The peer behind this NAT dialed `remote` at `now` (ms). */
  outbound (remote: string, now: number): void {
    this.dialed.set(remote, now)

    // forget expired mappings now and then, so a long run does not keep every remote
    if (this.dialed.size > 1024) {
      for (const [key, at] of this.dialed) {
        if (now - at > this.mappingMs) this.dialed.delete(key)
      }
    }
  }

  /** Whether an inbound dial from `remote` at `now` (ms) gets through. */
  admits (remote: string, now: number): boolean {
    if (this.type === 'symmetric') return false
    const at = this.dialed.get(remote)
    return at != null && at <= now && now - at <= this.mappingMs
  }
}
