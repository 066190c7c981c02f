import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { setTimeout as timersSetTimeout, setInterval as timersSetInterval, clearTimeout as timersClearTimeout } from 'node:timers'
import { scheduler, setImmediate as sleepImmediate, setInterval as every, setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import fc from 'fast-check'
import {
  DEFAULT_EPOCH_MS,
  VirtualClock,
  VirtualClockInstalledError,
  VirtualTimeLimitError,
  VirtualTimeStallError,
  currentVirtualClock,
  randomnessSeeded,
  restoreRandomness,
  runAsPeer,
  seedRandomness,
  withVirtualTime
} from '../src/time/index.js'
import { TimeHeap } from '../src/time/heap.js'

const realSetTimeout = globalThis.setTimeout

// a full garbage collection on demand, without starting node with --expose-gc
setFlagsFromString('--expose-gc')
const collectGarbage = runInNewContext('gc') as () => void
const RealDate = globalThis.Date

/** Burns `ms` of real CPU. */
function burn (ms: number): void {
  const end = RealDate.now() + ms
  while (RealDate.now() < end) {
    // spin
  }
}

describe('virtual time', () => {
  describe('clocks', () => {
    it('Date.now, new Date(), Date() and Date statics read the virtual clock', async () => {
      await withVirtualTime({ epochMs: DEFAULT_EPOCH_MS }, async (clock) => {
        assert.equal(Date.now(), DEFAULT_EPOCH_MS)
        await new Promise(resolve => setTimeout(resolve, 90_000))
        assert.equal(clock.now(), 90_000)
        assert.equal(Date.now(), DEFAULT_EPOCH_MS + 90_000)
        assert.equal(new Date().getTime(), DEFAULT_EPOCH_MS + 90_000)
        assert.equal(Date(), new RealDate(DEFAULT_EPOCH_MS + 90_000).toString())
        // with arguments, and the statics, Date is Date
        assert.equal(new Date(5).getTime(), 5)
        assert.equal(Date.UTC(2026, 0, 1), DEFAULT_EPOCH_MS)
        assert.equal(Date.parse('2026-01-01T00:00:00Z'), DEFAULT_EPOCH_MS)
        assert.ok(new Date() instanceof RealDate)
      })
    })

    it('performance.now and process.hrtime advance exactly with virtual time', async () => {
      await withVirtualTime({}, async () => {
        const p0 = performance.now()
        const h0 = process.hrtime.bigint()
        const t0 = process.hrtime()
        await new Promise(resolve => setTimeout(resolve, 1234.5))
        assert.equal(performance.now() - p0, 1234.5)
        assert.equal(process.hrtime.bigint() - h0, 1_234_500_000n)
        assert.deepEqual(process.hrtime(t0), [1, 234_500_000])
      })
    })

    it('gives the real clocks and timers back when it ends, however it ends', async () => {
      await assert.rejects(withVirtualTime({}, async () => { throw new Error('boom') }), /boom/)
      assert.equal(currentVirtualClock(), undefined)
      assert.equal(globalThis.setTimeout, realSetTimeout)
      assert.equal(globalThis.Date, RealDate)
      const a = performance.now()
      await new Promise(resolve => realSetTimeout(resolve, 5))
      assert.ok(performance.now() - a >= 4, 'performance.now runs on real time again')
      assert.equal(timersSetTimeout, realSetTimeout, 'node:timers imports are real again')
    })

    it('one clock per thread', async () => {
      await withVirtualTime({}, async () => {
        assert.throws(() => { new VirtualClock().install() }, VirtualClockInstalledError)
      })
    })
  })

  describe('timers', () => {
    it('fires timers in time order, then in the order they were set', async () => {
      await withVirtualTime({}, async (clock) => {
        const fired: string[] = []
        setTimeout(() => fired.push('b@20'), 20)
        setTimeout(() => fired.push('a@10'), 10)
        setTimeout(() => fired.push('c@20'), 20)
        setTimeout((x: string) => fired.push(x), 5, 'args@5')
        await new Promise(resolve => setTimeout(resolve, 30))
        assert.deepEqual(fired, ['args@5', 'a@10', 'b@20', 'c@20'])
        assert.equal(clock.now(), 30)
      })
    })

    it('keeps Node\'s 1 ms floor for setTimeout(fn, 0) and bad delays', async () => {
      await withVirtualTime({}, async (clock) => {
        await new Promise(resolve => setTimeout(resolve, 0))
        assert.equal(clock.now(), 1)
        await new Promise(resolve => setTimeout(resolve, -5))
        assert.equal(clock.now(), 2)
        await new Promise(resolve => setTimeout(resolve, Number.NaN))
        assert.equal(clock.now(), 3)
      })
    })

    it('clearTimeout by object or numeric id, intervals, refresh, unref', async () => {
      await withVirtualTime({}, async (clock) => {
        let fired = 0
        const a = setTimeout(() => { fired++ }, 10)
        clearTimeout(a)
        const b = setTimeout(() => { fired++ }, 10)
        clearTimeout(Number(b) as unknown as NodeJS.Timeout)
        let ticks = 0
        const iv = setInterval(() => { ticks++ }, 100)
        const t = setTimeout(() => { fired += 10 }, 50)
        assert.equal(t.hasRef(), true)
        assert.equal(t.unref().hasRef(), false)
        await sleep(40)
        t.refresh() // due at 90 now
        await sleep(45)
        assert.equal(fired, 0, 'refreshed timer not due yet')
        await sleep(10)
        assert.equal(fired, 10)
        await sleep(1005 - clock.now())
        clearInterval(iv)
        assert.equal(ticks, 10)
      })
    })

    it('refresh revives a fired timer, from inside its callback too, but not a cleared one', async () => {
      await withVirtualTime({}, async (clock) => {
        const fired: number[] = []
        const t = setTimeout(() => {
          fired.push(clock.now())
          if (fired.length < 3) t.refresh()
        }, 100)
        await sleep(1000)
        assert.deepEqual(fired, [100, 200, 300])
        t.refresh()
        await sleep(200)
        assert.deepEqual(fired, [100, 200, 300, 1100])
        clearTimeout(t)
        t.refresh()
        await sleep(200)
        assert.equal(fired.length, 4)
      })
    })

    it('an interval goes back in after its callback, as Node does', async () => {
      await withVirtualTime({}, async () => {
        const order: string[] = []
        let n = 0
        const iv = setInterval(() => {
          order.push(`interval${++n}`)
          if (n === 1) setTimeout(() => order.push('timeout-set-in-interval'), 10)
          if (n === 2) clearInterval(iv)
        }, 10)
        await sleep(100)
        assert.deepEqual(order, ['interval1', 'timeout-set-in-interval', 'interval2'])
      })
    })

    it('util.promisify(setTimeout), callbacks checked, this is the timer', async () => {
      await withVirtualTime({}, async (clock) => {
        assert.equal(await promisify(setTimeout)(500, 'x'), 'x')
        assert.equal(clock.now(), 500)
        assert.throws(() => setTimeout(5 as unknown as () => void, 10), { code: 'ERR_INVALID_ARG_TYPE' })
        const self = await new Promise(resolve => { const t = setTimeout(function (this: unknown) { resolve(this === t) }, 1) })
        assert.equal(self, true)
        const controller = new AbortController()
        controller.abort(new Error('why'))
        await assert.rejects(sleep(10, undefined, { signal: controller.signal }), (err: Error) => err.name === 'AbortError' && (err.cause as Error).message === 'why')
      })
    })

    it('AbortSignal.any over AbortSignal.timeout aborts, even after a garbage collection', async () => {
      await withVirtualTime({}, async (clock) => {
        const signal = AbortSignal.any([new AbortController().signal, AbortSignal.timeout(2500)])
        // AbortSignal.any holds its sources weakly: a timeout signal the clock held weakly too would be collected here
        // (after a turn of the loop: weakly held objects are kept until the job that made them ends)
        await sleepImmediate()
        collectGarbage()
        const never = new Promise((_resolve, reject) => { realSetTimeout(() => { reject(new Error('the signal never aborted')) }, 5_000).unref() })
        await Promise.race([new Promise(resolve => signal.addEventListener('abort', resolve)), never])
        assert.equal(clock.now(), 2500)
      })
    })

    it('the heap keeps hundreds of thousands of entries in order when most are dropped at once', () => {
      const heap = new TimeHeap<{ at: number, seq: number }>()
      for (let i = 0; i < 600_000; i++) heap.push({ at: (i * 7919) % 1000, seq: i })
      // what the clock does when stale entries outnumber live ones; one push(...kept) of 300,000 overflowed the stack
      heap.retain(e => e.seq % 2 === 0)
      assert.equal(heap.size, 300_000)
      let last = heap.pop()
      for (let n = 1; n < 300_000; n++) {
        const next = heap.pop()
        assert.ok(next != null && last != null && (next.at > last.at || (next.at === last.at && next.seq > last.seq)) && next.seq % 2 === 0)
        last = next
      }
      assert.equal(heap.pop(), undefined)
    })

    it('clearing hundreds of thousands of timers keeps the others', async () => {
      await withVirtualTime({}, async (clock) => {
        const timers = []
        let fired = 0
        for (let i = 0; i < 300_000; i++) timers.push(setTimeout(() => { fired++ }, 1000 + i % 1000))
        for (let i = 0; i < 300_000; i += 3) clearTimeout(timers[i])
        await sleep(5000)
        assert.equal(fired, 200_000)
        assert.equal(clock.now(), 5000)
      })
    })

    it('a timer of an earlier clock clears nothing of the present one', async () => {
      let old: NodeJS.Timeout | undefined
      await withVirtualTime({}, async () => { old = setTimeout(() => {}, 1000) })
      await withVirtualTime({}, async () => {
        let fired = false
        const t = setTimeout(() => { fired = true }, 10)
        clearTimeout(old)
        clearTimeout(Number(t) as unknown as NodeJS.Timeout)
        await sleep(20)
        assert.equal(fired, false)
      })
    })

    it('Date subclasses stay subclasses', async () => {
      await withVirtualTime({}, async () => {
        class Stamp extends Date {}
        assert.ok(new Stamp() instanceof Stamp)
        assert.equal(new Stamp().getTime(), Date.now())
        assert.equal(new Date().constructor, Date)
      })
    })

    it('node:timers named imports are virtual too', async () => {
      await withVirtualTime({}, async (clock) => {
        let n = 0
        const iv = timersSetInterval(() => { n++ }, 1000)
        await new Promise(resolve => timersSetTimeout(resolve, 5001))
        timersClearTimeout(iv)
        assert.equal(clock.now(), 5001)
        assert.equal(n, 5)
      })
    })

    it('node:timers/promises: setTimeout with value and signal, setInterval, setImmediate, scheduler.wait', async () => {
      await withVirtualTime({}, async (clock) => {
        assert.equal(await sleep(250, 'v'), 'v')
        assert.equal(clock.now(), 250)
        const controller = new AbortController()
        const aborted = sleep(10_000, undefined, { signal: controller.signal })
        setTimeout(() => { controller.abort() }, 100)
        await assert.rejects(aborted, { name: 'AbortError' })
        assert.equal(clock.now(), 350)
        let n = 0
        for await (const _ of every(50)) {
          if (++n === 4) break
        }
        assert.equal(clock.now(), 550)
        assert.equal(await sleepImmediate('i'), 'i')
        assert.equal(clock.now(), 550)
        await scheduler.wait(450)
        assert.equal(clock.now(), 1000)
      })
    })

    it('AbortSignal.timeout aborts at its virtual time with a TimeoutError', async () => {
      await withVirtualTime({}, async (clock) => {
        const signal = AbortSignal.timeout(30_000)
        await new Promise(resolve => signal.addEventListener('abort', resolve))
        assert.equal(clock.now(), 30_000)
        assert.equal((signal.reason as Error).name, 'TimeoutError')
      })
    })

    it('any set of delays fires in (time, insertion) order at exactly its times', async () => {
      await fc.assert(fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 40 }), async (delays) => {
        await withVirtualTime({}, async (clock) => {
          const fired: Array<[number, number]> = []
          await Promise.all(delays.map(async (d, i) => new Promise<void>(resolve => setTimeout(() => { fired.push([clock.now(), i]); resolve() }, d))))
          const want = delays.map((d, i) => [d, i] as [number, number]).sort((x, y) => x[0] - y[0] || x[1] - y[1])
          assert.deepEqual(fired, want)
        })
      }), { numRuns: 30 })
    })
  })

  describe('time stands still while there is work', () => {
    it('but a loop that polls with setImmediate for a timer still sees it fire', async () => {
      await withVirtualTime({}, async (clock) => {
        let due = false
        setTimeout(() => { due = true }, 50)
        let polls = 0
        while (!due) {
          await new Promise(resolve => setImmediate(resolve))
          polls++
        }
        assert.equal(clock.now(), 50)
        assert.ok(polls > 0)
      })
    })

    it('while immediates, next ticks and microtasks run', async () => {
      await withVirtualTime({}, async (clock) => {
        let late = false
        setTimeout(() => { late = true }, 1)
        for (let i = 0; i < 200; i++) {
          await new Promise(resolve => setImmediate(resolve))
          await new Promise(resolve => process.nextTick(resolve))
          await Promise.resolve()
        }
        assert.equal(late, false)
        assert.equal(clock.now(), 0)
      })
    })

    it('while the file system works', async () => {
      await withVirtualTime({}, async (clock) => {
        let late = false
        setTimeout(() => { late = true }, 1)
        const text = await readFile(fileURLToPath(import.meta.url), 'utf8')
        assert.ok(text.length > 0)
        assert.equal(late, false)
        assert.equal(clock.now(), 0)
      })
    })

    it('while Web Crypto and threadpool crypto work', async () => {
      await withVirtualTime({}, async (clock) => {
        let late = false
        setTimeout(() => { late = true }, 1)
        await crypto.subtle.digest('SHA-256', new Uint8Array(4_000_000))
        const { privateKey } = crypto.generateKeyPairSync('ed25519')
        await new Promise<void>((resolve, reject) => {
          crypto.sign(null, new Uint8Array(1_000_000), privateKey, (err) => { err == null ? resolve() : reject(err) })
        })
        await new Promise<void>((resolve, reject) => {
          crypto.pbkdf2('secret', 'salt', 20_000, 32, 'sha256', (err) => { err == null ? resolve() : reject(err) })
        })
        assert.equal(late, false)
        assert.equal(clock.now(), 0)
      })
    })

    it('a synchronous crypto job does not hold the clock', async () => {
      await withVirtualTime({}, async (clock) => {
        const { privateKey } = crypto.generateKeyPairSync('ed25519')
        crypto.sign(null, new Uint8Array(10), privateKey)
        await sleep(10)
        assert.equal(clock.now(), 10)
      })
    })
  })

  it('a run waiting for what never comes ends at its limit', async () => {
    await assert.rejects(withVirtualTime({ limitMs: 60_000 }, async () => {
      setInterval(() => {}, 1000)
      await new Promise(() => {})
    }), VirtualTimeLimitError)
  })

  describe('a run with nothing left to run', () => {
    it('fails as stalled once its stall time has passed, instead of hanging or letting the process exit', async () => {
      await assert.rejects(withVirtualTime({ stallMs: 100 }, async () => {
        await sleep(5)
        await new Promise(() => {})
      }), (err: Error) => err instanceof VirtualTimeStallError && /virtual 5 ms/.test(err.message))
    })

    it('is not stalled while a real event it cannot see is still to come and then schedules work', async () => {
      await withVirtualTime({ stallMs: 300 }, async (clock) => {
        // a real timer stands for real I/O the clock does not track; its callback sets a virtual timer
        await new Promise<void>(resolve => { realSetTimeout(() => { setTimeout(resolve, 1000) }, 100) })
        assert.equal(clock.now(), 1000)
      })
    })

    it('counts its stall time from the last time it had nothing to run, and still catches the next stall', async () => {
      const started = RealDate.now()
      await assert.rejects(withVirtualTime({ stallMs: 200 }, async () => {
        // idle (the watch starts), then work arrives from outside at 100 real ms, then idle for good
        await new Promise<void>(resolve => { realSetTimeout(() => { setTimeout(resolve, 10) }, 100) })
        await new Promise(() => {})
      }), VirtualTimeStallError)
      // 100 ms of the first wait, then a whole 200 ms of the second
      assert.ok(RealDate.now() - started >= 290, `failed after ${RealDate.now() - started} ms`)
    })

    it('refuses a limit or stall time that is not a number of ms', () => {
      for (const init of [{ limitMs: -1 }, { limitMs: NaN }, { stallMs: 0 }, { stallMs: -5 }, { stallMs: NaN }]) {
        assert.throws(() => new VirtualClock(init), RangeError, JSON.stringify(init))
      }
    })

    it('without stallMs, waits for real events as long as they take', async () => {
      await withVirtualTime({}, async (clock) => {
        await new Promise<void>(resolve => { realSetTimeout(resolve, 150) })
        assert.equal(clock.now(), 0)
      })
    })
  })

  describe('the CPU model', () => {
    it('charges a peer\'s computation to that peer only', async () => {
      await withVirtualTime({ cpu: { factor: 1 } }, async (clock) => {
        const fired: Record<string, number> = {}
        await Promise.all([
          runAsPeer(1, async () => {
            await sleep(10)
            burn(30) // 30 real ms: peer 1 is busy for at least 30 simulated ms
            await sleep(1)
            fired.slow = clock.now()
          }),
          runAsPeer(2, async () => {
            await sleep(12)
            fired.fast = clock.now()
          })
        ])
        assert.equal(fired.fast, 12, 'the other peer is not slowed')
        assert.ok(fired.slow >= 35, `the busy peer waits for its CPU (${fired.slow})`)
        assert.ok(clock.stats.cpuChargedMs >= 25)
      })
    })

    it('charges nothing by default', async () => {
      await withVirtualTime({}, async (clock) => {
        await runAsPeer(1, async () => {
          await sleep(10)
          burn(20)
          await sleep(1)
        })
        assert.equal(clock.now(), 11)
        assert.equal(clock.stats.cpuChargedMs, 0)
      })
    })
  })

  describe('seeded randomness', () => {
    function draw (): unknown[] {
      return [
        Math.random(),
        [...crypto.getRandomValues(new Uint8Array(7))],
        [...globalThis.crypto.getRandomValues(new Uint32Array(3))],
        crypto.randomBytes(9).toString('hex'),
        crypto.randomUUID(),
        globalThis.crypto.randomUUID(),
        crypto.randomInt(1000),
        crypto.randomInt(5, 10)
      ]
    }

    it('the same seed draws the same values from every source, and the real sources come back', () => {
      seedRandomness(42)
      const a = draw()
      restoreRandomness()
      seedRandomness(42)
      const b = draw()
      restoreRandomness()
      seedRandomness(43)
      const c = draw()
      restoreRandomness()
      assert.deepEqual(a, b)
      assert.notDeepEqual(a, c)
      assert.equal(randomnessSeeded(), false)
      assert.notDeepEqual(draw(), draw())
      assert.match(String(a[4]), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    })

    it('randomFillSync counts offset and size in elements, checks them, fills ArrayBuffers; getRandomValues takes integer arrays only', () => {
      seedRandomness(9)
      try {
        const words = new Uint32Array(4)
        crypto.randomFillSync(words, 1, 2)
        assert.equal(words[0], 0)
        assert.equal(words[3], 0)
        assert.ok(words[1] !== 0 || words[2] !== 0)
        const raw = new ArrayBuffer(16)
        crypto.randomFillSync(raw as unknown as Uint8Array)
        assert.ok(new Uint8Array(raw).some(b => b !== 0))
        assert.throws(() => crypto.randomFillSync(words, 3, 2), { code: 'ERR_OUT_OF_RANGE' })
        assert.throws(() => globalThis.crypto.getRandomValues(new Float32Array(2) as unknown as Uint8Array), { name: 'TypeMismatchError' })
        assert.throws(() => crypto.randomInt(3, 3), { code: 'ERR_OUT_OF_RANGE' })
        // Node's own checks, which the seeded forms run first: a range above 2^48, arguments of the wrong type
        assert.throws(() => crypto.randomInt(0, 2 ** 49), { code: 'ERR_OUT_OF_RANGE' })
        assert.throws(() => crypto.randomFillSync(words, '1' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' })
        assert.throws(() => globalThis.crypto.getRandomValues(new Uint8Array(65537)), { name: 'QuotaExceededError' })
      } finally {
        restoreRandomness()
      }
      assert.equal(Object.hasOwn(globalThis.crypto, 'getRandomValues'), false)
    })

    it('async forms call back with seeded values', async () => {
      seedRandomness(7)
      try {
        const buf = await new Promise<Buffer>((resolve, reject) => { crypto.randomBytes(8, (err, b) => { err == null ? resolve(b) : reject(err) }) })
        assert.equal(buf.length, 8)
        const n = await new Promise<number>((resolve, reject) => { crypto.randomInt(10, (err, v) => { err == null ? resolve(v) : reject(err) }) })
        assert.ok(n >= 0 && n < 10)
      } finally {
        restoreRandomness()
      }
    })
  })
})
