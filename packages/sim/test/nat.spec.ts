import assert from 'node:assert/strict'
import fc from 'fast-check'
import { createRng, DEFAULT_NAT_MAPPING_MS, NatMapping, planNat } from '../src/index.js'

describe('NAT mapping', () => {
  it('refuses a remote it never dialed', () => {
    const nat = new NatMapping({ type: 'address-restricted' })
    assert.equal(nat.admits('a', 0), false)
  })

  it('admits a remote it dialed, within the mapping window only', () => {
    const nat = new NatMapping({ type: 'address-restricted', mappingMs: 1000 })
    nat.outbound('a', 100)
    assert.equal(nat.admits('a', 100), true)
    assert.equal(nat.admits('a', 1100), true)
    assert.equal(nat.admits('a', 1101), false)
    assert.equal(nat.admits('b', 200), false, 'the mapping is for the remote dialed, not any remote')
  })

  it('keeps the mapping open from the latest dial', () => {
    const nat = new NatMapping({ type: 'address-restricted', mappingMs: 1000 })
    nat.outbound('a', 0)
    nat.outbound('a', 900)
    assert.equal(nat.admits('a', 1800), true)
  })

  it('a symmetric NAT admits nothing, whatever it dialed', () => {
    const nat = new NatMapping({ type: 'symmetric' })
    nat.outbound('a', 0)
    assert.equal(nat.admits('a', 0), false)
  })

  it('defaults the window to a minute', () => {
    assert.equal(new NatMapping({ type: 'address-restricted' }).mappingMs, DEFAULT_NAT_MAPPING_MS)
  })

  it('admits exactly the remotes dialed within the window before now, and only through an address-restricted NAT', () => {
    const remote = fc.constantFrom('a', 'b', 'c', 'd')
    fc.assert(fc.property(
      fc.constantFrom('address-restricted' as const, 'symmetric' as const),
      fc.integer({ min: 1, max: 5000 }),
      fc.array(fc.tuple(remote, fc.integer({ min: 0, max: 20_000 })), { maxLength: 30 }),
      remote,
      fc.integer({ min: 0, max: 10_000 }),
      (type, mappingMs, dials, from, later) => {
        const nat = new NatMapping({ type, mappingMs })
        // dials happen in time order, as on one clock
        const sorted = [...dials].sort((x, y) => x[1] - y[1])
        for (const [to, at] of sorted) nat.outbound(to, at)
        const now = (sorted.at(-1)?.[1] ?? 0) + later
        const last = sorted.filter(([to]) => to === from).at(-1)?.[1]
        const expected = type === 'address-restricted' && last != null && now - last <= mappingMs
        assert.equal(nat.admits(from, now), expected)
      }
    ))
  })
})

describe('planNat', () => {
  const roles = ['gpu', 'gpu', 'requester', 'gpu', 'gpu', 'requester', 'gpu', 'gpu', 'gpu', 'gpu', 'requester', 'gpu']

  it('puts the share of the roles\' non-bootstrap peers behind NATs, hole-punchable ones first, relays among the public peers', () => {
    const plan = planNat(roles, 2, { share: 0.5, roles: ['gpu'], holePunch: 0.75, relays: 3 }, createRng(1))
    // 7 GPU peers past the 2 bootstrap peers: half of them, rounded
    assert.equal(plan.nat.size, 4)
    for (const index of plan.nat.keys()) {
      assert.equal(roles[index], 'gpu')
      assert.ok(index >= 2, 'a bootstrap peer is behind a NAT')
    }
    assert.equal([...plan.nat.values()].filter(t => t === 'address-restricted').length, 3)
    // the first public peers, bootstrap peers first
    assert.deepEqual(plan.relays, [...roles.keys()].filter(i => !plan.nat.has(i)).slice(0, 3))
  })

  it('makes the same choice for the same seed', () => {
    const a = planNat(roles, 2, { share: 0.5 }, createRng(9))
    const b = planNat(roles, 2, { share: 0.5 }, createRng(9))
    assert.deepEqual([...a.nat], [...b.nat])
    assert.deepEqual(a.relays, b.relays)
  })
})
