import { createRng } from '../random.js'
import { LatencyModelError } from './errors.js'
import { fitGeoParams, fitLinear, fitPlainGeoParams, geoRttMs } from './fit.js'
import { GeographicLatency } from './geographic.js'
import { hasCoordinates } from './geo.js'
import { datasetSamples, MeasuredLatency, subsetDataset } from './measured.js'
import type { FitSample, GeoParams } from './fit.js'
import type { Seed } from '../random.js'
import type { LatencyDataset, MeasuredPair } from './types.js'

/** Options of {@link calibrateGeographic}. */
export interface CalibrationOptions {
  /** Seed of the train/test splits. @default 1 */
  seed?: Seed
  /** Fraction of pairs (and, for the backbone, of cities) held out. @default 0.2 */
  holdout?: number
}

/**
 * What {@link calibrateGeographic} measured. Field names are stable:
 * benchmarks copy them into their JSON. All errors are relative,
 * `|predicted - measured| / measured`, over held-out pairs only.
 */
export interface CalibrationResult {
  /** Parameters fitted on the training pairs (continent-aware) with the backbone leg inflation. */
  params: GeoParams
  /** Training and held-out pair counts of the pair split. */
  train_pairs: number
  test_pairs: number
  /** Median / 90th percentile error of the geographic model (continent-aware fit). */
  median_rel_err: number
  p90_rel_err: number
  /** Median error of the two-parameter geographic model (one inflation, one access leg). */
  plain_median_rel_err: number
  /** Ordinary least squares `rtt = intercept + slope · km`, the naive baseline, and its median error. */
  linear_fit: { intercept_ms: number, ms_per_km: number }
  linear_fit_median_rel_err: number
  /**
   * The geographic model over a measured backbone from which whole cities
   * were held out (so each held-out city's nearest measured city is
   * another one), on every pair touching a held-out city.
   */
  backbone_median_rel_err: number
  backbone_p90_rel_err: number
  backbone_held_out_sites: number
  backbone_test_pairs: number
}

/** Leg inflations tried when fitting the backbone leg. */
const LEG_GRID = Array.from({ length: 26 }, (_, i) => i / 10)

/**
 * Fits the geographic model on a measured data set with coordinates (e.g.
 * WonderNetwork) and measures it on data left out of the fit:
 *
 * 1. pairs are split at random (`holdout` of them for testing); the linear
 *    baseline, the plain and the continent-aware geographic fits are made
 *    on the training pairs and scored on the test pairs;
 * 2. for the backbone variant, `holdout` of the cities are removed from the
 *    backbone; the leg inflation is chosen on an inner split of the
 *    remaining cities, then every pair touching a removed city is predicted
 *    through the backbone of the remaining ones.
 *
 * Deterministic for a given seed. Accepts a data set or a measured model.
 *
 * @example
 * ```ts
 * const model = await loadLatency('data/wondernetwork-2020-07')
 * const r = calibrateGeographic(model, { seed: 1, holdout: 0.2 })
 * r.median_rel_err // geographic model, held-out pairs
 * ```
 */
