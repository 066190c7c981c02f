/**
 * The adversary behaviours the market plays, registered by name: a
 * scenario names them in `adversaries[].behaviour`.
 */

import { capabilityLiar, equivocator, locationLiar, silentProvider, slowProvider, sybil, wrongResult } from './provider.js'
import { registerBehaviour } from './registry.js'
import { freeRider, spammer } from './requester.js'
import type { Behaviour } from './registry.js'

/** The nine behaviours the market plays itself. */
export const MARKET_BEHAVIOURS = ['silent-provider', 'wrong-result', 'slow-provider', 'capability-liar', 'location-liar', 'spammer', 'sybil', 'equivocator', 'free-rider'] as const

/** A behaviour the market plays itself. */
export type MarketBehaviour = typeof MARKET_BEHAVIOURS[number]

const BUILT_IN: Record<MarketBehaviour, Behaviour> = {
  'silent-provider': silentProvider,
  'wrong-result': wrongResult,
  'slow-provider': slowProvider,
  'capability-liar': capabilityLiar,
  'location-liar': locationLiar,
  spammer,
  sybil,
  equivocator,
  'free-rider': freeRider
}

for (const name of MARKET_BEHAVIOURS) registerBehaviour(name, BUILT_IN[name])

export { registerBehaviour, behaviourOf, registeredBehaviours, honestConduct } from './registry.js'
export type { Behaviour, BehaviourContext, BehaviourSide, Conduct, ConductJob, RunPlan, AdvertisedOffer, AdversaryOptions } from './registry.js'
export { SPAM_WORKLOAD_PREFIX, SPAM_FACTOR, SPAM_VARIANTS } from './requester.js'
export { SLOW_FACTOR, SLOW_SLOTS_CLAIM, LIE_LONGITUDE_DEG } from './provider.js'
