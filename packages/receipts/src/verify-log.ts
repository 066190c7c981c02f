/**
 * `verifyLog()`: walk the whole log and report every inconsistency, never
 * throwing for bad data. Each entry is checked for its link to the previous
 * one, its receipt bytes against the logged hash, the receipt's id and
 * indexes, and each closed epoch for its stored root; last, both heads (the
 * stored one and the store's own) against the end of the walk.
 */

import { WorkReceiptType, openCountersigned, recordId } from '@shoal/records'
import { errorMessage, errorName } from '@shoal/utils'
import { MAX_LOG_PROBLEMS } from './constants.js'
import { getOrUndefined } from './keys.js'
import { GENESIS_HASH, decodeHead, decodeLogEntry, logEntryHash, sha256 } from './log.js'
import { leafHash, merkleRoot } from './merkle.js'
import { decodeStoredValue } from './stored-receipt.js'
import { equalBytes, readU64, toHex } from './utils.js'
import type { StoreContext } from './context.js'
import type { LogHead, LogProblem, LogVerification, VerifyLogOptions } from './index.js'
import type { LogEntry } from './log.js'
import type { WorkReceipt } from '@shoal/records'
import type { Key } from 'interface-datastore'

/** Walk the log of a store and report what is wrong. */
export async function verifyLog (ctx: StoreContext, options: VerifyLogOptions = {}): Promise<LogVerification> {
  return new LogWalk(ctx, options).run()
}

/** One walk over the log, collecting problems up to the limit. */
class LogWalk {
  private readonly ctx: StoreContext
  private readonly options: VerifyLogOptions
  private readonly maxProblems: number
  private readonly problems: LogProblem[] = []
  /** hash of the last entry walked */
  private hash = GENESIS_HASH
  /** leaves of the epoch being walked */
  private leaves: Uint8Array[] = []

  constructor (ctx: StoreContext, options: VerifyLogOptions) {
    this.ctx = ctx
    this.options = options
    this.maxProblems = options.maxProblems ?? MAX_LOG_PROBLEMS
  }

  async run (): Promise<LogVerification> {
    const storedHead = await this.readStoredHead()
    // walk at least as far as either head claims, and on past it while entries exist
    const claimed = Math.max(this.ctx.head.length, storedHead?.length ?? 0)
    let seq = 0
    for (; ; seq++) {
      this.options.signal?.throwIfAborted()
      if (this.problems.length >= this.maxProblems) {
        break
      }
      if (!await this.checkEntry(seq, claimed)) {
        break
      }
    }
    this.checkHeads(storedHead, seq)
    return { ok: this.problems.length === 0, length: seq, head: { length: seq, hash: this.hash }, problems: this.problems }
  }

  private problem (key: Key | string, reason: string, seq?: number): void {
    if (this.problems.length < this.maxProblems) {
      this.problems.push({ seq, key: key.toString(), reason })
    }
  }

  /** A value, or undefined (absent, or unreadable: then a problem). */
  private async read (key: Key): Promise<Uint8Array | undefined> {
    try {
      return await getOrUndefined(this.ctx.datastore, key, this.options)
    } catch (err: unknown) {
      this.problem(key, `unreadable: ${errorMessage(err)}`)
      return undefined
    }
  }

  /** The stored head; undefined when malformed. */
  private async readStoredHead (): Promise<LogHead | undefined> {
    const key = this.ctx.keys.head()
    const headBytes = await this.read(key)
    if (headBytes == null) {
      if (this.ctx.head.length > 0) {
        this.problem(key, 'head is missing')
      }
      return { length: 0, hash: GENESIS_HASH }
    }
    try {
      return decodeHead(headBytes)
    } catch {
      this.problem(key, 'head is malformed')
      return undefined
    }
  }

