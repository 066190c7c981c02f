/**
 * `npm run vectors`: (re)write test-vectors/ from buildVectors(), the one
 * source of the vectors.
 */

import { writeFile } from 'node:fs/promises'
import { buildVectors, vectorText } from './build-vectors.js'

/** The repository's test-vectors/ folder, from test/dist/vectors/. */
const VECTORS_DIR = new URL('../../../test-vectors/', import.meta.url)

const files = await buildVectors()
for (const [name, json] of Object.entries(files)) {
  await writeFile(new URL(name, VECTORS_DIR), vectorText(json))
}
process.stdout.write(`wrote ${Object.keys(files).length} files to ${VECTORS_DIR.pathname}\n`)