export function calibrateGeographic (input: LatencyDataset | MeasuredLatency, options: CalibrationOptions = {}): CalibrationResult {
  const dataset = input instanceof MeasuredLatency ? input.dataset : input
  const holdout = options.holdout ?? 0.2
  if (!(holdout > 0 && holdout < 1)) {
    throw new RangeError(`holdout must be in (0, 1), got ${holdout}`)
  }
  const rng = createRng(options.seed ?? 1)
  const samples = datasetSamples(dataset)
  if (samples.length < 20) {
    throw new LatencyModelError(`${dataset.source}: calibration needs at least 20 measured pairs between sites with coordinates, found ${samples.length}`)
  }

  // 1. pair split
  const pairRng = rng.fork('pairs')
  const train: FitSample[] = []
  const test: FitSample[] = []
  for (const s of samples) {
    (pairRng.float() < holdout ? test : train).push(s)
  }
  if (test.length === 0 || train.length < 10) {
    throw new LatencyModelError(`${dataset.source}: too few pairs to hold ${holdout} out`)
  }
  const linear = fitLinear(train)
  const plain = fitPlainGeoParams(train)
  const params = fitGeoParams(train)
  const errLinear = test.map(s => relErr(linear.interceptMs + linear.msPerKm * s.distanceKm, s.rttMs))
  const errPlain = test.map(s => relErr(geoRttMs(plain, s.a, s.b, s.distanceKm), s.rttMs))
  const errGeo = test.map(s => relErr(geoRttMs(params, s.a, s.b, s.distanceKm), s.rttMs))

  // 2. city split for the backbone variant
  const located = dataset.sites.filter(hasCoordinates).map(s => s.id)
  const cityRng = rng.fork('cities')
  const heldOut = new Set(located.filter(() => cityRng.float() < holdout))
  if (heldOut.size === 0) heldOut.add(cityRng.pick(located))
  const kept = located.filter(id => !heldOut.has(id))
  if (kept.length < 4) {
    throw new LatencyModelError(`${dataset.source}: too few cities to hold ${holdout} out of the backbone`)
  }
  const keptSet = new Set(kept)
  // the backbone and its parameters see nothing of the held-out cities
  const innerRng = rng.fork('inner')
  const innerHeld = new Set(kept.filter(() => innerRng.float() < holdout))
  if (innerHeld.size === 0) innerHeld.add(innerRng.pick(kept))
  const innerKept = kept.filter(id => !innerHeld.has(id))
  const keptParams = fitGeoParams(datasetSamples(subsetDataset(dataset, kept)))
  const innerPairs = dataset.pairs.filter(p => keptSet.has(p.a) && keptSet.has(p.b) && (innerHeld.has(p.a) || innerHeld.has(p.b)))
  let bestLeg = 1
  let bestErr = Infinity
  const innerBackbone = new MeasuredLatency(subsetDataset(dataset, innerKept))
  for (const leg of LEG_GRID) {
    const errs = backboneErrors(dataset, innerBackbone, kept, innerPairs, { ...keptParams, backboneLegInflation: leg })
    const m = quantile(errs, 0.5)
    if (m < bestErr) {
      bestErr = m
      bestLeg = leg
    }
  }
  const testPairs = dataset.pairs.filter(p => (heldOut.has(p.a) || heldOut.has(p.b)) && hasCoordinates(dataset.sites[p.a]) && hasCoordinates(dataset.sites[p.b]))
  const errBackbone = backboneErrors(dataset, new MeasuredLatency(subsetDataset(dataset, kept)), located, testPairs, { ...keptParams, backboneLegInflation: bestLeg })

  return {
    params: { ...params, backboneLegInflation: bestLeg },
    train_pairs: train.length,
    test_pairs: test.length,
    median_rel_err: quantile(errGeo, 0.5),
    p90_rel_err: quantile(errGeo, 0.9),
    plain_median_rel_err: quantile(errPlain, 0.5),
    linear_fit: { intercept_ms: linear.interceptMs, ms_per_km: linear.msPerKm },
    linear_fit_median_rel_err: quantile(errLinear, 0.5),
    backbone_median_rel_err: quantile(errBackbone, 0.5),
    backbone_p90_rel_err: quantile(errBackbone, 0.9),
    backbone_held_out_sites: heldOut.size,
    backbone_test_pairs: errBackbone.length
  }
}

/**
 * Relative errors of the geographic model over `backbone`, over `pairs`
 * among `siteIds` (indices of `dataset`).
 */
function backboneErrors (dataset: LatencyDataset, backbone: MeasuredLatency, siteIds: number[], pairs: MeasuredPair[], params: GeoParams): number[] {
  const sub = subsetDataset(dataset, siteIds)
  const index = new Map(siteIds.slice().sort((x, y) => x - y).map((old, i) => [old, i]))
  const model = new GeographicLatency({ sites: sub.sites, backbone, params })
  const errs: number[] = []
  for (const p of pairs) {
    const a = index.get(p.a)
    const b = index.get(p.b)
    if (a === undefined || b === undefined) continue
    errs.push(relErr(model.rtt(a, b), p.rttMs))
  }
  return errs
}

function relErr (predicted: number, measured: number): number {
  return Math.abs(predicted - measured) / measured
}

/** The `q` quantile (nearest rank) of `values`; NaN when empty. */
export function quantile (values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = values.slice().sort((x, y) => x - y)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}
