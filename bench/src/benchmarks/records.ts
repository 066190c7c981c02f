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
import type { PrivateKey } from '@libp2p/interface'
import type { CountersignedRecord, RecordType, SignedRecord, WorkReceipt } from '@shoal/records'

/**
 * Measure two operations in alternating short slices, so that load from
 * other processes on a shared machine falls on both alike. Returns each
 * side's rate (ops/s over all slices) and the median of the per-slice ratios
 * `a / b`, which is what to compare.
 */
async function paired (totalMs: number, a: () => unknown, b: () => unknown): Promise<{ a: number, b: number, ratio: number }> {
  const batch = 50
  const timeBatch = async (fn: () => unknown): Promise<number> => {
    const start = process.hrtime.bigint()
    for (let i = 0; i < batch; i++) {
      await fn()
    }
    return Number(process.hrtime.bigint() - start) / 1e9
  }
  // warm up the JIT and caches
  for (let i = 0; i < 4; i++) {
    await timeBatch(a)
    await timeBatch(b)
  }
  const ratios: number[] = []
  let ta = 0
  let tb = 0
  const end = Date.now() + totalMs
  while (Date.now() < end) {
    const sa = await timeBatch(a)
    const sb = await timeBatch(b)
    ta += sa
    tb += sb
    // rate ratio a/b = time b / time a
    ratios.push(sb / sa)
  }
  ratios.sort((x, y) => x - y)
  return { a: ratios.length * batch / ta, b: ratios.length * batch / tb, ratio: ratios[Math.floor(ratios.length / 2)] }
}

/** A typical WorkReceipt, signed by the provider and countersigned by the requester. */
async function receiptFixtures (): Promise<{ receipt: WorkReceipt, signed: SignedRecord<WorkReceipt>, both: CountersignedRecord<WorkReceipt>, provider: PrivateKey }> {
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
  return { receipt, signed, both, provider }
}

/** The raw baseline: node's Ed25519 with ready key objects, on a message as long as the whole signed record. */
function rawEd25519 (length: number): { sign(): unknown, verify(): unknown } {
  const message = new Uint8Array(length).fill(42)
  const raw = generateKeyPairSync('ed25519')
  const rawPriv = createPrivateKey(raw.privateKey.export({ format: 'pem', type: 'pkcs8' }))
  const rawPub = createPublicKey(raw.publicKey.export({ format: 'pem', type: 'spki' }))
  const rawSig = sign(null, message, rawPriv)
  return { sign: () => sign(null, message, rawPriv), verify: () => verify(null, message, rawPub, rawSig) }
}

/** Encoded size limit of every record type; the receipt's actual size for WorkReceipt. */
function sizeLimits (receiptBytes: number): Record<string, number> {
  const sizes: Record<string, number> = {}
  for (const type of Object.values(RecordTypes) as Array<RecordType<any>>) {
    sizes[type.name] = type.name === 'WorkReceipt' ? receiptBytes : type.maxSize
  }
  return sizes
}

export async function run (options: BenchOptions): Promise<BenchResult> {
  const { receipt, signed, both, provider } = await receiptFixtures()
  const raw = rawEd25519(signed.bytes.byteLength)

  const ms = options.quick ? 6000 : 20_000
  progress('verify: record vs raw Ed25519')
  const verifyPair = await paired(ms, async () => openRecord(WorkReceiptType, signed.bytes, { ignoreTime: true }), raw.verify)
  progress('sign: record vs raw Ed25519')
  const signPair = await paired(ms / 2, async () => signRecord(WorkReceiptType, receipt, provider), raw.sign)
  progress('countersigned receipt verify vs raw Ed25519')
  const cosignPair = await paired(ms / 4, async () => openCountersigned(WorkReceiptType, both.bytes, { ignoreTime: true }), raw.verify)

  const round = (n: number): number => Math.round(n)
  const ratio = (n: number): number => Math.round(n * 1000) / 1000
  return {
    verify_per_s: round(verifyPair.a),
    raw_verify_per_s: round(verifyPair.b),
    verify_ratio: ratio(verifyPair.ratio),
    sign_per_s: round(signPair.a),
    raw_sign_per_s: round(signPair.b),
    sign_ratio: ratio(signPair.ratio),
    countersigned_verify_per_s: round(cosignPair.a),
    countersigned_verify_ratio: ratio(cosignPair.ratio),
    receipt_bytes: signed.bytes.byteLength,
    countersigned_receipt_bytes: both.bytes.byteLength,
    size_limits: sizeLimits(signed.bytes.byteLength)
  }
}
