import assert from 'node:assert/strict'
import { MAX_CAPTURE_WITNESSES, MAX_MESSAGE_SIZE, MAX_WITNESS_HISTORY } from '@shoal/records'
import { decodeCaptureProof, encodeCaptureProof, fitProof } from '../src/index.js'

describe('fitProof', () => {
  it('trims the history until the proof fits, from the witness presenting most, newest first, keeping one per witness while it can', () => {
    const attestation = new Uint8Array(4000).fill(1)
    const witnesses = Array.from({ length: MAX_CAPTURE_WITNESSES }, (_, i) => new Uint8Array(1000).fill(i))
    const histories = witnesses.map((_, w) => Array.from({ length: MAX_WITNESS_HISTORY }, (_, j) => new Uint8Array(2000).fill(w * 10 + j)))
    const parts = { attestation, witnesses, history: histories.flat() }
    assert.throws(() => encodeCaptureProof(parts), { name: 'InvalidCaptureProofError' })

    const proof = fitProof(attestation, witnesses, histories)
    assert.ok(proof.byteLength <= MAX_MESSAGE_SIZE.CaptureProof)
    const history = decodeCaptureProof(proof).history
    assert.ok(history.length > 0)
    for (let w = 0; w < witnesses.length; w++) {
      const kept = history.filter(h => Math.floor(h[0] / 10) === w).map(h => h[0] % 10)
      assert.ok(kept.length >= 1, `witness ${w} keeps a receipt`)
      // the oldest kept: what it dropped was its newest
      assert.deepEqual(kept, Array.from({ length: kept.length }, (_, j) => j))
    }
  })

  it('leaves a proof that fits as it is', () => {
    const attestation = new Uint8Array(100).fill(1)
    const witnesses = [new Uint8Array(50), new Uint8Array(50)]
    const histories = [[new Uint8Array(10)], [new Uint8Array(20), new Uint8Array(30)]]
    assert.deepEqual(fitProof(attestation, witnesses, histories), encodeCaptureProof({ attestation, witnesses, history: histories.flat() }))
  })
})
