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
