import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  Scheduler,
  backlogBytes,
  backlogFallsTo,
  chunkLossProbability,
  directionParams,
  giveUpAfter,
  planChunk,
  retransmissionDelay,
  retransmissionTimeout,
  segmentCount
} from '../src/transport/index.js'
import type { DirectionState, RandomSource, TcpModel } from '../src/transport/index.js'

const tcp: TcpModel = { minRtoMs: 200, maxRetransmits: 6, mss: 1460 }

function fresh (): DirectionState {
  return { txFreeAt: -Infinity, lastDeliverAt: -Infinity }
}

/** a random source that replays `values`, then repeats the last one */
function scripted (...values: number[]): RandomSource {
  let i = 0
  return () => values[Math.min(i++, values.length - 1)]
}

const never = scripted(0.999999)

describe('transport link model', () => {
  describe('directionParams', () => {
    it('halves the RTT and converts bytes per second to bytes per ms', () => {
      const params = directionParams({ rttMs: 80, bandwidthBps: 1_000_000 }, tcp)
      assert.equal(params.oneWayMs, 40)
      assert.equal(params.bytesPerMs, 1000)
      assert.equal(params.loss, 0)
      assert.equal(params.rtoMs, 200)
    })

    it('treats an absent or zero bandwidth as unlimited', () => {
      assert.equal(directionParams({ rttMs: 1 }, tcp).bytesPerMs, Infinity)
      assert.equal(directionParams({ rttMs: 1, bandwidthBps: 0 }, tcp).bytesPerMs, Infinity)
    })

    it('rejects profiles it cannot simulate with InvalidLinkProfileError', () => {
      const bad = fc.oneof(
        fc.record({ rttMs: fc.oneof(fc.double({ max: -Number.MIN_VALUE }), fc.constant(NaN), fc.constant(Infinity)) }),
        fc.record({ rttMs: fc.constant(10), loss: fc.oneof(fc.double({ min: 1.0000001, noNaN: true }), fc.double({ max: -Number.MIN_VALUE, noNaN: true }), fc.constant(NaN)) }),
        fc.record({ rttMs: fc.constant(10), jitterMs: fc.oneof(fc.double({ max: -Number.MIN_VALUE }), fc.constant(NaN)) }),
        fc.record({ rttMs: fc.constant(10), bandwidthBps: fc.oneof(fc.double({ max: -Number.MIN_VALUE, noNaN: true }), fc.constant(NaN), fc.double({ min: Number.MIN_VALUE, max: 0.999, noNaN: true })) })
      )

      fc.assert(fc.property(bad, profile => {
        assert.throws(() => directionParams(profile, tcp), (err: Error) => err.name === 'InvalidLinkProfileError')
      }))
    })

    it('accepts every well-formed profile', () => {
      const good = fc.record({
        rttMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
        jitterMs: fc.double({ min: 0, max: 1e4, noNaN: true }),
        loss: fc.double({ min: 0, max: 1, noNaN: true }),
        bandwidthBps: fc.oneof(fc.constant(0), fc.double({ min: 1, max: 1e12, noNaN: true }))
      })

      fc.assert(fc.property(good, profile => {
        const params = directionParams(profile, tcp)
        assert.ok(params.rtoMs >= tcp.minRtoMs)
        assert.ok(params.oneWayMs >= 0)
      }))
    })
  })

  describe('retransmission timeout', () => {
    it('is floored at the minimum RTO', () => {
      assert.equal(retransmissionTimeout(50, 5, 200), 200)
    })

    it('is RTT plus four times the variation above the floor', () => {
      assert.equal(retransmissionTimeout(300, 10, 200), 340)
    })

    it('doubles per lost retransmission', () => {
      assert.equal(retransmissionDelay(200, 0), 0)
      assert.equal(retransmissionDelay(200, 1), 200)
      assert.equal(retransmissionDelay(200, 2), 600)
      assert.equal(retransmissionDelay(200, 3), 1400)
      assert.equal(giveUpAfter(200, 6), 200 * 127)
    })
  })

  describe('segments and loss', () => {
    it('counts control packets as one segment', () => {
      assert.equal(segmentCount(0, 1460), 1)
      assert.equal(segmentCount(1460, 1460), 1)
      assert.equal(segmentCount(1461, 1460), 2)
    })

    it('loses a chunk when any of its segments is lost', () => {
      assert.equal(chunkLossProbability(1, 0), 0)
      assert.equal(chunkLossProbability(3, 1), 1)
      assert.ok(Math.abs(chunkLossProbability(2, 0.1) - 0.19) < 1e-12)
    })
  })

  describe('planChunk', () => {
    it('delivers one one-way delay after the last byte is serialized', () => {
      const params = directionParams({ rttMs: 100, bandwidthBps: 1_000_000 }, tcp)
      const state = fresh()
      const plan = planChunk(state, 1000, 5000, params, tcp, never)
      assert.equal(plan.txStart, 1000)
      assert.equal(plan.txDone, 1005)
      assert.equal(plan.deliverAt, 1055)
    })

    it('queues chunks behind each other at the bandwidth', () => {
      const params = directionParams({ rttMs: 20, bandwidthBps: 1_000_000 }, tcp)
      const state = fresh()
      const plans = [0, 1, 2, 3].map(() => planChunk(state, 0, 10_000, params, tcp, never))
      assert.deepEqual(plans.map(p => p.txDone), [10, 20, 30, 40])
      assert.deepEqual(plans.map(p => p.deliverAt), [20, 30, 40, 50])
      assert.equal(backlogBytes(state, 0, params), 40_000)
      assert.equal(backlogFallsTo(state, 10_000, params), 30)
    })

    it('delays a lost chunk by one RTO and everything behind it', () => {
      const params = directionParams({ rttMs: 100, loss: 0.5 }, tcp)
      const state = fresh()
      // first chunk: lost (0.1 < p), retransmission arrives (0.9 > p)
      const lost = planChunk(state, 0, 100, params, tcp, scripted(0.1, 0.9))
      assert.equal(lost.retransmits, 1)
      assert.equal(lost.deliverAt, 50 + 200)
      // second chunk sent 1 ms later is not lost, but cannot overtake
      const next = planChunk(state, 1, 100, params, tcp, scripted(0.9))
      assert.equal(next.retransmits, 0)
      assert.equal(next.deliverAt, 250)
    })

    it('backs off on consecutive losses', () => {
      const params = directionParams({ rttMs: 100, loss: 0.5 }, tcp)
      const plan = planChunk(fresh(), 0, 100, params, tcp, scripted(0.1, 0.1, 0.1, 0.9))
      assert.equal(plan.retransmits, 3)
      assert.equal(plan.deliverAt, 50 + 200 + 400 + 800)
    })

    it('breaks the connection when the retransmissions run out', () => {
      const params = directionParams({ rttMs: 100, loss: 0.5 }, tcp)
      const plan = planChunk(fresh(), 0, 100, params, tcp, scripted(0.1))
      assert.equal(plan.deliverAt, Infinity)
      assert.equal(plan.breakAt, giveUpAfter(200, 6))
    })

    it('draws no randomness on a clean link', () => {
      const params = directionParams({ rttMs: 100 }, tcp)
      planChunk(fresh(), 0, 100, params, tcp, () => { throw new Error('drew') })
    })

    it('never reorders, whatever the jitter, loss and timing', () => {
      const chunk = fc.record({ gap: fc.double({ min: 0, max: 50, noNaN: true }), bytes: fc.integer({ min: 0, max: 200_000 }) })
      const profile = fc.record({
        rttMs: fc.double({ min: 0, max: 500, noNaN: true }),
        jitterMs: fc.double({ min: 0, max: 500, noNaN: true }),
        loss: fc.double({ min: 0, max: 0.5, noNaN: true }),
        bandwidthBps: fc.oneof(fc.constant(0), fc.double({ min: 1, max: 1e9, noNaN: true }))
      })

      fc.assert(fc.property(profile, fc.array(chunk, { maxLength: 50 }), fc.integer(), (p, chunks, seed) => {
        const params = directionParams(p, tcp)
        const state = fresh()
        let s = seed >>> 0
        const random = (): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32 }
        let now = 0
        let last = -Infinity

        for (const c of chunks) {
          now += c.gap
          const plan = planChunk(state, now, c.bytes, params, tcp, random)

          if (plan.breakAt != null) {
            assert.ok(plan.breakAt > now)
            return
          }

          assert.ok(plan.deliverAt >= last, 'delivered before an earlier chunk')
          assert.ok(plan.deliverAt >= plan.txDone, 'delivered before it was sent')
          assert.ok(plan.txStart >= now)
          last = plan.deliverAt
        }
      }))
    })

    it('keeps the mean one-way delay under jitter', () => {
      const params = directionParams({ rttMs: 100, jitterMs: 20 }, tcp)
      let s = 7
      const random = (): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32 }
      let sum = 0
      let min = Infinity
      let max = -Infinity
      const n = 2000

      for (let i = 0; i < n; i++) {
        // spaced out so ordering never clamps a draw
        const now = i * 1000
        const delay = planChunk(fresh(), now, 10, params, tcp, random).deliverAt - now
        sum += delay
        min = Math.min(min, delay)
        max = Math.max(max, delay)
      }

      assert.ok(Math.abs(sum / n - 50) < 0.5)
      assert.ok(min >= 40 && max <= 60)
    })
  })

  describe('Scheduler', () => {
    it('runs tasks in time order, ties in insertion order, skipping cancelled ones', async () => {
      const scheduler = new Scheduler({ slackMs: 0 })
      const ran: string[] = []
      const now = scheduler.now()
      const done = new Promise<void>(resolve => { scheduler.schedule(now + 30, resolve) })

      scheduler.schedule(now + 20, () => ran.push('c'))
      scheduler.schedule(now + 5, () => ran.push('a'))
      scheduler.schedule(now + 10, () => ran.push('b1'))
      scheduler.schedule(now + 10, () => ran.push('b2'))
      scheduler.schedule(now + 15, () => ran.push('x')).cancel()

      await done
      assert.deepEqual(ran, ['a', 'b1', 'b2', 'c'])
      assert.equal(scheduler.size, 0)
    })

    it('never runs a task before its time when there is no slack', async () => {
      const scheduler = new Scheduler({ slackMs: 0 })
      const early: number[] = []
      const start = scheduler.now()
      const tasks = Array.from({ length: 50 }, (_, i) => start + (i * 7) % 40)
      await new Promise<void>(resolve => {
        let left = tasks.length
        for (const at of tasks) {
          scheduler.schedule(at, () => {
            if (scheduler.now() < at) {
              early.push(at)
            }
            if (--left === 0) {
              resolve()
            }
          })
        }
      })
      assert.deepEqual(early, [])
    })

    it('keeps running when a task throws', async () => {
      const scheduler = new Scheduler()
      const now = scheduler.now()
      scheduler.schedule(now + 1, () => { throw new Error('boom') })
      await new Promise<void>(resolve => { scheduler.schedule(now + 2, resolve) })
    })
  })
})
