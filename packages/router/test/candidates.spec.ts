import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { candidateFromCapability } from '../src/candidates.js'
import type { CapabilityRecord } from '@shoal/records'

describe('candidateFromCapability', () => {
  it('takes the peer id, coordinate, claimed place, capacity and price from a capability record', async () => {
    const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const record = {
      version: 1,
      provider: peerId.toMultihash().bytes,
      seq: 1,
      gpus: [],
      sensors: [],
      geohash: 'u09',
      coordinate: { vec: [1, 2], height: 3, error: 0.4 },
      price: { perUnit: 7, currency: 'USDC', unit: 'gpu-second' },
      concurrency: 4,
      freeSlots: 2,
      addrs: [],
      createdMs: 0,
      expiresMs: 1
    } as unknown as CapabilityRecord

    const candidate = candidateFromCapability(record, { reputation: 0.9 })

    assert.ok(candidate.peerId.equals(peerId))
    assert.deepEqual(candidate.coordinate, { vec: [1, 2], height: 3, error: 0.4 })
    assert.equal(candidate.freeSlots, 2)
    assert.equal(candidate.concurrency, 4)
    assert.equal(candidate.price, 7)
    assert.equal(candidate.geohash, 'u09')
    assert.equal(candidate.reputation, 0.9)
  })

  it('refuses provider bytes that are not a peer id', () => {
    assert.throws(() => candidateFromCapability({ provider: new Uint8Array([1, 2, 3]), concurrency: 0, freeSlots: 0 } as unknown as CapabilityRecord), { name: 'InvalidFieldError' })
  })
})
