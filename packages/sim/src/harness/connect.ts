import type { Rng } from '../random.js'

/** How the harness wires peers together, as the network would. */
export interface ConnectOptions {
  /**
   * Bootstrap peers (the first peers by index; placement is shuffled, so
   * they are spread over regions). They dial each other; every other peer
   * dials one of them first. @default 3
   */
  bootstrap?: number
  /** Peers each peer dials, its bootstrap peer included. @default 4 */
  degree?: number
  /** Share of the non-bootstrap dials that go to nearby peers (lowest RTT). @default 0.5 */
  nearby?: number
  /** Candidates sampled per peer when looking for nearby peers. @default 64 */
  nearbyCandidates?: number
  /** Dials in flight across the simulation. @default 64 */
  concurrency?: number
  /** Timeout of one dial in ms. @default 60000 */
  dialTimeoutMs?: number
}

/** One planned dial: peer `from` dials peer `to`. */
export interface PlannedDial {
  from: number
  to: number
  /** why this link: `bootstrap`, `nearby`, `random`, or `relay` (a NAT'd peer to a relay) */
  kind: 'bootstrap' | 'nearby' | 'random' | 'relay'
}

/**
 * The dials that wire `alive` peers: bootstrap peers in a full mesh, then
 * each other peer dials one bootstrap peer, some of its nearest peers by
 * `rtt` among a random sample, and random peers; each pair at most once.
 * Pure and seeded: the same inputs give the same plan.
 */
export function planDials (alive: readonly number[], rtt: (a: number, b: number) => number, rng: Rng, options: ConnectOptions = {}): PlannedDial[] {
  const bootstrapCount = Math.min(options.bootstrap ?? 3, alive.length)
  const degree = Math.max(0, options.degree ?? 4)
  const nearbyShare = Math.min(1, Math.max(0, options.nearby ?? 0.5))
  const candidates = Math.max(1, options.nearbyCandidates ?? 64)
  const bootstrap = alive.slice(0, bootstrapCount)
  const plan: PlannedDial[] = []
  const linked = new Set<string>()
  const key = (a: number, b: number): string => a < b ? `${a}:${b}` : `${b}:${a}`
  const add = (from: number, to: number, kind: PlannedDial['kind']): boolean => {
    if (from === to || linked.has(key(from, to))) {
      return false
    }

    linked.add(key(from, to))
    plan.push({ from, to, kind })
    return true
  }

  for (let i = 0; i < bootstrap.length; i++) {
    for (let j = i + 1; j < bootstrap.length; j++) {
      add(bootstrap[j], bootstrap[i], 'bootstrap')
    }
  }

  for (const peer of alive) {
    dialsOf(peer, alive, bootstrap, rtt, rng, degree, nearbyShare, candidates, add)
  }

  return plan
}

/** The dials of one (re)joining peer, planned like {@link planDials}. */
export function planJoin (peer: number, alive: readonly number[], rtt: (a: number, b: number) => number, rng: Rng, options: ConnectOptions = {}): PlannedDial[] {
  const bootstrap = alive.slice(0, Math.min(options.bootstrap ?? 3, alive.length)).filter(p => p !== peer)
  const plan: PlannedDial[] = []
  const seen = new Set<number>()
  const add = (from: number, to: number, kind: PlannedDial['kind']): boolean => {
    if (from === to || seen.has(to)) {
      return false
    }

    seen.add(to)
    plan.push({ from, to, kind })
    return true
  }
  dialsOf(peer, alive, bootstrap, rtt, rng, Math.max(1, options.degree ?? 4), Math.min(1, Math.max(0, options.nearby ?? 0.5)), options.nearbyCandidates ?? 64, add)
  return plan
}

function dialsOf (
  peer: number,
  alive: readonly number[],
  bootstrap: readonly number[],
  rtt: (a: number, b: number) => number,
  rng: Rng,
  degree: number,
  nearbyShare: number,
  candidates: number,
  add: (from: number, to: number, kind: PlannedDial['kind']) => boolean
): void {
  const others = alive.filter(p => p !== peer)

  if (others.length === 0 || degree === 0) {
    return
  }

  let made = 0
  const isBootstrap = bootstrap.includes(peer)

  if (!isBootstrap && bootstrap.length > 0) {
    add(peer, rng.pick(bootstrap), 'bootstrap')
    made++
  }

  const rest = Math.max(0, degree - made)
  const nearbyCount = Math.round(rest * nearbyShare)
  const sample = rng.sample(others, Math.min(others.length, candidates))
  sample.sort((a, b) => rtt(peer, a) - rtt(peer, b) || a - b)

  let nearbyMade = 0
  for (const other of sample) {
    if (nearbyMade >= nearbyCount) {
      break
    }

    if (add(peer, other, 'nearby')) {
      nearbyMade++
    }
  }

  let randomMade = 0
  const wanted = rest - nearbyMade
  // bounded attempts: in a tiny network every pair may already be linked
  for (let attempt = 0; randomMade < wanted && attempt < wanted * 8; attempt++) {
    if (add(peer, rng.pick(others), 'random')) {
      randomMade++
    }
  }
}

/** Runs `fn` over `items`, at most `limit` at a time, in order of start. */
export async function pool<T> (items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++
      await fn(items[i], i)
    }
  })
  await Promise.all(workers)
}

/**
 * Runs `fn` on `count` random pairs of distinct `peers` (drawn from `rng`),
 * `concurrency` at a time, and returns the results in completion order.
 * Fewer than two peers give no pairs.
 */
export async function randomPairs<P extends { index: number }, R> (peers: readonly P[], count: number, rng: Rng, concurrency: number, fn: (a: number, b: number) => Promise<R>): Promise<R[]> {
  const results: R[] = []
  if (peers.length < 2) {
    return results
  }
  const pairs = Array.from({ length: count }, () => {
    const [a, b] = rng.sample(peers, 2)
    return [a.index, b.index] as const
  })
  await pool(pairs, concurrency, async ([a, b]) => {
    results.push(await fn(a, b))
  })
  return results
}
