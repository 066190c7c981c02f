#!/usr/bin/env node
// The `shoal-sim` command. This file is committed, not built, so `npm install`
// links it (npm links no bin whose file is missing, and the CLI is built only
// after install); it runs the built CLI, or says how to build it.
import('../dist/src/cli.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('cli.js')) {
    process.stderr.write('shoal-sim: the simulator is not built yet: run `npm run build` (or `npm run sim`) in the repository first\n')
    process.exit(1)
  }
  throw err
})
