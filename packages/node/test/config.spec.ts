import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { configFromEnv, parseConfig, parseConfigText, resolveConfig } from '../src/config.js'
import { API_HOST, API_PORT, LISTEN_ADDRESSES, SHUTDOWN_GRACE_MS } from '../src/constants.js'
import { ConfigError } from '../src/errors.js'
import { dhtClientMode } from '../src/node.js'

const PEER = '12D3KooWLQpEFwiqwmxzTSkXTXTEMR6kETJ2iCp563tq7GUGUEmF'

function configError (fn: () => unknown): { field: string, message: string } {
  try {
    fn()
  } catch (err: unknown) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`)
    return err
  }
  assert.fail('expected a ConfigError')
}

describe('config', () => {
  it('accepts an empty config and fills in requester defaults', () => {
    const config = resolveConfig(parseConfig({}))
    assert.equal(config.role, 'requester')
    assert.deepEqual(config.listen, LISTEN_ADDRESSES)
    assert.equal(config.apiPort, API_PORT)
    assert.equal(config.apiHost, API_HOST)
    assert.equal(config.mdns, true)
    assert.equal(config.dht.mode, 'auto')
    assert.equal(config.reachability.relayServer, false)
    assert.equal(config.provider, undefined)
  })

  it('gives the bootstrap role a DHT server and a relay server', () => {
    const config = resolveConfig({ role: 'bootstrap' })
    assert.equal(config.dht.mode, 'server')
    assert.equal(config.reachability.relayServer, true)
  })

  it('names the bad field: listen[0]: not a multiaddr', () => {
    const err = configError(() => parseConfig({ listen: ['/ip4/127.0.0.1/tcp/0', 'localhost:4001'].reverse() }))
    assert.equal(err.field, 'listen[0]')
    assert.equal(err.message, 'listen[0]: not a multiaddr: "localhost:4001"')
  })

  it('refuses a listen address no transport of the node can use, naming it', () => {
    const err = configError(() => parseConfig({ listen: ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/udp/4001/quic-v1'] }))
    assert.equal(err.field, 'listen[1]')
    assert.match(err.message, /^listen\[1\]: \/ip4\/0\.0\.0\.0\/udp\/4001\/quic-v1: no transport of this node listens on such an address/)
    assert.deepEqual(parseConfig({ listen: ['/ip6/::/tcp/0', '/dns4/example.com/tcp/4001', '/p2p-circuit'] }).listen, ['/ip6/::/tcp/0', '/dns4/example.com/tcp/4001', '/p2p-circuit'])
  })

  it('names nested fields', () => {
    const err = configError(() => parseConfig({ provider: { gpus: [{ model: 'A100', vramMib: 81920 }, { model: 'x', vramMib: -1 }] } }))
    assert.equal(err.field, 'provider.gpus[1].vramMib')
  })

  it('refuses unknown options (typos)', () => {
    const err = configError(() => parseConfig({ lisen: [] }))
    assert.equal(err.field, 'lisen')
    assert.match(err.message, /unknown option/)
  })

  it('requires /p2p/ in bootstrap addresses', () => {
    assert.equal(configError(() => parseConfig({ bootstrap: ['/ip4/1.2.3.4/tcp/4001'] })).field, 'bootstrap[0]')
    assert.deepEqual(parseConfig({ bootstrap: [`/ip4/1.2.3.4/tcp/4001/p2p/${PEER}`] }).bootstrap, [`/ip4/1.2.3.4/tcp/4001/p2p/${PEER}`])
  })

  it('checks what a role needs', () => {
    // GPUs may be left out: the node offers what nvidia-smi detects (preflight)
    assert.equal(configError(() => resolveConfig({ role: 'gpu-provider' })).field, 'provider.executor')
    assert.deepEqual(resolveConfig({ role: 'gpu-provider', provider: { executor: { type: 'echo' } } }).provider?.gpus, [])
    assert.equal(configError(() => resolveConfig({ role: 'gpu-provider', provider: { gpus: [{ model: 'RTX 4090', vramMib: 24576 }] } })).field, 'provider.executor')
    assert.equal(configError(() => resolveConfig({ role: 'capture-provider' })).field, 'provider.sensors')
    // a capture provider without a capture source (or an executor) would be found and decline every job
    assert.equal(configError(() => resolveConfig({ role: 'capture-provider', provider: { sensors: ['video'] } })).field, 'provider.capture')
    const ok = resolveConfig({ role: 'gpu-provider', provider: { gpus: [{ model: 'RTX 4090', vramMib: 24576 }], executor: { type: 'echo' } } })
    assert.equal(ok.provider?.concurrency, 1)
  })

  it('says a required field is missing instead of "got undefined"', () => {
    const err = configError(() => parseConfig({ provider: { executor: { type: 'command' } } }))
    assert.equal(err.message, 'provider.executor.command: missing')
    assert.equal(configError(() => parseConfig({ provider: { executor: {} } })).message, 'provider.executor.type: missing (expected one of command, echo)')
    assert.equal(configError(() => parseConfig({ provider: { gpus: [{ model: 'A100' }] } })).message, 'provider.gpus[0].vramMib: missing')
  })

  it('reads the API bind address from the file and SHOAL_API_HOST, and refuses what is not an address', () => {
    assert.equal(resolveConfig(parseConfig({ apiHost: '0.0.0.0' })).apiHost, '0.0.0.0')
    assert.equal(resolveConfig(parseConfig({ apiHost: '::' }), configFromEnv({ SHOAL_API_HOST: '127.0.0.2' })).apiHost, '127.0.0.2')
    assert.equal(configError(() => parseConfig({ apiHost: 'my host' })).field, 'apiHost')
    assert.equal(configError(() => configFromEnv({ SHOAL_API_HOST: 'http://0.0.0.0' })).field, 'SHOAL_API_HOST')
  })

  it('merges layers: later wins, nested objects field by field', () => {
    const config = resolveConfig({ apiPort: 1, dht: { mode: 'client' } }, { apiPort: 2, dht: { allowPrivateAddresses: true } })
    assert.equal(config.apiPort, 2)
    assert.deepEqual(config.dht, { mode: 'client', allowPrivateAddresses: true })
  })

  it('reads YAML and JSON text', () => {
    assert.deepEqual(parseConfigText('role: bootstrap\nlisten:\n  - /ip4/0.0.0.0/tcp/4001\n'), { role: 'bootstrap', listen: ['/ip4/0.0.0.0/tcp/4001'] })
    assert.deepEqual(parseConfigText('{"mdns": false}', 'node.json'), { mdns: false })
    assert.deepEqual(parseConfigText(''), {})
    assert.equal(configError(() => parseConfigText('{', 'node.json')).field, '')
    assert.equal(configError(() => parseConfigText('role: [unclosed')).field, '')
    assert.equal(configError(() => parseConfigText('- 1\n- 2\n')).field, '')
  })

  it('reads SHOAL_* variables and names the variable when one is wrong', () => {
    assert.deepEqual(configFromEnv({ SHOAL_LISTEN: '/ip4/127.0.0.1/tcp/1, /ip4/127.0.0.1/tcp/2', SHOAL_MDNS: 'false', SHOAL_API_PORT: '0' }), {
      listen: ['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2'], mdns: false, apiPort: 0
    })
    assert.equal(configError(() => configFromEnv({ SHOAL_API_PORT: 'eighty' })).field, 'SHOAL_API_PORT')
    assert.equal(configError(() => configFromEnv({ SHOAL_ROLE: 'miner' })).field, 'SHOAL_ROLE')
  })

  it('reads the shutdown grace period from the file and SHOAL_SHUTDOWN_GRACE_MS', () => {
    assert.equal(resolveConfig({}).shutdownGraceMs, SHUTDOWN_GRACE_MS)
    assert.equal(resolveConfig(parseConfig({ shutdownGraceMs: 0 })).shutdownGraceMs, 0)
    assert.equal(resolveConfig(parseConfig({ shutdownGraceMs: 2500 }), configFromEnv({ SHOAL_SHUTDOWN_GRACE_MS: '500' })).shutdownGraceMs, 500)
    assert.equal(configError(() => parseConfig({ shutdownGraceMs: -1 })).field, 'shutdownGraceMs')
    assert.equal(configError(() => configFromEnv({ SHOAL_SHUTDOWN_GRACE_MS: 'soon' })).field, 'SHOAL_SHUTDOWN_GRACE_MS')
  })

  it('turns the defences against dishonest peers on by default, off from the file or SHOAL_DEFENCES', () => {
    assert.equal(resolveConfig({}).defences, true)
    assert.equal(resolveConfig(parseConfig({ defences: false })).defences, false)
    assert.equal(resolveConfig(parseConfig({ defences: false }), configFromEnv({ SHOAL_DEFENCES: 'true' })).defences, true)
    assert.equal(configError(() => parseConfig({ defences: 'no' })).field, 'defences')
    assert.equal(configError(() => configFromEnv({ SHOAL_DEFENCES: 'maybe' })).field, 'SHOAL_DEFENCES')
  })

  it('reads the log level and format from the file and SHOAL_LOG_LEVEL / SHOAL_LOG_FORMAT, info and text by default', () => {
    const defaults = resolveConfig({})
    assert.deepEqual([defaults.logLevel, defaults.logFormat], ['info', 'text'])
    const layered = resolveConfig(parseConfig({ logLevel: 'warn', logFormat: 'json' }), configFromEnv({ SHOAL_LOG_LEVEL: 'debug' }))
    assert.deepEqual([layered.logLevel, layered.logFormat], ['debug', 'json'])
    assert.equal(configError(() => parseConfig({ logLevel: 'verbose' })).field, 'logLevel')
    assert.equal(configError(() => configFromEnv({ SHOAL_LOG_FORMAT: 'xml' })).field, 'SHOAL_LOG_FORMAT')
  })

  it('reads reachability.relayedJobs (a policy, true for the defaults, false for never) and SHOAL_RELAYED_JOBS, {} by default', () => {
    assert.deepEqual(resolveConfig({}).reachability.relayedJobs, {})
    assert.deepEqual(parseConfig({ reachability: { relayedJobs: { maxInputBytes: 1024, upgradeWaitMs: 0 } } }).reachability?.relayedJobs, { maxInputBytes: 1024, upgradeWaitMs: 0 })
    assert.deepEqual(parseConfig({ reachability: { relayedJobs: true } }).reachability?.relayedJobs, {})
    assert.equal(resolveConfig(parseConfig({ reachability: { relayedJobs: { enabled: true } } }), configFromEnv({ SHOAL_RELAYED_JOBS: 'false' })).reachability.relayedJobs, false)
    assert.equal(configError(() => parseConfig({ reachability: { relayedJobs: { maxOutputBytes: -1 } } })).field, 'reachability.relayedJobs.maxOutputBytes')
    assert.equal(configError(() => parseConfig({ reachability: { relayedJobs: { limit: 1 } } })).field, 'reachability.relayedJobs.limit')
    assert.equal(configError(() => configFromEnv({ SHOAL_RELAYED_JOBS: 'sometimes' })).field, 'SHOAL_RELAYED_JOBS')
  })

  describe('properties', () => {
    const fields = ['role', 'dataDir', 'listen', 'announce', 'bootstrap', 'mdns', 'apiPort', 'apiHost', 'metrics', 'shutdownGraceMs', 'logLevel', 'logFormat', 'dht', 'reachability', 'provider']

    function onlyConfigErrors (fn: () => unknown): void {
      try {
        fn()
      } catch (err: unknown) {
        if (!(err instanceof ConfigError)) throw err
        assert.equal(typeof err.field, 'string')
      }
    }

    it('random JSON never throws anything but ConfigError', () => {
      fc.assert(fc.property(fc.jsonValue(), (value) => {
        onlyConfigErrors(() => resolveConfig(parseConfig(value)))
      }), { numRuns: 2000 })
    })

    it('random values under the known keys never throw anything but ConfigError', () => {
      const value = fc.oneof(fc.jsonValue(), fc.anything(), fc.string(), fc.array(fc.string()))
      const nested = fc.dictionary(fc.constantFrom('mode', 'allowPrivateAddresses', 'autonat', 'gpus', 'sensors', 'executor', 'price', 'region', 'concurrency', 'type', 'command'), value)
      fc.assert(fc.property(fc.dictionary(fc.constantFrom(...fields), fc.oneof(value, nested)), (config) => {
        onlyConfigErrors(() => resolveConfig(parseConfig(config)))
      }), { numRuns: 2000 })
    })

    it('random text never throws anything but ConfigError', () => {
      fc.assert(fc.property(fc.string({ maxLength: 200 }), fc.constantFrom('c.yaml', 'c.json'), (text, name) => {
        onlyConfigErrors(() => parseConfigText(text, name))
      }), { numRuns: 2000 })
    })

    it('a valid config survives JSON round trips unchanged', () => {
      const config = fc.record({
        role: fc.constantFrom('requester', 'bootstrap'),
        listen: fc.array(fc.integer({ min: 0, max: 65535 }).map(p => `/ip4/127.0.0.1/tcp/${p}`), { maxLength: 4 }),
        mdns: fc.boolean(),
        apiPort: fc.integer({ min: 0, max: 65535 })
      }, { requiredKeys: [] })
      fc.assert(fc.property(config, (c) => {
        assert.deepEqual(parseConfig(JSON.parse(JSON.stringify(c))), { ...c })
      }))
    })
  })

  it('dht.mode auto leaves kad-dht to switch to server on a public address, except on a LAN (private addresses dialable) or with AutoNAT off', () => {
    const on = { autonat: true }
    assert.equal(dhtClientMode({ mode: 'auto', allowPrivateAddresses: false }, on), undefined)
    assert.equal(dhtClientMode({ mode: 'auto', allowPrivateAddresses: true }, on), false)
    assert.equal(dhtClientMode({ mode: 'auto', allowPrivateAddresses: false }, { autonat: false }), false)
    assert.equal(dhtClientMode({ mode: 'server', allowPrivateAddresses: false }, on), false)
    assert.equal(dhtClientMode({ mode: 'client', allowPrivateAddresses: true }, { autonat: false }), true)
  })
})
