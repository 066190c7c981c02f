/**
 * The job market of a scenario: real Shoal peers (`shoalServices()` per
 * role, `startProvider`, `submitJob`), its analysis against the oracle
 * and the central-cloud baseline.
 */

export { MarketRuntime, MARKET_BEHAVIOURS, PEER_GEOHASH_PRECISION, peerGeohash, parseWorkload } from './market.js'
export type { MarketServices } from './market.js'
export { resolveMarket, isDefended, computeMs, computeModelOf, jitterFactor, isProvider, providerOffer, jobTerms, jobRequirements, servingRole, COMPUTE_MODEL } from './config.js'
export type { ResolvedMarket, ResolvedRole, ResolvedJobKind } from './config.js'
export { CLOUD_REGIONS, placeCloudRegions } from './cloud.js'
export type { CloudCity, PlacedCloudRegion } from './cloud.js'
export { registerBehaviour, behaviourOf, registeredBehaviours, SPAM_WORKLOAD_PREFIX } from './adversaries/index.js'
export type { Behaviour, BehaviourContext, BehaviourSide, Conduct, ConductJob, RunPlan, AdvertisedOffer, AdversaryOptions, MarketBehaviour } from './adversaries/index.js'
export { analyseMarket } from './analysis.js'
export { analyseAdversaries } from './adversarial.js'
export type { AdversarialSummary, AdversarialFigures, AttackRow, AttackFigures, DefenceGroup } from './adversarial.js'
export type { MarketSummary, MarketFigures, JobRow, JobOutcome, NatFigures, SuccessBucket, TimeMark } from './analysis.js'
export type { MarketDriver, MarketOpened } from './driver.js'
export type { ScenarioMarket, MarketRole, MarketGpu, MarketJobKind, MarketCloud, MarketService, ComputeModel } from './types.js'
