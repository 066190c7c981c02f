import assert from 'node:assert/strict'
import { AllCandidatesFailedError } from '../src/errors.js'
import { failover, hedge } from '../src/failover.js'
import { PeerTrust } from '../src/trust.js'

async function delay (ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason) }, { once: true })
  })
}

describe('failover and hedging', () => {
  it('tries the next candidate after a failure', async () => {
    const tried: string[] = []
    const { result, candidate, attempts } = await failover(['a', 'b', 'c'], async (c) => {
      tried.push(c)

      if (c === 'a') {
        throw new Error('boom')
      }

      return `done by ${c}`
    })

    assert.equal(result, 'done by b')
    assert.equal(candidate, 'b')
    assert.deepEqual(tried, ['a', 'b'])
    assert.deepEqual(attempts.map(a => [a.candidate, a.ok]), [['a', false], ['b', true]])
  })

  it('goes on to the next candidate and settles when the caller\'s onOutcome throws', async () => {
    const seen: string[] = []
    const { result } = await failover(['a', 'b'], async (c) => {
      if (c === 'a') {
        throw new Error('boom')
      }
      return `done by ${c}`
    }, { onOutcome: (record) => { seen.push(record.candidate); throw new Error('hook broke') } })

    assert.equal(result, 'done by b')
    assert.deepEqual(seen, ['a', 'b'])
  })

  it('moves on when an attempt times out, even if it ignores its signal', async () => {
    const { candidate, attempts } = await failover(['slow', 'fast'], async (c) => {
      if (c === 'slow') {
        return new Promise<string>(() => {})
      }

      return c
    }, { attemptTimeoutMs: 50 })

    assert.equal(candidate, 'fast')
    assert.equal(attempts[0].error?.name, 'TimeoutError')
  })

  it('takes times that are not whole ms (a deadline minus a fractional clock): attempts time out, the deadline holds', async () => {
    const { candidate, attempts } = await failover(['slow', 'fast'], async (c) => {
      if (c === 'slow') {
        return new Promise<string>(() => {})
      }
      return c
    }, { attemptTimeoutMs: 49.7, timeoutMs: 29_999.4 })
    assert.equal(candidate, 'fast')
    assert.equal(attempts[0].error?.name, 'TimeoutError')
    await assert.rejects(failover(['a'], async (_, signal) => { await delay(10_000, signal) }, { timeoutMs: 20.25 }), { name: 'DeadlineExceededError' })
  })

  it('gives up at the deadline with DeadlineExceededError', async () => {
    await assert.rejects(failover(['a', 'b'], async (_, signal) => { await delay(10_000, signal) }, { timeoutMs: 50 }), { name: 'DeadlineExceededError' })
  })

  it('reports AllCandidatesFailedError with every error', async () => {
    await assert.rejects(failover(['a', 'b'], async (c) => { throw new Error(c) }), (err: unknown) => {
      assert.ok(err instanceof AllCandidatesFailedError)
      assert.deepEqual(err.errors.map(e => e.message), ['a', 'b'])
      return true
    })
    await assert.rejects(failover([], async () => 1), { name: 'AllCandidatesFailedError' })
  })

  it('honours the caller\'s signal', async () => {
    const controller = new AbortController()
    const p = failover(['a'], async (_, signal) => { await delay(10_000, signal) }, { signal: controller.signal })
    controller.abort(new Error('caller gave up'))
    await assert.rejects(p, { message: 'caller gave up' })
  })

  it('hedge sends to two and aborts the loser', async () => {
    let loserAborted = false
    const { candidate, attempts } = await hedge(['slow', 'fast', 'unused'], async (c, signal) => {
      if (c === 'slow') {
        try {
          await delay(10_000, signal)
        } catch (err) {
          loserAborted = signal.aborted
          throw err
        }
      }

      await delay(10, signal)
      return c
    })

    assert.equal(candidate, 'fast')
    assert.ok(loserAborted)
    assert.deepEqual(attempts.map(a => [a.candidate, a.ok, a.cancelled]), [['fast', true, false], ['slow', false, true]])
  })

  it('hedge replaces a failed attempt with the next candidate', async () => {
    const started: string[] = []
    const { candidate } = await hedge(['a', 'b', 'c'], async (c, signal) => {
      started.push(c)

      if (c === 'a') {
        throw new Error('a failed')
      }

      await delay(c === 'b' ? 200 : 10, signal)
      return c
    })

    assert.deepEqual(started, ['a', 'b', 'c'])
    assert.equal(candidate, 'c')
  })

  it('does not report cancelled hedges as failures', async () => {
    const outcomes: string[] = []
    await hedge(['a', 'b'], async (c, signal) => {
      await delay(c === 'a' ? 10 : 5000, signal)
      return c
    }, { onOutcome: (r) => outcomes.push(`${r.candidate}:${r.ok}`) })

    assert.deepEqual(outcomes, ['a:true'])
  })
})

