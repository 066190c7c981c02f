import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { LevelDatastore } from 'datastore-level'
import { Level } from 'level'
import { errorCode, errorMessage } from '@shoal/utils'
import { API_FILE, DATA_DIR_NAME, DATASTORE_DIR, IDENTITY_FILE } from './constants.js'
import { DataDirError, DataDirLockedError, IdentityError, StoreError } from './errors.js'
import type { PrivateKey } from '@libp2p/interface'

/**
 * The data directory used when none is configured: `$XDG_DATA_HOME/shoal`,
 * else `~/.local/share/shoal`.
 */
export function defaultDataDir (env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME != null && env.XDG_DATA_HOME !== ''
    ? env.XDG_DATA_HOME
    : join(homedir(), '.local', 'share')
  return join(base, DATA_DIR_NAME)
}

/** Create the data directory (mode 0700) if needed, and check that it is a writable directory. */
export async function ensureDataDir (dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
  } catch (err: unknown) {
    const reason = errorCode(err) === 'EEXIST' || errorCode(err) === 'ENOTDIR' ? 'a file is in the way (not a directory)' : errorCode(err) ?? errorMessage(err)
    throw new DataDirError(dir, `cannot create data directory ${dir}: ${reason}`, { cause: err })
  }
  const info = await stat(dir).catch((err: unknown) => {
    throw new DataDirError(dir, `cannot read data directory ${dir}: ${errorCode(err) ?? errorMessage(err)}`, { cause: err })
  })
  if (!info.isDirectory()) {
    throw new DataDirError(dir, `data directory ${dir} is not a directory`)
  }
  // a probe write: a read-only dir should fail here, clearly, not halfway through start-up
  const probe = join(dir, `.probe-${randomBytes(4).toString('hex')}`)
  try {
    await writeFile(probe, '')
    await unlink(probe)
  } catch (err: unknown) {
    throw new DataDirError(dir, `data directory ${dir} is not writable: ${errorCode(err) ?? errorMessage(err)}`, { cause: err })
  }
}

/** Write a file atomically (temp file, fsync, rename) so a crash never leaves half a file behind. */
export async function writeFileAtomic (path: string, data: Uint8Array | string, mode = 0o600): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`
  const handle = await open(tmp, 'wx', mode)
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(tmp, path)
}

/**
 * The node's private key from `<dataDir>/identity.key`, created (Ed25519,
 * mode 0600) on first start. An existing file that does not decode is an
 * `IdentityError`: it is never replaced, since that would change the
 * node's identity and orphan its receipts.
 */
export async function loadOrCreateIdentity (dataDir: string): Promise<{ privateKey: PrivateKey, created: boolean }> {
  const path = join(dataDir, IDENTITY_FILE)
  let bytes: Uint8Array | undefined
  try {
    bytes = await readFile(path)
  } catch (err: unknown) {
    if (errorCode(err) !== 'ENOENT') {
      throw new IdentityError(path, `cannot read identity key ${path}: ${errorCode(err) ?? errorMessage(err)}`, { cause: err })
    }
  }
  if (bytes !== undefined) {
    try {
      return { privateKey: privateKeyFromProtobuf(bytes), created: false }
    } catch (err) {
      throw new IdentityError(path, `identity key ${path} is corrupt (${bytes.byteLength} bytes that are not a libp2p private key); it was left untouched: restore it from a backup, or move it away to start with a new identity`, { cause: err })
    }
  }
  const privateKey = await generateKeyPair('Ed25519')
  try {
    await writeFileAtomic(path, privateKeyToProtobuf(privateKey), 0o600)
  } catch (err: unknown) {
    throw new DataDirError(dataDir, `cannot write identity key ${path}: ${errorCode(err) ?? errorMessage(err)}`, { cause: err })
  }
  return { privateKey, created: true }
}

/**
 * Open (creating if needed) the LevelDB datastore in `<dataDir>/datastore`.
 * A store held by another process is `DataDirLockedError`; a corrupt or
 * unreadable one is `StoreError`. Nothing is ever repaired or wiped here.
 */
export async function openDatastore (dataDir: string): Promise<PersistentDatastore> {
  const path = join(dataDir, DATASTORE_DIR)
  // opened here rather than by LevelDatastore, which drops the error's cause
  const db = new Level<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' })
  try {
    // classic-level reads `compression`; level's own types do not list it
    const openOptions: { createIfMissing: boolean, compression: boolean } = { createIfMissing: true, compression: false }
    await db.open(openOptions)
  } catch (err: unknown) {
    const cause = err instanceof Error && err.cause != null ? err.cause : err
    const code = errorCode(cause) ?? ''
    if (code === 'LEVEL_LOCKED') {
      throw new DataDirLockedError(dataDir, `data directory ${dataDir} is in use by another running node (datastore locked); stop it first or use another --data-dir`, { cause })
    }
    if (code === 'LEVEL_CORRUPTION') {
      throw new StoreError(path, `datastore ${path} is corrupt (${errorMessage(cause)}); it was left untouched: restore it from a backup or move it away`, { cause })
    }
    throw new StoreError(path, `cannot open datastore ${path}: ${errorMessage(cause)}`, { cause })
  }
  const datastore = new PersistentDatastore(db)
  await datastore.open()
  return datastore
}

/**
 * A LevelDB datastore that follows the libp2p node's lifecycle: libp2p
 * calls `afterStop` once every service has stopped, so the last peer-store
 * and receipt writes land before the store closes and its lock is released.
 */
export class PersistentDatastore extends LevelDatastore {
  async start (): Promise<void> {
    if (this.db.status !== 'open') await this.open()
  }

  async stop (): Promise<void> {}

  async afterStop (): Promise<void> {
    await this.close()
  }
}

/** What `api.json` says about the running node: where its HTTP API is. */
export interface ApiInfo {
  /** where a client on this machine reaches the HTTP API (loopback for a wildcard bind) */
  host: string
  /** port of the HTTP API */
  port: number
  /** bearer token for the API's mutating routes (`POST /jobs`), and every route but /health and /metrics off loopback */
  token: string
  /** process id of the node */
  pid: number
  /** the node's peer id */
  peerId: string
  /** when the node started, ms */
  startedAt: number
}

/** Write `<dataDir>/api.json` (mode 0600: it holds the token). */
export async function writeApiInfo (dataDir: string, info: ApiInfo): Promise<void> {
  await writeFileAtomic(join(dataDir, API_FILE), JSON.stringify(info, null, 2) + '\n', 0o600)
}

/** Remove `api.json` at shutdown; missing is fine. */
export async function removeApiInfo (dataDir: string): Promise<void> {
  await unlink(join(dataDir, API_FILE)).catch(() => {})
}

/** Read `<dataDir>/api.json`, or undefined when no node has written it. */
export async function readApiInfo (dataDir: string): Promise<ApiInfo | undefined> {
  let text: string
  try {
    text = await readFile(join(dataDir, API_FILE), 'utf8')
  } catch {
    return undefined
  }
  try {
    const info = JSON.parse(text)
    if (typeof info?.port === 'number' && typeof info?.host === 'string') {
      return info
    }
  } catch {}
  return undefined
}
