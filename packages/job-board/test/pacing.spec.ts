import assert from 'node:assert/strict'
import { PublishRateLimitedError } from '../src/errors.js'
import { PublishPacer } from '../src/pacing.js'

describe('PublishPacer: this node keeps to the rate its peers accept', () => {
  let pacers: PublishPacer[] = []

  function pacer (burst: number, perSecond: number, now: () => number = Date.now): PublishPacer {
    const p = new PublishPacer({ burst, perSecond, now })
    pacers.push(p)
    return p
  }

  afterEach(() => {
    pacers.forEach(p => { p.stop() })
    pacers = []
  })

  it('sends the burst at once, then refuses with the time until there is room, taking nothing', async () => {
    const clock = { now: 0 }
    const p = pacer(3, 0.5, () => clock.now)
    for (let i = 0; i < 3; i++) await p.take(1, { maxWaitMs: 0 })
    const refused = await p.take(1, { maxWaitMs: 0 }).then(() => undefined, (err: unknown) => err)
    assert.ok(refused instanceof PublishRateLimitedError)
    assert.equal(refused.name, 'PublishRateLimitedError')
    assert.equal(refused.retryAfterMs, 2000)
    assert.match(refused.message, /peers accept 3 announcements at once, then one every 2 s; room again in 2 s/)
    // half a token later: the refusal took nothing, so one second is left
    clock.now += 1000
    await assert.rejects(p.take(1, { maxWaitMs: 0 }), (err: unknown) => err instanceof PublishRateLimitedError && err.retryAfterMs === 1000)
    clock.now += 1000
    await p.take(1, { maxWaitMs: 0 })
  })

  it('charges a message one token per topic, and one wider than the burst the whole burst', async () => {
    const clock = { now: 0 }
    const p = pacer(3, 1, () => clock.now)
    await p.take(2, { maxWaitMs: 0 })
    await assert.rejects(p.take(2, { maxWaitMs: 0 }), { name: 'PublishRateLimitedError' })
    await p.take(1, { maxWaitMs: 0 })
    clock.now += 3000
    await p.take(5, { maxWaitMs: 0 })
    await assert.rejects(p.take(1, { maxWaitMs: 0 }), { name: 'PublishRateLimitedError' })
  })

  it('lets callers wait their turn in order, a withdrawal (first) ahead of waiting announcements', async () => {
    const p = pacer(1, 100)
    await p.take(1, { maxWaitMs: 0 })
    const order: string[] = []
    const waits = [
      p.take(1, { maxWaitMs: 60_000 }).then(() => order.push('a')),
      p.take(1, { maxWaitMs: 60_000 }).then(() => order.push('b')),
      p.take(1, { maxWaitMs: Infinity, first: true }).then(() => order.push('withdrawal'))
    ]
    // while others wait, a caller that will not wait is refused even if a token has come meanwhile
    await assert.rejects(p.take(1, { maxWaitMs: 0 }), { name: 'PublishRateLimitedError' })
    await Promise.all(waits)
    assert.deepEqual(order, ['withdrawal', 'a', 'b'])
  })

  it('refuses waiting callers when the board stops or their signal aborts', async () => {
    const p = pacer(1, 0.001)
    await p.take(1, { maxWaitMs: 0 })
    const controller = new AbortController()
    const aborted = p.take(1, { maxWaitMs: Infinity, signal: controller.signal })
    const stopped = p.take(1, { maxWaitMs: Infinity })
    controller.abort(new Error('caller gave up'))
    await assert.rejects(aborted, { message: 'caller gave up' })
    p.stop()
    await assert.rejects(stopped, { name: 'JobBoardNotStartedError' })
  })
})
