/**
 * The CLI's first import: it checks the Node.js version before any module
 * that needs Node 22 is evaluated (ES modules are evaluated in import order),
 * so an old Node gets a line saying what to do instead of
 * `Promise.withResolvers is not a function` from deep inside libp2p. It
 * imports nothing but the exit codes.
 */
import { EXIT_NODE_VERSION } from './exit-codes.js'

/** The oldest Node.js major version the node runs on (libp2p 3 needs `Promise.withResolvers`). */
export const MIN_NODE_MAJOR = 22

/** Why this Node.js version cannot run the CLI, with what to do instead; undefined when it can. */
export function nodeVersionProblem (version: string, execPath: string): string | undefined {
  const major = Number(version.replace(/^v/, '').split('.')[0])
  if (major >= MIN_NODE_MAJOR) return undefined
  return `shoal: Node.js ${MIN_NODE_MAJOR} or later is needed (this is ${version} at ${execPath}).
Run it with the Node the project brings (the npm package "node", Node 24, in node_modules/.bin):
  npx shoal ...                                      (in the repository; npm scripts and npx use node_modules/.bin/node)
  node_modules/.bin/node packages/node/dist/src/cli.js ...
or install Node.js ${MIN_NODE_MAJOR} or later.
`
}

const problem = nodeVersionProblem(process.versions.node, process.execPath)
if (problem !== undefined) {
  process.stderr.write(problem)
  process.exit(EXIT_NODE_VERSION)
}
