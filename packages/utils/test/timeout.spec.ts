import assert from 'node:assert/strict'
import { once } from 'node:events'
import fc from 'fast-check'
import { timeoutSignal, untilAborted } from '../src/index.js'

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

describe('untilAborted', () => {
  it('settles as the promise does while the signal stays quiet, or without a signal', async () => {
    assert.equal(await untilAborted(Promise.resolve(1), new AbortController().signal), 1)
    assert.equal(await untilAborted(Promise.resolve(2)), 2)
    await assert.rejects(untilAborted(Promise.reject(new Error('boom')), new AbortController().signal), { message: 'boom' })
  })

  it('rejects with the signal\'s reason once it aborts first, leaving the shared work to go on', async () => {
    const controller = new AbortController()
    let finish: (v: number) => void = () => {}
    const shared = new Promise<number>(resolve => { finish = resolve })
    const mine = untilAborted(shared, controller.signal)
    const theirs = untilAborted(shared)
    controller.abort(new Error('gave up'))
    await assert.rejects(mine, { message: 'gave up' })
    finish(3)
    assert.equal(await theirs, 3)
    await assert.rejects(untilAborted(shared, controller.signal), { message: 'gave up' }, 'an aborted signal rejects at once')
  })
})
