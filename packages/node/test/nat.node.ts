/**
 * A GPU behind home NAT gets work: real `shoal node start` processes in
 * network namespaces (test/fixtures/netns.ts). The bootstrap node (a relay
 * server) sits on the public segment; the provider is behind NAT router A,
 * the requester behind NAT router B, both with the default reachability
 * settings (AutoNAT, a relay reservation, DCUtR hole punching). Neither can
 * dial the other directly: the job reaches the provider through the relay,
 * or over a direct connection if hole punching got one.
 *
 * Prints one line, `nat figures {json}`: how the job ran (the requester's
 * connections to the provider when the receipt came back), and the
 * reachability each node reported.
 *
 * Skips, saying why, without root, `ip netns` or iptables.
 */

import { strict as assert } from 'node:assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ShoalProcesses } from './fixtures/cli-process.js'
import { createNatNet, natUnsupported } from './fixtures/netns.js'
import { waitFor } from './fixtures/wait.js'
import type { ShoalNodeProcess } from './fixtures/cli-process.js'
import type { NatHost, NatNet } from './fixtures/netns.js'
import type { NodeStatus, PeerStatus, ReceiptJson } from '../src/status.js'

/** Every node listens on this port in its own namespace. */
const PORT = 4001

describe('NAT: a provider behind one NAT serves a requester behind another (network namespaces)', function () {
  this.timeout(300_000)
  let net: NatNet | undefined
  let root: string | undefined
  const processes = new ShoalProcesses()

  beforeEach(async function () {
    const reason = natUnsupported()
    if (reason !== undefined) {
      // mocha's skip takes no reason: the pending test's title carries it
      if (this.currentTest != null) this.currentTest.title += ` [skipped: ${reason}]`
      this.skip()
    }
    root = await mkdtemp(join(tmpdir(), 'shoal-nat-'))
    net = createNatNet()
  })

  afterEach(async () => {
    processes.killAll()
    // the processes must be gone before their namespaces are
    await new Promise(resolve => setTimeout(resolve, 500))
    net?.destroy()
    net = undefined
    if (root !== undefined) await rm(root, { recursive: true, force: true })
  })

  /** Start `shoal node start` inside a host's namespace with a config file. */
  async function start (name: string, host: NatHost, config: object): Promise<ShoalNodeProcess> {
    const dir = root as string
    const file = join(dir, `${name}.json`)
    await writeFile(file, JSON.stringify(config))
    return processes.start(join(dir, name), ['--config', file], { prefix: host.prefix })
  }

  /** Run a read command against a node, in its namespace (its API listens on that namespace's loopback). */
  async function json <T> (host: NatHost, args: string[], stdin?: string): Promise<T> {
    const result = await processes.run([...args, '--json'], { prefix: host.prefix, stdin })
    assert.equal(result.code, 0, `shoal ${args.join(' ')} failed (${result.code}): ${result.stderr}`)
    return JSON.parse(result.stdout)
  }

  it('a job from the requester behind NAT B completes on the provider behind NAT A with a countersigned receipt on both sides', async function () {
    const n = net as NatNet
    // the public relay announces its public address, as a relay operator does: a reservation hands it to the peers behind NAT
    const bootstrap = await start('bootstrap', n.public, {
      role: 'bootstrap',
      listen: [`/ip4/${n.public.ip}/tcp/${PORT}`],
      announce: [`/ip4/${n.public.ip}/tcp/${PORT}`],
      mdns: false,
      apiPort: 0
    })
    const bootId = await json<{ peerId: string }>(n.public, ['id', '--data-dir', bootstrap.dataDir])
    const bootAddr = `/ip4/${n.public.ip}/tcp/${PORT}/p2p/${bootId.peerId}`
    const home = { bootstrap: [bootAddr], mdns: false, apiPort: 0 }
    const provider = await start('provider', n.provider, {
      ...home,
      role: 'gpu-provider',
      listen: [`/ip4/${n.provider.ip}/tcp/${PORT}`],
      provider: {
        gpus: [{ model: 'RTX 4090', vramMib: 24576 }],
        price: { perUnit: 1, currency: 'USDC', unit: 'gpu-second' },
        executor: { type: 'command', command: '/bin/cat', timeoutMs: 20_000 }
      }
    })
    const requester = await start('requester', n.requester, { ...home, listen: [`/ip4/${n.requester.ip}/tcp/${PORT}`] })
    const providerId = (await json<{ peerId: string }>(n.provider, ['id', '--data-dir', provider.dataDir])).peerId
    const requesterId = (await json<{ peerId: string }>(n.requester, ['id', '--data-dir', requester.dataDir])).peerId
    const status = async (host: NatHost, node: ShoalNodeProcess): Promise<NodeStatus> => json<NodeStatus>(host, ['status', '--data-dir', node.dataDir])

    // behind NAT, each holds a reservation on the public relay and has a /p2p-circuit address through it
    for (const [host, node] of [[n.provider, provider], [n.requester, requester]] as const) {
      const s = await waitFor(`${host.ns} to get a relayed address`, async () => {
        const s = await status(host, node)
        return s.reachability.relayed.length > 0 ? s : undefined
      }, 60_000, 1000)
      assert.deepEqual(s.reachability.relays, [bootId.peerId])
      assert.ok(s.reachability.relayed.every(a => a.startsWith(`${bootAddr}/p2p-circuit`)), s.reachability.relayed.join(', '))
    }
    await waitFor('the provider to advertise its GPU', async () => {
      const s = await status(n.provider, provider)
      return s.capabilities.length > 0 ? true : undefined
    }, 60_000, 1000)

    // progress on stderr, the output on stdout
    const submitted = await processes.run(['job', 'submit', '--data-dir', requester.dataDir, '--workload', 'echo', '--gpu-class', 'consumer-24g', '--input', '-', '--timeout', '90000'], { prefix: n.requester.prefix, stdin: 'hello from behind NAT' })
    const after = {
      bootstrap: await status(n.public, bootstrap),
      provider: await status(n.provider, provider),
      requester: await status(n.requester, requester)
    }
    // the figures first: they say where each node stood even when the job did not run
    const toProvider = after.requester.peers.find((p: PeerStatus) => p.peerId === providerId)
    const figures = {
      job: submitted.code === 0 ? 'completed' : 'not completed',
      // the receipt's progress line says when the job ran over a relay; else it ran on a direct connection (hole punched)
      ran: submitted.code !== 0 ? 'not run' : /\(over a relay\)/.test(submitted.stderr) ? 'relayed' : 'direct',
      requesterToProvider: toProvider?.addrs ?? [],
      reachability: Object.fromEntries(Object.entries(after).map(([name, s]) => [name, {
        status: s.reachability.status,
        relayed: s.reachability.relayed,
        relays: s.reachability.relays,
        connections: s.reachability.connections,
        relayedOpened: s.reachability.relayedOpened,
        directUpgrades: s.reachability.directUpgrades
      }]))
    }
    process.stdout.write(`nat figures ${JSON.stringify(figures)}\n`)
    // behind NAT the provider never counts as publicly reachable; the relay announced its public address
    assert.notEqual(after.provider.reachability.status, 'public')
    assert.equal(after.bootstrap.reachability.status, 'public')
    assert.equal(submitted.code, 0, blocked(submitted.stderr, provider.stderr(), after.requester.reachability.relayedOpened))
    assert.equal(submitted.stdout, 'hello from behind NAT')

    // the countersigned receipt is in both stores
    const mine = await json<ReceiptJson[]>(n.requester, ['receipts', 'list', '--data-dir', requester.dataDir])
    assert.deepEqual(mine.map(r => [r.state, r.provider, r.requester]), [['countersigned', providerId, requesterId]])
    const theirs = await waitFor('the provider to store the countersigned receipt', async () => {
      const list = await json<ReceiptJson[]>(n.provider, ['receipts', 'list', '--data-dir', provider.dataDir])
      return list.length > 0 ? list : undefined
    }, 60_000, 1000)
    assert.deepEqual(theirs.map(r => [r.id, r.state]), [[mine[0].id, 'countersigned']])
  })
})

/**
 * What kept the job from running, from the requester's progress lines and
 * the provider's log: the failure message of the test.
 */
function blocked (progress: string, providerLog: string, relayedOpened: number): string {
  const last = progress.trim().split('\n').slice(-3).join(' | ')
  const refused = providerLog.split('\n').filter(l => /refused|failed/i.test(l)).slice(-3).join(' | ')
  return `the job did not complete: ${last}. The requester opened ${relayedOpened} relayed connection(s). Provider log: ${refused === '' ? '(nothing refused)' : refused}`
}
