import { strict as assert } from 'node:assert'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_NODE_VERSION } from '../src/cli/exit-codes.js'

// dist/test/service-unit.spec.js -> examples/full-node/shoal.service
const UNIT = fileURLToPath(new URL('../../../../examples/full-node/shoal.service', import.meta.url))

describe('examples/full-node/shoal.service', () => {
  let unit: string

  before(async () => {
    unit = await readFile(UNIT, 'utf8')
  })

  function setting (name: string): string[] {
    return [...unit.matchAll(new RegExp(`^${name}=(.*)$`, 'gm'))].map(m => m[1].trim())
  }

  it('does not restart on the exit codes a restart cannot fix, and does on the others', () => {
    assert.deepEqual(setting('Restart'), ['on-failure'])
    const prevented = setting('RestartPreventExitStatus').flatMap(v => v.split(/\s+/)).map(Number)
    assert.deepEqual(prevented.sort(), [EXIT_CONFIG, EXIT_NODE_VERSION].sort())
    assert.ok(!prevented.includes(EXIT_FAILURE))
  })

  it('runs the Node the repository brings, not the system one', () => {
    const [execStart] = setting('ExecStart')
    assert.match(execStart, /^\/opt\/shoal\/node_modules\/\.bin\/node \/opt\/shoal\/packages\/node\/dist\/src\/cli\.js node start$/)
  })
})
