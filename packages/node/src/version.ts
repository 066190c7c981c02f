import { readFileSync } from 'node:fs'

/** The version of @shoal/node, from its package.json (also the node's identify agent version). */
export const VERSION: string = (() => {
  try {
    return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version
  } catch {
    return '0.0.0'
  }
})()
