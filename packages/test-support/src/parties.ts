import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import type { PeerId, PrivateKey } from '@libp2p/interface'

/** A peer that signs records: its key, its peer id, and the id as records carry it. */
export interface Party {
  key: PrivateKey
  peerId: PeerId
  /** the peer id's multihash bytes, as the `requester` / `provider` fields of a record hold it */
  id: Uint8Array
  /** `id` in base16 */
  hex: string
}

/** A fresh Ed25519 peer. */
export async function party (): Promise<Party> {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key)
  const id = peerId.toMultihash().bytes
  return { key, peerId, id, hex: uint8ArrayToString(id, 'base16') }
}
