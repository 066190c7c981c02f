import assert from 'node:assert/strict'
import fc from 'fast-check'
import { existingConnection, openStreamTo } from '../src/index.js'
import type { OpenConnection, StreamOpener } from '../src/index.js'

interface FakeConnection extends OpenConnection<string> {
  name: string
}

function connection (name: string, status: string, limited: boolean): FakeConnection {
  return {
    name,
    status,
    limits: limited ? { bytes: 1024n } : undefined,
    newStream: async (protocols) => `${name}:${String(protocols)}`
  }
}

function opener (connections: FakeConnection[]): StreamOpener<string, string> & { dialed: string[] } {
  const dialed: string[] = []
  return {
    dialed,
    getConnections: () => connections,
    openStream: async (peer, protocols) => {
      dialed.push(peer)
      return `dialed:${String(protocols)}`
    }
  }
}

describe('openStreamTo', () => {
  it('opens the stream on the open direct connection, before a relayed one', async () => {
    const cm = opener([connection('relayed', 'open', true), connection('closing', 'closing', false), connection('direct', 'open', false)])
    assert.equal(await openStreamTo(cm, 'peer', '/p/1', { runOnLimitedConnection: true }), 'direct:/p/1')
    assert.deepEqual(cm.dialed, [])
  })

  it('takes the open relayed connection for a protocol that runs on limited connections, instead of dialing the relay again', async () => {
    const cm = opener([connection('relayed', 'open', true)])
    assert.equal(await openStreamTo(cm, 'peer', '/p/1', { runOnLimitedConnection: true }), 'relayed:/p/1')
    assert.deepEqual(cm.dialed, [])
  })

  it('leaves a protocol that does not run on limited connections, or a peer with nothing open, to the connection manager', async () => {
    const relayedOnly = opener([connection('relayed', 'open', true)])
    assert.equal(await openStreamTo(relayedOnly, 'peer', '/p/1'), 'dialed:/p/1')
    const none = opener([connection('closed', 'closed', false)])
    assert.equal(await openStreamTo(none, 'peer', '/p/1', { runOnLimitedConnection: true }), 'dialed:/p/1')
    assert.deepEqual([...relayedOnly.dialed, ...none.dialed], ['peer', 'peer'])
  })

  it('existingConnection: only open ones, unlimited first, limited only when allowed', () => {
    fc.assert(fc.property(fc.array(fc.record({ status: fc.constantFrom('open', 'closing', 'closed'), limited: fc.boolean() })), fc.boolean(), (specs, limited) => {
      const connections = specs.map((s, i) => connection(String(i), s.status, s.limited))
      const chosen = existingConnection(connections, limited)
      const open = connections.filter(c => c.status === 'open')
      const direct = open.find(c => c.limits == null)
      const relayed = open.find(c => c.limits != null)
      assert.equal(chosen, direct ?? (limited ? relayed : undefined))
    }))
  })
})
