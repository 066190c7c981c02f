/**
 * Benchmark `records`: sign/s and verify/s of a typical WorkReceipt through
 * @shoal/records, against raw Ed25519 sign/verify of node's crypto on a
 * message of the same size, measured in the same run.
 */

import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RecordTypes, WorkReceiptType, countersign, newRandomId, openCountersigned, openRecord, signRecord } from '@shoal/records'
import { progress } from '../options.js'
import type { BenchOptions, BenchResult } from '../options.js'
import type { RecordType } from '@shoal/records'

/** Run `fn` repeatedly for about `ms` milliseconds, return operations per second. */
async function rate (ms: number, fn: () => unknown): Promise<number> {
  // warm up the JIT and caches
  for (let i = 0; i < 200; i++) {
    await fn()
  }
  let ops = 0
  const start = process.hrtime.bigint()
  const end = start + BigInt(ms) * 1_000_000n
  let now = start
  while (now < end) {
    for (let i = 0; i < 100; i++) {
      await fn()
    }
    ops += 100
    now = process.hrtime.bigint()
  }
  return ops / (Number(now - start) / 1e9)
}

export async function run (options: BenchOptions): Promise<BenchResult> {
  const ms = options.quick ? 1500 : 5000
  const rounds = options.quick ? 2 : 3
  const provider = await generateKeyPair('Ed25519')
  const requester = await generateKeyPair('Ed25519')
  const now = Date.now()
  const receipt = {
    version: 1,
    jobId: newRandomId(),
    assignmentId: new Uint8Array(32).fill(3),
    requester: peerIdFromPrivateKey(requester).toMultihash().bytes,
    provider: peerIdFromPrivateKey(provider).toMultihash().bytes,
    units: 31,
    price: { perUnit: 20, currency: 'USDC', unit: 'gpu-second' },
    total: 620,
    resultHash: new Uint8Array(32).fill(9),
    startedMs: now - 31_000,
    endedMs: now,
    status: 0,
    prev: new Uint8Array(32).fill(1)
  }
  const signed = await signRecord(WorkReceiptType, receipt, provider)
  const both = await countersign(signed, requester)

  // the raw baseline signs a message as long as the whole signed record
  const message = new Uint8Array(signed.bytes.byteLength).fill(42)
  const raw = generateKeyPairSync('ed25519')
  const rawPriv = createPrivateKey(raw.privateKey.export({ format: 'pem', type: 'pkcs8' }))
  const rawPub = createPublicKey(raw.publicKey.export({ format: 'pem', type: 'spki' }))
  const rawSig = sign(null, message, rawPriv)

  const best = { sign: 0, verify: 0, rawSign: 0, rawVerify: 0, countersignedVerify: 0 }
  // interleave rounds so machine noise hits both sides alike; keep each side's best
  for (let r = 0; r < rounds; r++) {
    progress(`round ${r + 1}/${rounds}`)
    best.rawVerify = Math.max(best.rawVerify, await rate(ms, () => verify(null, message, rawPub, rawSig)))
    best.verify = Math.max(best.verify, await rate(ms, async () => openRecord(WorkReceiptType, signed.bytes, { ignoreTime: true })))
    best.rawSign = Math.max(best.rawSign, await rate(ms, () => sign(null, message, rawPriv)))
    best.sign = Math.max(best.sign, await rate(ms, async () => signRecord(WorkReceiptType, receipt, provider)))
    best.countersignedVerify = Math.max(best.countersignedVerify, await rate(ms / 2, async () => openCountersigned(WorkReceiptType, both.bytes, { ignoreTime: true })))
  }

  const sizes: Record<string, number> = {}
  for (const type of Object.values(RecordTypes) as Array<RecordType<any>>) {
    sizes[type.name] = type.name === 'WorkReceipt' ? signed.bytes.byteLength : type.maxSize
  }

  const round = (n: number): number => Math.round(n)
  return {
    verify_per_s: round(best.verify),
    raw_verify_per_s: round(best.rawVerify),
    verify_ratio: Math.round(best.verify / best.rawVerify * 1000) / 1000,
    sign_per_s: round(best.sign),
    raw_sign_per_s: round(best.rawSign),
    sign_ratio: Math.round(best.sign / best.rawSign * 1000) / 1000,
    countersigned_verify_per_s: round(best.countersignedVerify),
    receipt_bytes: signed.bytes.byteLength,
    countersigned_receipt_bytes: both.bytes.byteLength,
    size_limits: sizes
  }
}
