import assert from 'node:assert/strict'
import fc from 'fast-check'
import { DEFAULT_RELAYED_JOB_POLICY, RELAY_OVERHEAD_BYTES, RelayLimitError, errorOfCode, relayBreachMessage, relayFit, relayedJobPolicy } from '../src/index.js'
import type { RelayedJobPolicy } from '../src/index.js'
import type { ConnectionLimits } from '@libp2p/interface'

const policies = fc.record<RelayedJobPolicy>({
  enabled: fc.boolean(),
  maxInputBytes: fc.nat({ max: 1 << 20 }),
  maxOutputBytes: fc.nat({ max: 1 << 20 }),
  upgradeWaitMs: fc.nat({ max: 10_000 })
})
const limitsOf = fc.record<ConnectionLimits>({
  bytes: fc.option(fc.bigInt({ min: 0n, max: 1n << 22n }), { nil: undefined }),
  seconds: fc.option(fc.nat({ max: 600 }), { nil: undefined })
}, { requiredKeys: [] })
const sizes = fc.record({ inputBytes: fc.nat({ max: 1 << 21 }), durationMs: fc.option(fc.nat({ max: 1_200_000 }), { nil: undefined }), inputReceived: fc.option(fc.boolean(), { nil: undefined }) })

describe('relayed job fit', () => {
  it('a connection without limits (direct) fits every job under every policy', () => {
    fc.assert(fc.property(sizes, fc.oneof(policies, fc.constant(false as const)), (size, policy) => {
      assert.equal(relayFit(size, undefined, policy), undefined)
    }))
  })

  it('fits exactly when the input, the bytes the relay allows and its seconds all suffice; else names the first limit broken', () => {
    fc.assert(fc.property(sizes, limitsOf, policies, (size, limits, policy) => {
      const breach = relayFit(size, limits, policy)
      // an input that came with the Assign has crossed the relay already: only the output and the records are still to come
      const needBytes = (size.inputReceived === true ? 0 : size.inputBytes) + policy.maxOutputBytes + RELAY_OVERHEAD_BYTES
      const expected = !policy.enabled
        ? 'disabled'
        : size.inputBytes > policy.maxInputBytes
          ? 'maxInputBytes'
          : limits.bytes != null && BigInt(needBytes) > limits.bytes
            ? 'bytes'
            : limits.seconds != null && size.durationMs != null && size.durationMs > limits.seconds * 1000
              ? 'seconds'
              : undefined
      assert.equal(breach?.limit, expected)
      if (breach != null && breach.limit !== 'disabled') {
        assert.ok(breach.need > breach.allowed, `${breach.limit}: needs ${breach.need}, allowed ${breach.allowed}`)
        assert.match(relayBreachMessage(breach), new RegExp(`${breach.need}.*${breach.allowed}`))
      }
    }))
  })

  it('a job that fits still fits with a smaller input and a shorter time', () => {
    fc.assert(fc.property(sizes, limitsOf, policies, fc.nat({ max: 1 << 21 }), fc.nat({ max: 1_200_000 }), (size, limits, policy, less, shorter) => {
      fc.pre(relayFit(size, limits, policy) == null)
      const smaller = { ...size, inputBytes: Math.max(0, size.inputBytes - less), durationMs: size.durationMs == null ? undefined : Math.max(0, size.durationMs - shorter) }
      assert.equal(relayFit(smaller, limits, policy), undefined)
    }))
  })

  it('relayed: false never runs over a relay; a partial policy keeps the other defaults', () => {
    assert.equal(relayFit({ inputBytes: 0 }, {}, relayedJobPolicy(false))?.limit, 'disabled')
    assert.deepEqual(relayedJobPolicy({ maxInputBytes: 1 }), { ...DEFAULT_RELAYED_JOB_POLICY, maxInputBytes: 1 })
    assert.deepEqual(relayedJobPolicy(undefined), DEFAULT_RELAYED_JOB_POLICY)
  })

  it('the default policy fits the js relay default limits (128 KiB, 2 min) for a job at its input limit', () => {
    const limits = { bytes: 128n * 1024n, seconds: 120 }
    assert.equal(relayFit({ inputBytes: DEFAULT_RELAYED_JOB_POLICY.maxInputBytes, durationMs: 60_000 }, limits, relayedJobPolicy()), undefined)
  })

  it('a provider that read the whole input with the Assign counts it once: a job at the input limit fits what the relay has left', () => {
    // the relay's remaining bytes already went down by the input (and the quote, noise, identify): about 128 - 32 - 8 KiB
    const limits = { bytes: 88n * 1024n, seconds: 120 }
    const size = { inputBytes: DEFAULT_RELAYED_JOB_POLICY.maxInputBytes, durationMs: 60_000 }
    assert.equal(relayFit({ ...size, inputReceived: true }, limits, relayedJobPolicy()), undefined)
    assert.equal(relayFit(size, limits, relayedJobPolicy())?.limit, 'bytes')
  })

  it('a relay-limit Failure from the peer is a RelayLimitError', () => {
    const err = errorOfCode('relay-limit', 'too big')
    assert.ok(err instanceof RelayLimitError)
    assert.equal(err.name, 'RelayLimitError')
    assert.equal(err.code, 'relay-limit')
  })
})
