import assert from 'node:assert/strict'
import { FIBRE_KM_PER_MS, cellRttFloor, encodeGeohash, greatCircleKm } from '@shoal/records'
import fc from 'fast-check'
import { checkLocation } from '../src/index.js'

// Paris and Tokyo: about 9700 km apart, so no RTT between them is below ~97 ms (the floor across the cells' gap is a little lower)
const PARIS = encodeGeohash(48.8566, 2.3522, 7)
const PARIS_NEAR = encodeGeohash(48.86, 2.36, 7)
const TOKYO = encodeGeohash(35.6762, 139.6503, 7)

const rtt = (ms: number): { median: number, min: number } => ({ median: ms, min: ms })

describe('location check', () => {
  it('refuses an RTT below what light in fibre needs from the claimed cell as a lie', () => {
    const floor = cellRttFloor(PARIS, TOKYO)
    assert.ok(floor > 80 && floor <= 2 * greatCircleKm(48.8566, 2.3522, 35.6762, 139.6503) / FIBRE_KM_PER_MS, `floor ${floor}`)
    const refused = checkLocation({ own: PARIS, claimed: TOKYO, rtt: rtt(5), regionRequired: false })
    assert.equal(refused?.verdict, 'location-lie')
    assert.match(refused?.explain ?? '', /answers in 5 ms/)
    // the median decides: one fast sample among slow ones is no proof
    assert.equal(checkLocation({ own: PARIS, claimed: TOKYO, rtt: { median: floor + 20, min: 5 }, regionRequired: false }), undefined)
  })

  it('accepts an RTT at the floor, and any slow one when the job requires no region', () => {
    const floor = cellRttFloor(PARIS, TOKYO)
    assert.equal(checkLocation({ own: PARIS, claimed: TOKYO, rtt: rtt(floor), regionRequired: false }), undefined)
    assert.equal(checkLocation({ own: PARIS, claimed: PARIS_NEAR, rtt: rtt(2000), regionRequired: false }), undefined)
  })

  it('refuses, for a job that requires a region, an RTT far above what the claimed distance needs (location-implausible)', () => {
    const refused = checkLocation({ own: PARIS, claimed: PARIS_NEAR, rtt: rtt(300), regionRequired: true })
    assert.equal(refused?.verdict, 'location-implausible')
    // a slow median with one fast sample: the path can be fast, so the claim stands
    assert.equal(checkLocation({ own: PARIS, claimed: PARIS_NEAR, rtt: { median: 300, min: 20 }, regionRequired: true }), undefined)
    // maxStretch and slackMs move the ceiling
    assert.equal(checkLocation({ own: PARIS, claimed: PARIS_NEAR, rtt: rtt(300), regionRequired: true }, { slackMs: 400 }), undefined)
    assert.equal(checkLocation({ own: PARIS, claimed: TOKYO, rtt: rtt(350), regionRequired: true }, { maxStretch: 3 }), undefined)
    assert.equal(checkLocation({ own: PARIS, claimed: TOKYO, rtt: rtt(350), regionRequired: true }, { maxStretch: 1, slackMs: 10 })?.verdict, 'location-implausible')
  })

  it('never refuses when either side is the world (no claim) or not a geohash', () => {
    assert.equal(checkLocation({ own: PARIS, claimed: 'not a cell!', rtt: rtt(0), regionRequired: true }), undefined)
    assert.equal(checkLocation({ own: '', claimed: TOKYO, rtt: rtt(0), regionRequired: true }), undefined)
    assert.equal(checkLocation({ own: PARIS, claimed: '', rtt: rtt(5000), regionRequired: true }), undefined)
  })

  it('never refuses a claim consistent with the measured RTT (property)', () => {
    // the candidate really is where it claims (its cell holds its position), and the RTT is one
    // a real path could have: at least light's, at most maxStretch times that plus the slack
    fc.assert(fc.property(position(), position(), fc.integer({ min: 2, max: 9 }), fc.integer({ min: 2, max: 9 }), fc.double({ min: 1, max: 3, noNaN: true }), fc.double({ min: 0, max: 80, noNaN: true }), fc.boolean(),
      ([la, oa], [lb, ob], pOwn, pClaim, stretch, extra, regionRequired) => {
        const own = encodeGeohash(la, oa, pOwn)
        const claimed = encodeGeohash(lb, ob, pClaim)
        const light = 2 * greatCircleKm(la, oa, lb, ob) / FIBRE_KM_PER_MS
        const median = light * stretch + extra
        const min = light + extra / 2
        assert.equal(checkLocation({ own, claimed, rtt: { median, min }, regionRequired }), undefined)
      }))
  })
})

function position (): fc.Arbitrary<[number, number]> {
  return fc.tuple(fc.double({ min: -89.9, max: 89.9, noNaN: true }), fc.double({ min: -179.9, max: 179.9, noNaN: true }))
}
