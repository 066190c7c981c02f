/**
 * The format of the published test vectors (test-vectors/*.json, described
 * in test-vectors/README.md), as a reader of the files sees it: what a
 * client checks itself against. Types only; field names are the files'.
 */

/** A JSON value of the vector files. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json }

/** A JSON object of the vector files. */
export type JsonObject = Record<string, Json>

/** A key made from a 32-byte seed, with its protobuf encodings and peer id. */
export interface KeyVector { name: string, seed: string, private_key: string, public_key: string, peer_id: string, peer_id_hex: string }

/** One signed record, from its fields to its envelope and id. */
export interface RecordVector<Type extends string = string> {
  type: Type
  signer: KeyVector
  fields: JsonObject
  payload: string
  payload_code: number
  payload_type: string
  domain: string
  signing_payload: string
  signature: string
  envelope: string
  record_id: string
}

/** One countersigned record (spec §1.3). */
export interface CountersignedVector<Type extends string = string> {
  type: Type
  envelope: string
  countersigner: KeyVector
  domain: string
  payload_type: string
  signing_payload: string
  signature: string
  countersigned: string
  record_id: string
}

/** records.json */
export interface RecordsFile<Type extends string = string> { now_ms: number, keys: KeyVector[], records: Array<RecordVector<Type>>, countersigned: Array<CountersignedVector<Type>> }

/** One unsigned protocol message of wire.json; `unpacked_hex` where it has repeated numbers. */
export interface WireVector<Fields = JsonObject> {
  name: string
  protocol: string
  message: string
  fields: Fields
  hex: string
  unpacked_hex?: string
  /** WorkMessage: the one body set */
  body?: string
  /** JobSyncRequest: the job board interests it encodes */
  interests?: { kinds: Array<{ name: string, number: number }>, regions: string[] }
}

/** dht-keys.json */
export interface DhtKeysFile {
  keys: Array<{ class: string, cell: string, precision: number, key: string, sha256: string, cid: string, cid_hex: string }>
  advertised: { geohash: string, precisions: number[], keys: string[] }
}

/** topics.json */
export interface TopicsFile {
  job_topics: Array<{ kind: { name: string, number: number }, global: string, regional: Array<{ region: string, topic: string }> }>
  announcements: Array<{ kind: { name: string, number: number }, region: string, global: boolean, topics: string[] }>
}
