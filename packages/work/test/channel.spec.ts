import assert from 'node:assert/strict'
import fc from 'fast-check'
import * as varint from 'uint8-varint'
import { Channel } from '../src/channel.js'
import { InvalidMessageError, encodeFrame } from '../src/index.js'
import type { WorkFrame } from '../src/index.js'
import type { Stream } from '@libp2p/interface'

const LIMIT = 4096

/** Just enough of a libp2p stream for a Channel: events in, bytes out. */
class FakeStream extends EventTarget {
  readonly sent: Uint8Array[] = []
  status = 'open'
  writeStatus = 'writable'
  remoteWriteStatus = 'writable'

  send (data: Uint8Array): boolean {
    this.sent.push(data)
    return true
  }

  async onDrain (): Promise<void> {}

  deliver (data: Uint8Array): void {
    this.dispatchEvent(Object.assign(new Event('message'), { data }))
  }

  endWrite (): void {
    this.remoteWriteStatus = 'closed'
    this.dispatchEvent(new Event('remoteCloseWrite'))
  }
}

function channelOn (stream: FakeStream): Channel {
  return new Channel(stream as unknown as Stream, LIMIT, 1000)
}

function lengthPrefixed (bytes: Uint8Array): Uint8Array {
  const prefix = varint.encode(bytes.byteLength)
  const out = new Uint8Array(prefix.byteLength + bytes.byteLength)
  out.set(prefix)
  out.set(bytes, prefix.byteLength)
  return out
}

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

/** Split `bytes` at the given cut points (any chunking a transport may produce). */
function chunk (bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map(c => c % (bytes.byteLength + 1)))].sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let from = 0
  for (const p of points) {
    out.push(bytes.subarray(from, p))
    from = p
  }
  out.push(bytes.subarray(from))
  return out
}

describe('work channel framing', () => {
  const frames: fc.Arbitrary<WorkFrame> = fc.oneof(
    fc.record({ quote: fc.uint8Array({ maxLength: 300 }) }).map(body => ({ kind: 'quote' as const, body })),
    fc.record({ assignment: fc.uint8Array({ maxLength: 300 }), input: fc.uint8Array({ maxLength: 1000 }) }).map(body => ({ kind: 'assign' as const, body })),
    fc.record({ id: fc.uint8Array({ maxLength: 32 }), paid: fc.nat() }).map(body => ({ kind: 'ack' as const, body }))
  )

  it('reads back every frame sent, however the bytes are chunked (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(frames, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 20 }), async (sent, cuts) => {
      const stream = new FakeStream()
      const channel = channelOn(stream)
      const wire = concat(sent.map(f => lengthPrefixed(encodeFrame(f))))
      for (const part of chunk(wire, cuts)) {
        stream.deliver(part)
      }
      stream.endWrite()
      for (const frame of sent) {
        const got = await channel.next()
        assert.equal(got?.kind, frame.kind)
        assert.deepEqual(encodeFrame(got as WorkFrame), encodeFrame(frame))
      }
      assert.equal(await channel.next(), undefined)
    }))
  })

  it('writes what it reads: a sent frame is one length-prefixed message', async () => {
    const out = new FakeStream()
    await channelOn(out).send({ kind: 'ack', body: { id: new Uint8Array([1, 2]), paid: 7 } })
    const back = new FakeStream()
    const channel = channelOn(back)
    back.deliver(concat(out.sent))
    const frame = await channel.next()
    assert.equal(frame?.kind, 'ack')
  })

  it('turns any bytes into frames or a typed error, never a crash or a hang (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 8 }), async (bytes, cuts) => {
      const stream = new FakeStream()
      const channel = channelOn(stream)
      for (const part of chunk(bytes, cuts)) {
        stream.deliver(part)
      }
      stream.endWrite()
      for (let i = 0; i < 300; i++) {
        let frame
        try {
          frame = await channel.next()
        } catch (err: unknown) {
          assert.ok(err instanceof InvalidMessageError, `unexpected ${String(err)}`)
          return
        }
        if (frame == null) {
          return
        }
      }
      assert.fail('more frames than bytes')
    }))
  })

  it('refuses a length above the limit before the body arrives', async () => {
    const stream = new FakeStream()
    const channel = channelOn(stream)
    stream.deliver(varint.encode(LIMIT + 1))
    await assert.rejects(channel.next(), { name: 'InvalidMessageError' })
  })

  it('reports a stream that ends in the middle of a frame', async () => {
    const stream = new FakeStream()
    const channel = channelOn(stream)
    stream.deliver(lengthPrefixed(encodeFrame({ kind: 'ack', body: { id: new Uint8Array(8), paid: 1 } })).subarray(0, 5))
    stream.endWrite()
    await assert.rejects(channel.next(), (err: Error) => err.message.includes('middle of a message'))
  })

  it('waits for a frame and gives up when its signal aborts', async () => {
    const stream = new FakeStream()
    const channel = channelOn(stream)
    const waiting = channel.next()
    stream.deliver(lengthPrefixed(encodeFrame({ kind: 'ack', body: { id: new Uint8Array(1), paid: 2 } })))
    assert.equal((await waiting)?.kind, 'ack')
    await assert.rejects(channel.next({ signal: AbortSignal.timeout(20) }))
  })
})