describe('PeerTrust', () => {
  it('drops fast on lies, slowly recovers on success', () => {
    const trust = new PeerTrust({ initial: 0.8, now: () => 0 })
    assert.equal(trust.get('x'), 0.8)

    trust.record('x', 'coordinate-lie')
    assert.equal(trust.get('x'), 0.4)
    trust.record('x', 'success')
    assert.ok(trust.get('x') > 0.4 && trust.get('x') < 0.45)

    trust.record('y', 'failure')
    assert.ok(trust.get('y') > trust.get('x'))
  })

  it('stays within [0, 1] and bounds its memory', () => {
    const trust = new PeerTrust({ maxPeers: 2 })

    for (let i = 0; i < 100; i++) {
      trust.record('a', 'success')
      trust.record('b', 'refused-with-free-slots')
    }

    trust.record('c', 'failure')
    assert.ok(trust.get('a') <= 1)
    assert.ok(trust.get('b') >= 0)
    assert.equal(trust.entries().length, 2)
  })

  it('lets a penalty fade toward the initial trust with time, never above it, so a peer refused after a bad spell is tried again', () => {
    const clock = { now: 0 }
    const trust = new PeerTrust({ initial: 0.8, recoveryHalfLifeMs: 1000, now: () => clock.now })
    for (let i = 0; i < 8; i++) trust.record('restarted', 'failure')
    const low = trust.get('restarted')
    assert.ok(low < 0.3)
    clock.now = 1000
    assert.ok(Math.abs(trust.get('restarted') - (0.8 - (0.8 - low) / 2)) < 1e-9)
    clock.now = 100_000
    assert.ok(Math.abs(trust.get('restarted') - 0.8) < 1e-9)
    // earned trust does not fade
    for (let i = 0; i < 10; i++) trust.record('good', 'success')
    const earned = trust.get('good')
    clock.now = 10_000_000
    assert.equal(trust.get('good'), earned)
    // a fresh failure starts from the recovered score
    trust.record('restarted', 'failure')
    assert.ok(Math.abs(trust.get('restarted') - 0.8 * 0.85) < 1e-9)
    // and without a half-life penalties stay
    const strict = new PeerTrust({ initial: 0.8, recoveryHalfLifeMs: 0, now: () => clock.now })
    strict.record('x', 'failure')
    clock.now += 10_000_000
    assert.equal(strict.get('x'), 0.8 * 0.85)
  })

  it('forgets trusted peers before penalised ones, so throwaway ids cannot restore a liar', () => {
    const trust = new PeerTrust({ maxPeers: 4, initial: 0.8, now: () => 0 })
    trust.record('liar', 'refused-with-free-slots')
    const penalised = trust.get('liar')
    for (let i = 0; i < 100; i++) {
      trust.record(`throwaway-${i}`, 'success')
    }
    assert.equal(trust.get('liar'), penalised)
    assert.equal(trust.entries().length, 4)
  })
})
