/**
 * Latency models for the simulator: where peers are (sites) and the RTT,
 * jitter, loss and bandwidth between them.
 *
 * - {@link loadLatency}: measured models from WonderNetwork-style folders,
 *   TSV matrices, bare matrices (King, Meridian) or CSV edge lists;
 * - {@link geographicLatency}: world cities, RTT from great-circle distance
 *   (optionally over a measured backbone);
 * - {@link calibrateGeographic}: fits and scores the geographic model on
 *   held-out measured data;
 * - {@link placePeers} and {@link linkProfileFor}: what a simulation needs.
 *
 * @example
 * ```ts
 * const backbone = await loadLatency('data/wondernetwork-2020-07')
 * const model = geographicLatency({ backbone, lastMileMs: 5 })
 * const placement = placePeers(model, 200, createRng(42), { regions: { EU: 0.4, NA: 0.3, AS: 0.3 } })
 * const link = linkProfileFor(model)
 * link(placement[0], placement[1]) // { rttMs, jitterMs, loss, bandwidthBps (bytes/s) }
 * ```
 */

export { calibrateGeographic, quantile } from './calibrate.js'
export type { CalibrationOptions, CalibrationResult } from './calibrate.js'
export * from './constants.js'
export { CONTINENTS, continentOf, lookupCountry } from './countries.js'
export type { Continent } from './countries.js'
export { LatencyFileError, LatencyModelError } from './errors.js'
export { accessLegMs, continentPairKey, fitGeoParams, fitLinear, fitPlainGeoParams, geoRttMs, pathInflation } from './fit.js'
export type { FitSample, GeoParams } from './fit.js'
export { greatCircleKm, hasCoordinates, siteDistanceKm } from './geo.js'
export { GeographicLatency, geographicLatency } from './geographic.js'
export type { GeographicLatencyInit } from './geographic.js'
export { linkProfileFor, lossAtDistance } from './link-profile.js'
export type { LinkProfileOptions, LossCurve, SiteLinkProfile } from './link-profile.js'
export { geocodeSites, loadLatency, loadLatencyDataset } from './load.js'
export type { LoadLatencyOptions } from './load.js'
export { datasetSamples, MeasuredLatency, measuredLatency, subsetDataset } from './measured.js'
export type { FillMethod, MeasuredLatencyOptions } from './measured.js'
export { detectFormat, detectUnit, parseBareMatrix, parseEdgeList, parseLatencyFile, parseLatencyText, parseMatrixTsv, parseWonderNetwork } from './parse.js'
export type { BareMatrixOptions, ParseLatencyFileOptions, ParseLatencyOptions, WonderNetworkFiles } from './parse.js'
export { apportion, placePeers, regionMatcher } from './placement.js'
export type { PlacementOptions } from './placement.js'
export type { LatencyDataset, LatencyFormat, LatencyModel, LatencyUnit, MeasuredPair, Site } from './types.js'
export { geocodeCity, worldCities } from './world-cities.js'
export type { WorldCitiesOptions } from './world-cities.js'
