/**
 * examples/data-bounty, run as a reader runs it (`node index.js` in its
 * folder): it must exit 0, pay the honest capture exactly its verified
 * seconds, and refuse every forged proof of recording with its own code.
 */

import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

// dist/data-bounty.node.js -> the repository's examples/data-bounty
const EXAMPLE = fileURLToPath(new URL('../../examples/data-bounty/', import.meta.url))

/** Each forged variant's table row must show it refused with this code, paid 0 seconds. */
const REFUSED: Array<[variant: string, codes: string[]]> = [
  ['60 s for 6 s, backdated, 300 ms witness', ['duration-mismatch', 'bytes-implausible', 'starts-before-assignment', 'witness-rtt-above-ceiling']],
  ['claimed duration (60 s for 6 s)', ['duration-mismatch', 'bytes-implausible']],
  ['backdated start', ['starts-before-assignment']],
  ['implausible witness RTT (300 ms)', ['witness-rtt-above-ceiling']],
  ['one witness only', ['too-few-witnesses']],
  ['witness = second identity', ['witness-no-history', 'witness-sybil-address', 'witness-too-new', 'witness-self']],
  ['replayed footage', ['replay']]
]

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

describe('examples/data-bounty', function () {
  let stdout = ''

  before(async function () {
    this.timeout(120_000)
    stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['index.js'], { cwd: EXAMPLE, timeout: 110_000, maxBuffer: 4 * 1024 * 1024 }, (err, out, errOut) => {
        if (err != null) {
          reject(new Error(`the example failed (${err.message}):\n${out}\n${errOut}`))
          return
        }
        resolve(out)
      })
    })
  })

  it('pays the honest capture exactly its verified seconds', () => {
    const paid = /^honest +paid (\d+) seconds \(\d+ USDC\) for (\d+) verified seconds$/m.exec(stdout)
    assert.ok(paid != null, `no "honest paid" line in:\n${stdout}`)
    assert.equal(paid[1], '6')
    assert.equal(paid[2], '6')
    assert.match(stdout, /^honest, two witnesses +accepted +- +6$/m)
  })

  for (const [variant, codes] of REFUSED) {
    it(`refuses the forgery "${variant}" with its code and pays nothing`, () => {
      const row = new RegExp(`^${escape(variant)} +(\\S+) +(\\S+) +(\\d+)$`, 'm').exec(stdout)
      assert.ok(row != null, `no table row for "${variant}" in:\n${stdout}`)
      assert.equal(row[1], 'refused')
      assert.ok(codes.includes(row[2]), `refused with ${row[2]}, expected one of ${codes.join(', ')}`)
      assert.equal(row[3], '0')
    })
  }

  it('prints the reasons of the forgery of the "Why"', () => {
    for (const code of ['starts-before-assignment', 'witness-rtt-above-ceiling']) {
      assert.match(stdout, new RegExp(`^ +refused +${code}`, 'm'))
    }
    assert.match(stdout, /^ +refused +(duration-mismatch|bytes-implausible)/m)
  })
})
