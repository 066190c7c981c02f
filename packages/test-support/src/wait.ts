/**
 * Wait until a condition holds, for tests of what happens on other nodes
 * some time later (gossip, meshes, restarts).
 */

/** Resolve once `check` holds, polling every 25 ms; reject naming `what` after `timeoutMs`. */
export async function waitFor (check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`)
    }
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

/** What gossipsub's class has beyond the shared pubsub interface: its mesh per topic. */
interface MeshView { getMeshPeers(topic: string): string[] }

/**
 * Resolve once `a` and `b` have each other in their gossipsub mesh for `topic`.
 * Seeing a peer's subscription is not enough for a message to cross a line of
 * nodes: a relay forwards only to its mesh, which heartbeats build later.
 */
export async function waitForMesh (a: { peerId: { toString(): string }, services: { pubsub: unknown } }, b: { peerId: { toString(): string }, services: { pubsub: unknown } }, topic: string): Promise<void> {
  const meshOf = (node: typeof a): string[] => (node.services.pubsub as MeshView).getMeshPeers(topic)
  await waitFor(() => meshOf(a).includes(b.peerId.toString()) && meshOf(b).includes(a.peerId.toString()),
    `${a.peerId.toString()} and ${b.peerId.toString()} to mesh on ${topic}`)
}
