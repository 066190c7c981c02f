import { strict as assert } from 'node:assert'
import { MIN_NODE_MAJOR, nodeVersionProblem } from '../src/cli/node-version.js'

describe('the CLI\'s Node.js version check', () => {
  it('accepts Node 22 and later', () => {
    assert.equal(MIN_NODE_MAJOR, 22)
    assert.equal(nodeVersionProblem('22.0.0', '/usr/bin/node'), undefined)
    assert.equal(nodeVersionProblem('24.21.0', '/usr/bin/node'), undefined)
  })

  it('refuses an older one, naming it and the Node to run instead', () => {
    const problem = nodeVersionProblem('20.20.2', '/usr/bin/node')
    assert.ok(problem !== undefined)
    assert.match(problem, /^shoal: Node\.js 22 or later is needed \(this is 20\.20\.2 at \/usr\/bin\/node\)/)
    assert.match(problem, /npx shoal/)
    assert.match(problem, /node_modules\/\.bin\/node packages\/node\/dist\/src\/cli\.js/)
    assert.ok(nodeVersionProblem('18.19.1', 'node') !== undefined)
  })
})