  /** Check the entry at `seq` and what hangs off it; false at the end of the log. */
  private async checkEntry (seq: number, claimed: number): Promise<boolean> {
    const lk = this.ctx.keys.log(seq)
    const entryBytes = await this.read(lk)
    if (entryBytes == null) {
      if (seq < claimed) {
        this.problem(lk, 'entry is missing', seq)
      }
      return false
    }
    if (seq >= claimed) {
      this.problem(lk, 'entry beyond the head', seq)
    }
    let entry: LogEntry
    try {
      entry = decodeLogEntry(entryBytes)
    } catch {
      this.problem(lk, 'entry is malformed', seq)
      this.hash = logEntryHash(entryBytes)
      this.leaves.push(new Uint8Array(32))
      return true
    }
    if (entry.seq !== seq) {
      this.problem(lk, `entry says seq ${entry.seq}`, seq)
    }
    if (!equalBytes(entry.prevHash, this.hash)) {
      this.problem(lk, 'entry does not link to the previous one', seq)
    }
    this.hash = logEntryHash(entryBytes)
    this.leaves.push(leafHash(entry.receiptId))
    await this.checkReceipt(seq, entry)
    await this.checkEpochRoot(seq)
    return true
  }

  /** The receipt's bytes against the logged hash, then its id, signatures and indexes. */
  private async checkReceipt (seq: number, entry: LogEntry): Promise<void> {
    const idHex = toHex(entry.receiptId)
    const rk = this.ctx.keys.receipt(idHex)
    const bytes = await this.read(rk)
    if (bytes == null) {
      this.problem(rk, 'receipt is missing', seq)
      return
    }
    if (!equalBytes(sha256(bytes), entry.bytesHash)) {
      this.problem(rk, 'receipt bytes differ from the logged hash', seq)
      return
    }
    let value: WorkReceipt | undefined
    try {
      const decoded = decodeStoredValue(bytes, rk.toString())
      value = decoded.value
      if (!equalBytes(recordId(decoded.envelope), entry.receiptId)) {
        this.problem(rk, 'receipt id differs from the logged id', seq)
      }
    } catch {
      this.problem(rk, 'receipt does not decode', seq)
    }
    if (this.options.signatures === true) {
      try {
        await openCountersigned(WorkReceiptType, bytes, { ignoreTime: true })
      } catch (err: unknown) {
        this.problem(rk, `receipt does not verify: ${String(errorName(err))}`, seq)
      }
    }
    if (value != null) {
      await this.checkIndexes(seq, idHex, entry.receiptId, value)
    }
  }

  private async checkIndexes (seq: number, idHex: string, receiptId: Uint8Array, value: WorkReceipt): Promise<void> {
    const sk = this.ctx.keys.seq(idHex)
    const seqBytes = await this.read(sk)
    if (seqBytes == null || seqBytes.byteLength !== 8 || readU64(seqBytes) !== seq) {
      this.problem(sk, 'seq index is missing or wrong', seq)
    }
    for (const k of [this.ctx.keys.provider(toHex(value.provider), seq), this.ctx.keys.requester(toHex(value.requester), seq)]) {
      const v = await this.read(k)
      if (v == null || !equalBytes(v, receiptId)) {
        this.problem(k, 'peer index is missing or wrong', seq)
      }
    }
  }

  /** Once an epoch is full, its stored root against the walked leaves. */
  private async checkEpochRoot (seq: number): Promise<void> {
    if (this.leaves.length !== this.ctx.epochSize) {
      return
    }
    const ek = this.ctx.keys.epoch(Math.floor(seq / this.ctx.epochSize))
    const root = await this.read(ek)
    if (root == null || !equalBytes(root, merkleRoot(this.leaves))) {
      this.problem(ek, 'epoch root is missing or wrong', seq)
    }
    this.leaves = []
  }

  /** Both heads against the end of the walk, when nothing else explains a difference. */
  private checkHeads (storedHead: LogHead | undefined, length: number): void {
    const key = this.ctx.keys.head()
    if (storedHead != null && (storedHead.length !== length || !equalBytes(storedHead.hash, this.hash)) && this.problems.length === 0) {
      this.problem(key, 'head does not match the end of the log')
    }
    if ((this.ctx.head.length !== length || !equalBytes(this.ctx.head.hash, this.hash)) && this.problems.length === 0) {
      this.problem(key, 'in-memory head does not match the end of the log')
    }
  }
}
