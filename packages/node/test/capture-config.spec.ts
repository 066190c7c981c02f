import { strict as assert } from 'node:assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { configFromEnv, parseConfig, resolveConfig } from '../src/config.js'
import { parseCaptureRequest } from '../src/capture.js'
import { ConfigError } from '../src/errors.js'
import { checkCaptureSource } from '../src/preflight.js'

function configError (fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (err: unknown) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`)
    return err
  }
  assert.fail('expected a ConfigError')
}

const capture = (c: unknown): unknown => ({ role: 'capture-provider', provider: { region: 'u33db', sensors: ['video'], capture: c } })

describe('capture provider and witness config', () => {
  it('reads provider.capture: a command, folder or synthetic source, witnesses, maxSeconds', () => {
    const config = resolveConfig(parseConfig(capture({ source: { type: 'command', command: 'ffmpeg', args: ['-i', 'x'], timeoutMs: 5000 }, mediaType: 'video/mp4', witnesses: 4, minWitnesses: 2, maxSeconds: 60 })))
    assert.deepEqual(config.provider?.capture, { source: { type: 'command', command: 'ffmpeg', args: ['-i', 'x'], timeoutMs: 5000 }, mediaType: 'video/mp4', witnesses: 4, minWitnesses: 2, maxSeconds: 60 })
    // no executor needed: the capture source is how it works
    assert.equal(config.provider?.executor, undefined)
    assert.deepEqual(parseConfig(capture({ source: { type: 'folder', path: '/media/cam' } })), capture({ source: { type: 'folder', path: '/media/cam' } }))
    assert.deepEqual(parseConfig(capture({ source: { type: 'synthetic', bytesPerSecond: 1000 } })), capture({ source: { type: 'synthetic', bytesPerSecond: 1000 } }))
  })

  it('names the bad capture field', () => {
    assert.equal(configError(() => parseConfig(capture({}))).field, 'provider.capture.source')
    assert.equal(configError(() => parseConfig(capture({ source: { type: 'camera' } }))).field, 'provider.capture.source.type')
    assert.equal(configError(() => parseConfig(capture({ source: { type: 'command' } }))).field, 'provider.capture.source.command')
    assert.equal(configError(() => parseConfig(capture({ source: { type: 'folder', path: '/x', command: 'y' } }))).field, 'provider.capture.source.command')
    assert.equal(configError(() => parseConfig(capture({ source: { type: 'synthetic', bytesPerSecond: 0 } }))).field, 'provider.capture.source.bytesPerSecond')
    assert.equal(configError(() => parseConfig(capture({ source: { type: 'synthetic' }, mediaType: 'mp4' }))).field, 'provider.capture.mediaType')
    assert.equal(configError(() => parseConfig(capture({ source: { type: 'synthetic' }, witnesses: 0 }))).field, 'provider.capture.witnesses')
    assert.equal(configError(() => parseConfig(capture({ source: { type: 'synthetic' }, witnesses: 2, minWitnesses: 3 }))).field, 'provider.capture.minWitnesses')
    assert.equal(configError(() => parseConfig(capture({ source: { type: 'synthetic' }, maxSeconds: 1.5 }))).field, 'provider.capture.maxSeconds')
    // fewer witnesses than verifiers ask for by default, or a cell too wide for witnesses to check
    assert.equal(configError(() => parseConfig(capture({ source: { type: 'synthetic' }, minWitnesses: 1 }))).field, 'provider.capture.minWitnesses')
    assert.equal(configError(() => resolveConfig({ role: 'capture-provider', provider: { region: 'u33', sensors: ['video'], capture: { source: { type: 'synthetic' } } } })).field, 'provider.region')
    assert.equal(configError(() => resolveConfig({ role: 'capture-provider', provider: { sensors: ['video'], capture: { source: { type: 'synthetic' } } } })).field, 'provider.region')
    assert.equal(resolveConfig({ role: 'capture-provider', witness: { geohash: 'u33dbc' }, provider: { region: 'u', sensors: ['video'], capture: { source: { type: 'synthetic' } } } }).role, 'capture-provider')
    // a GPU provider does not record
    assert.equal(configError(() => resolveConfig({ role: 'gpu-provider', provider: { executor: { type: 'echo' }, capture: { source: { type: 'synthetic' } } } })).field, 'provider.capture')
  })

  it('reads captureChecks, the rules the captures it pays for are verified with, and names a bad one', () => {
    assert.equal(resolveConfig({}).captureChecks, undefined)
    const checks = { minWitnesses: 3, minWitnessCounterparties: 0, minWitnessAgeMs: 0, rttSlackMs: 20, maxWitnessKm: 50, allowPrivateAddresses: true }
    assert.deepEqual(resolveConfig(parseConfig({ captureChecks: checks })).captureChecks, checks)
    assert.equal(configError(() => parseConfig({ captureChecks: { minWitnesses: 0 } })).field, 'captureChecks.minWitnesses')
    assert.equal(configError(() => parseConfig({ captureChecks: { minWitnessAgeMs: -1 } })).field, 'captureChecks.minWitnessAgeMs')
    assert.equal(configError(() => parseConfig({ captureChecks: { rttSlack: 3 } })).field, 'captureChecks.rttSlack')
  })

  it('witnesses by default; witness.enabled and SHOAL_WITNESS turn it off; a witness price is a price', () => {
    assert.deepEqual(resolveConfig({}).witness, { enabled: true })
    assert.deepEqual(resolveConfig(parseConfig({ witness: { enabled: false } })).witness, { enabled: false })
    const price = { perUnit: 2, currency: 'USDC', unit: 'witness' }
    assert.deepEqual(resolveConfig(parseConfig({ witness: { price } })).witness, { enabled: true, price })
    assert.deepEqual(configFromEnv({ SHOAL_WITNESS: 'false' }), { witness: { enabled: false } })
    assert.deepEqual(resolveConfig(parseConfig({ witness: { price } }), configFromEnv({ SHOAL_WITNESS: '0' })).witness, { enabled: false, price })
    assert.equal(configError(() => configFromEnv({ SHOAL_WITNESS: 'maybe' })).field, 'SHOAL_WITNESS')
    assert.equal(configError(() => parseConfig({ witness: { enabled: 'yes' } })).field, 'witness.enabled')
    assert.equal(configError(() => parseConfig({ witness: { price: { perUnit: -1, currency: 'USDC', unit: 'witness' } } })).field, 'witness.price.perUnit')
    assert.equal(configError(() => parseConfig({ witness: { often: true } })).field, 'witness.often')
  })

  it('random values under the capture and witness keys never throw anything but ConfigError', () => {
    const value = fc.oneof(fc.jsonValue(), fc.string(), fc.integer(), fc.constantFrom('command', 'folder', 'synthetic'))
    const source = fc.dictionary(fc.constantFrom('type', 'command', 'args', 'timeoutMs', 'path', 'bytesPerSecond'), value)
    const captureValue = fc.dictionary(fc.constantFrom('source', 'mediaType', 'witnesses', 'minWitnesses', 'maxSeconds'), fc.oneof(value, source))
    const witness = fc.dictionary(fc.constantFrom('enabled', 'price'), fc.oneof(value, fc.dictionary(fc.constantFrom('perUnit', 'currency', 'unit'), value)))
    const checks = fc.dictionary(fc.constantFrom('minWitnesses', 'minWitnessCounterparties', 'minWitnessAgeMs', 'rttSlackMs', 'maxWitnessKm', 'allowPrivateAddresses'), value)
    fc.assert(fc.property(fc.oneof(value, captureValue), fc.oneof(value, witness), fc.oneof(value, checks), (c, w, k) => {
      for (const config of [capture(c), { witness: w }, { captureChecks: k }]) {
        try {
          resolveConfig(parseConfig(config))
        } catch (err: unknown) {
          assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`)
        }
      }
    }), { numRuns: 2000 })
  })

  it('a capture job input is {"seconds": N} within the provider\'s maxSeconds', () => {
    assert.deepEqual(parseCaptureRequest(new TextEncoder().encode('{"seconds": 5}'), 10), { seconds: 5 })
    for (const bad of ['', 'x', '{}', '{"seconds": 0}', '{"seconds": 1.5}', '{"seconds": "5"}', '{"seconds": 11}', 'null']) {
      assert.throws(() => parseCaptureRequest(new TextEncoder().encode(bad), 10), { name: 'ExecutorError' }, bad)
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        const { seconds } = parseCaptureRequest(bytes, 600)
        assert.ok(Number.isSafeInteger(seconds) && seconds >= 1 && seconds <= 600)
      } catch (err: unknown) {
        assert.equal((err as Error).name, 'ExecutorError')
      }
    }), { numRuns: 1000 })
  })

  it('preflight finds the capture command and the folder, or names the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-capture-preflight-'))
    try {
      await writeFile(join(dir, 'rec.sh'), '#!/bin/sh\n', { mode: 0o755 })
      await writeFile(join(dir, 'plain.txt'), 'x')
      assert.deepEqual(await checkCaptureSource({ type: 'command', command: './rec.sh' }, { configDir: dir }), { type: 'command', command: join(dir, 'rec.sh') })
      assert.deepEqual(await checkCaptureSource({ type: 'folder', path: '.' }, { configDir: dir }), { type: 'folder', path: dir })
      await assert.rejects(checkCaptureSource({ type: 'command', command: 'no-such-recorder-here' }, { path: dir }), (err: ConfigError) => err.field === 'provider.capture.source.command')
      await assert.rejects(checkCaptureSource({ type: 'command', command: './plain.txt' }, { configDir: dir }), (err: ConfigError) => err.field === 'provider.capture.source.command' && /not executable/.test(err.message))
      await assert.rejects(checkCaptureSource({ type: 'folder', path: './plain.txt' }, { configDir: dir }), (err: ConfigError) => err.field === 'provider.capture.source.path')
      await assert.rejects(checkCaptureSource({ type: 'folder', path: './missing' }, { configDir: dir }), (err: ConfigError) => err.field === 'provider.capture.source.path')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
