import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { inclusionPath, leafHash, merkleRoot, nodeHash, verifyInclusion } from '../src/index.js'
import type { InclusionProof } from '../src/index.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))

function proofFor (ids: Uint8Array[], index: number): InclusionProof {
  const leaves = ids.map(leafHash)
  return { epoch: 0, index, size: ids.length, siblings: inclusionPath(leaves, index), root: merkleRoot(leaves) }
}

const idsArb = fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 70 })

describe('merkle', () => {
  it('hashes leaves and nodes with RFC 6962 domain separation', () => {
    const id = new Uint8Array(32).fill(7)
    assert.equal(hex(leafHash(id)), hex(createHash('sha256').update(Buffer.concat([Buffer.from([0]), id])).digest()))
    const l = leafHash(id)
    assert.equal(hex(nodeHash(l, l)), hex(createHash('sha256').update(Buffer.concat([Buffer.from([1]), l, l])).digest()))
    assert.notEqual(hex(leafHash(Buffer.concat([l, l]))), hex(nodeHash(l, l)), 'a node never passes for a leaf')
  })

  it('matches the certificate-transparency test vectors', () => {
    const data = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(fromHex)
    assert.equal(hex(merkleRoot([])), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    assert.equal(hex(merkleRoot(data.slice(0, 1).map(leafHash))), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d')
    assert.equal(hex(merkleRoot(data.map(leafHash))), '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328')
  })

  it('proves every leaf of every tree size', () => {
    fc.assert(fc.property(idsArb, (ids) => {
      for (let i = 0; i < ids.length; i++) {
        const proof = proofFor(ids, i)
        assert.ok(verifyInclusion(ids[i], proof, proof.root), `leaf ${i} of ${ids.length}`)
        assert.ok(proof.siblings.length <= Math.ceil(Math.log2(ids.length)))
      }
    }), { numRuns: 60 })
  })

  it('refuses mutated proofs, other leaves and other roots', () => {
    fc.assert(fc.property(idsArb.filter(ids => ids.length >= 2), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 7 }), (ids, iSeed, mSeed, how) => {
      const i = iSeed % ids.length
      const proof = proofFor(ids, i)
      const root = proof.root
      let bad: InclusionProof = proof
      let id = ids[i]
      let r = root
      switch (how) {
        case 0: {
          const siblings = proof.siblings.map(s => s.slice())
          const s = mSeed % siblings.length
          siblings[s][mSeed % 32] ^= 1 << (mSeed % 8)
          bad = { ...proof, siblings }
          break
        }
        case 1: bad = { ...proof, index: (i + 1 + mSeed % (ids.length - 1)) % ids.length }; break
        case 2: bad = { ...proof, siblings: proof.siblings.slice(1) }; break
        case 3: bad = { ...proof, siblings: [...proof.siblings, root] }; break
        case 4: id = id.slice(); id[mSeed % 32] ^= 0x80; break
        case 5: r = root.slice(); r[mSeed % 32] ^= 0x01; break
        case 6: bad = { ...proof, size: proof.size + 1 + (mSeed % 3) }; break
        default: bad = { ...proof, siblings: [...proof.siblings].reverse() }
      }
      if (how === 7 && proof.siblings.length < 2) {
        return
      }
      if (how === 6) {
        // a larger size can only verify if the path shape happens to coincide; it must never verify a different tree's root
        const leaves = ids.map(leafHash)
        if (verifyInclusion(id, bad, r)) {
          assert.equal(inclusionPath(leaves, i).length, bad.siblings.length)
        }
        return
      }
      if (how === 7 && proof.siblings.every(s => hex(s) === hex(proof.siblings[0]))) {
        return
      }
      assert.equal(verifyInclusion(id, bad, r), false, `mutation ${how}`)
    }), { numRuns: 400 })
  })

  it('never throws on garbage', () => {
    fc.assert(fc.property(fc.anything(), fc.anything(), fc.anything(), (a, b, c) => {
      assert.equal(typeof verifyInclusion(a as any, b as any, c as any), 'boolean')
    }), { numRuns: 500 })
    assert.equal(verifyInclusion(new Uint8Array(32), { epoch: 0, index: 0, size: 1, siblings: [], root: new Uint8Array(32) }, new Uint8Array(32)), false)
  })
})
