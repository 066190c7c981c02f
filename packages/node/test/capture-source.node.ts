import { strict as assert } from 'node:assert'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { killAllJobProcesses } from '@shoal/work'
import { commandSource, folderSource } from '../src/capture-source.js'

async function collect (source: AsyncIterable<Uint8Array>): Promise<string[]> {
  const out: string[] = []
  for await (const chunk of source) out.push(new TextDecoder().decode(chunk))
  return out
}

/** A recorder writing one file per second into SHOAL_CAPTURE_DIR, as ffmpeg's segment muxer would. */
const RECORDER = `#!/bin/sh
i=0
while [ "$i" -lt "$SHOAL_CAPTURE_SECONDS" ]; do
  printf 'chunk %s of %s %s' "$i" "$SHOAL_CAPTURE_SECONDS" "$SHOAL_CAPTURE_MEDIA_TYPE" > "$SHOAL_CAPTURE_DIR/$(printf %06d "$i").part"
  mv "$SHOAL_CAPTURE_DIR/$(printf %06d "$i").part" "$SHOAL_CAPTURE_DIR/$(printf %06d "$i").bin"
  i=$((i + 1))
  sleep 1
done
`

describe('capture sources', function () {
  this.timeout(30_000)
  let dir: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-capture-source-'))
  })

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('command: yields each file the recorder writes, in order, and removes its directory', async () => {
    await writeFile(join(dir, 'rec.sh'), RECORDER, { mode: 0o755 })
    const source = commandSource({ command: join(dir, 'rec.sh'), mediaType: 'video/mp4', sensors: ['video'] })
    assert.equal(source.mediaType, 'video/mp4')
    assert.deepEqual(source.sensors, ['video'])
    const before = (await readdir(tmpdir())).filter(n => n.startsWith('shoal-capture-')).length
    const chunks = await collect(source.record(3000, {}))
    assert.deepEqual(chunks, ['chunk 0 of 3 video/mp4', 'chunk 1 of 3 video/mp4', 'chunk 2 of 3 video/mp4'])
    const after = (await readdir(tmpdir())).filter(n => n.startsWith('shoal-capture-')).length
    assert.equal(after, before, 'the capture directory is gone')
  })

  it('command: a recorder that fails is a CaptureFailedError with its stderr', async () => {
    await writeFile(join(dir, 'bad.sh'), '#!/bin/sh\necho "no camera attached" >&2\nexit 3\n', { mode: 0o755 })
    await assert.rejects(collect(commandSource({ command: join(dir, 'bad.sh') }).record(2000, {})), (err: Error) => err.name === 'CaptureFailedError' && /no camera attached/.test(err.message))
    await assert.rejects(collect(commandSource({ command: join(dir, 'missing.sh') }).record(1000, {})), { name: 'CaptureFailedError' })
  })

  it('command: an abort kills the recorder\'s process group', async () => {
    const pidFile = join(dir, 'pid')
    await writeFile(join(dir, 'slow.sh'), `#!/bin/sh\nsleep 30 &\necho $! > ${pidFile}\nwait\n`, { mode: 0o755 })
    const controller = new AbortController()
    const recording = collect(commandSource({ command: join(dir, 'slow.sh') }).record(5000, { signal: controller.signal }))
    // the recorder started its child
    for (let i = 0; i < 50 && (await readdir(dir)).includes('pid') === false; i++) await new Promise(resolve => setTimeout(resolve, 100))
    const child = Number((await import('node:fs')).readFileSync(pidFile, 'utf8').trim())
    controller.abort()
    await assert.rejects(recording)
    let alive = true
    for (let i = 0; i < 50 && alive; i++) {
      try { process.kill(child, 0); await new Promise(resolve => setTimeout(resolve, 100)) } catch { alive = false }
    }
    assert.equal(alive, false, 'the recorder\'s child was killed with its group')
  })

  it('command: a node that exits at once (killAllJobProcesses, its exit handler) kills a running recorder\'s group', async () => {
    const pidFile = join(dir, 'pid')
    await writeFile(join(dir, 'slow.sh'), `#!/bin/sh\nsleep 30 &\necho $! > ${pidFile}\nwait\n`, { mode: 0o755 })
    const recording = collect(commandSource({ command: join(dir, 'slow.sh') }).record(5000, {}))
    for (let i = 0; i < 50 && (await readdir(dir)).includes('pid') === false; i++) await new Promise(resolve => setTimeout(resolve, 100))
    const child = Number((await import('node:fs')).readFileSync(pidFile, 'utf8').trim())
    assert.ok(killAllJobProcesses() >= 1, 'the recorder\'s group is in the list the node kills on exit')
    await assert.rejects(recording, { name: 'CaptureFailedError' })
    let alive = true
    for (let i = 0; i < 50 && alive; i++) {
      try { process.kill(child, 0); await new Promise(resolve => setTimeout(resolve, 100)) } catch { alive = false }
    }
    assert.equal(alive, false, 'the recorder\'s child was killed with its group')
  })

  it('folder: yields the files that appear after recording starts, in name order, not those there before', async () => {
    await writeFile(join(dir, '000000.bin'), 'old footage')
    const recording = collect(folderSource({ path: dir, graceMs: 3000 }).record(2000, {}))
    await new Promise(resolve => setTimeout(resolve, 300))
    await writeFile(join(dir, '000001.bin'), 'first')
    await new Promise(resolve => setTimeout(resolve, 1000))
    await writeFile(join(dir, '000002.bin'), 'second')
    assert.deepEqual(await recording, ['first', 'second'])
  })

  it('folder: no file at all is a CaptureFailedError', async () => {
    await assert.rejects(collect(folderSource({ path: dir, graceMs: 200 }).record(500, {})), { name: 'CaptureFailedError' })
  })
})
