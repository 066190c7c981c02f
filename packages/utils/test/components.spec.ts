import assert from 'node:assert/strict'
import { optionalService, serviceAs } from '../src/index.js'

class MissingServiceError extends Error {
  override name = 'MissingServiceError'
}

/** Components that throw on a key that is not configured, as libp2p's do. */
function components (services: Record<string, unknown>): Record<string, unknown> {
  return new Proxy(services, {
    get: (target, prop) => {
      if (typeof prop === 'string' && target[prop] == null) {
        throw new MissingServiceError(`${prop} not set`)
      }
      return Reflect.get(target, prop)
    }
  })
}

describe('optionalService', () => {
  it('reads a configured service and gives undefined for a missing one', () => {
    const router = { name: 'router' }
    const c = components({ router })
    assert.equal(optionalService(c, 'router'), router)
    assert.equal(optionalService(c, 'receipts'), undefined)
  })

  it('throws any other error of the read', () => {
    const c = new Proxy({}, { get: () => { throw new TypeError('broken') } }) as Record<string, unknown>
    assert.throws(() => optionalService(c, 'router'), { name: 'TypeError' })
  })

  it('reads a plain object as it is', () => {
    const c: { router?: string } = {}
    assert.equal(optionalService(c, 'router'), undefined)
  })
})

describe('serviceAs', () => {
  it('reads one key as another service and every other key through', () => {
    const c = components({ pubsub: 'gossipsub', floodsub: 'floodsub', peerId: 'me' })
    const view = serviceAs(c, 'pubsub', 'floodsub')
    assert.equal(view.pubsub, 'floodsub')
    assert.equal(view.peerId, 'me')
    assert.equal(c.pubsub, 'gossipsub')
    assert.throws(() => view.dht, { name: 'MissingServiceError' })
  })
})
