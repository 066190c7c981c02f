import assert from 'node:assert/strict'
import { once } from 'node:events'
import fc from 'fast-check'
import { timeoutSignal } from '../src/index.js'

describe('timeoutSignal', () => {
  it('takes a time that is not a whole number of ms, and aborts with a TimeoutError', async () => {
    const signal = timeoutSignal(1.5)
    await once(signal, 'abort')
    assert.equal((signal.reason as Error).name, 'TimeoutError')
  })

  it('aborts on the next turn for a time already past', async () => {
    const signal = timeoutSignal(-20.5)
    assert.equal(signal.aborted, false)
    await once(signal, 'abort')
    assert.equal(signal.aborted, true)
  })

  it('refuses NaN and infinite times with a RangeError naming them', () => {
    for (const ms of [Number.NaN, Infinity, -Infinity]) {
      assert.throws(() => timeoutSignal(ms), (err: Error) => err instanceof RangeError && err.message.includes(String(ms)))
    }
  })

  it('gives a signal for any finite time up to the longest wait of a timer, never throws', () => {
    fc.assert(fc.property(fc.double({ min: -1e9, max: 2 ** 31 - 2, noNaN: true }), (ms) => {
      const signal = timeoutSignal(ms)
      assert.equal(signal.aborted, false)
    }), { numRuns: 300 })
  })
})
