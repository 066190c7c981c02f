/**
 * Nodes a suite's tests start, stopped after each test: call inside a mocha
 * `describe` (it registers an `afterEach`), push each node a test starts.
 */
export function stoppedAfterEach <N extends { stop(): void | Promise<void> }> (): N[] {
  const nodes: N[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
  })
  return nodes
}
