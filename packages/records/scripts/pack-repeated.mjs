#!/usr/bin/env node
/**
 * Rewrite protons' output so repeated numeric fields are packed, as proto3
 * encodes them, and decode in both forms, as proto3 requires (see
 * src/pb/packed.ts and docs/spec.md §1). Run by `npm run generate` after
 * protons; fails loudly when protons' output no longer has the expected
 * shape, rather than leaving a field half-rewritten.
 *
 * Usage: node scripts/pack-repeated.mjs src/pb/records.proto src/pb/records.ts
 */

import { readFileSync, writeFileSync } from 'node:fs'

/** proto3 scalar type → [protons reader/writer method, wire type of one value]. */
const SCALARS = {
  double: ['double', 1],
  float: ['float', 5],
  int32: ['int32', 0],
  uint32: ['uint32', 0],
  sint32: ['sint32', 0],
  int64: ['int64', 0],
  uint64: ['uint64', 0],
  sint64: ['sint64', 0],
  fixed32: ['fixed32', 5],
  sfixed32: ['sfixed32', 5],
  fixed64: ['fixed64', 1],
  sfixed64: ['sfixed64', 1],
  bool: ['bool', 0]
}

const [protoPath, tsPath] = process.argv.slice(2)
if (protoPath == null || tsPath == null) {
  throw new Error('usage: pack-repeated.mjs <file.proto> <generated.ts>')
}

const camel = (name) => name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())

/**
 * Every distinct `repeated <scalar> name = n` of the schema (two messages with
 * the same such field share one rewrite). Throws on a repeated enum: proto3
 * packs those too, and this script does not rewrite protons' enum codecs yet.
 */
function repeatedScalars (proto) {
  const enums = new Set([...proto.matchAll(/^\s*enum\s+([A-Za-z0-9_]+)/gm)].map(m => m[1]))
  const fields = new Map()
  const re = /^\s*repeated\s+([A-Za-z0-9_.]+)\s+([A-Za-z0-9_]+)\s*=\s*(\d+)/gm
  for (const [, type, name, number] of proto.matchAll(re)) {
    if (enums.has(type)) {
      throw new Error(`pack-repeated: repeated enum field ${name} is not supported; use repeated uint32 (as JobSyncRequest.kinds does) or extend this script`)
    }
    if (SCALARS[type] != null) {
      fields.set(`${type} ${name} ${number}`, { type, name: camel(name), number: Number(number) })
    }
  }
  return [...fields.values()]
}

/** Replace every occurrence of `from`, insisting there is at least one. */
function replaceAll (source, from, to, what) {
  const parts = source.split(from)
  if (parts.length < 2) {
    throw new Error(`pack-repeated: protons output changed shape, no ${what}`)
  }
  return parts.join(to)
}

let ts = readFileSync(tsPath, 'utf8')
const fields = repeatedScalars(readFileSync(protoPath, 'utf8'))

for (const { type, name, number } of fields) {
  const [method, wireType] = SCALARS[type]
  const unpackedTag = (number << 3) | wireType
  const packedTag = (number << 3) | 2
  const limit = (prefix, count) =>
    `if (opts.limits?.${name} != null && ${count} === opts.limits.${name}) {\n` +
    `${prefix}  throw new MaxLengthError('${count.includes('length') ? 'Decode' : 'Streaming decode'} error - repeated field "${name}" had too many elements')\n` +
    `${prefix}}\n`

  // encoder: one packed run
  ts = replaceAll(ts,
    `          for (const value of obj.${name}) {\n` +
    `            w.uint32(${unpackedTag})\n` +
    `            w.${method}(value)\n` +
    '          }\n',
    `          w.uint32(${packedTag})\n` +
    '          w.fork()\n' +
    `          for (const value of obj.${name}) {\n` +
    `            w.${method}(value)\n` +
    '          }\n' +
    '          w.ldelim()\n',
    `encoder of ${name}`)

  // decoder: a packed run or one value of the scalar's wire type
  const p = '              '
  ts = replaceAll(ts,
    p + limit(p, `obj.${name}.length`) + '\n' +
    `${p}obj.${name}.push(reader.${method}())\n`,
    `${p}if ((tag & 7) === WIRE_TYPE_LENGTH_DELIMITED) {\n` +
    `${p}  const runEnd = packedEnd(reader, end)\n` +
    `${p}  while (reader.pos < runEnd) {\n` +
    `${p}    ` + limit(`${p}    `, `obj.${name}.length`) +
    `${p}    obj.${name}.push(reader.${method}())\n` +
    `${p}  }\n` +
    `${p}  checkPackedEnd(reader, runEnd)\n` +
    `${p}  break\n` +
    `${p}}\n\n` +
    `${p}expectWireType(tag, ${wireType})\n` +
    p + limit(p, `obj.${name}.length`) + '\n' +
    `${p}obj.${name}.push(reader.${method}())\n`,
    `decoder of ${name}`)

  // streaming decoder: the same, one event per value
  const event = (prefix) =>
    `${prefix}yield {\n` +
    `${prefix}  field: \`\${prefix}.${name}[]\`,\n` +
    `${prefix}  index: obj.${name},\n` +
    `${prefix}  value: reader.${method}()\n` +
    `${prefix}}\n\n` +
    `${prefix}obj.${name}++\n`
  ts = replaceAll(ts,
    p + limit(p, `obj.${name}`) + '\n' + event(p),
    `${p}if ((tag & 7) === WIRE_TYPE_LENGTH_DELIMITED) {\n` +
    `${p}  const runEnd = packedEnd(reader, end)\n` +
    `${p}  while (reader.pos < runEnd) {\n` +
    `${p}    ` + limit(`${p}    `, `obj.${name}`) + '\n' +
    event(`${p}    `) +
    `${p}  }\n` +
    `${p}  checkPackedEnd(reader, runEnd)\n` +
    `${p}  break\n` +
    `${p}}\n\n` +
    `${p}expectWireType(tag, ${wireType})\n` +
    p + limit(p, `obj.${name}`) + '\n' + event(p),
    `streaming decoder of ${name}`)
}

if (fields.length > 0) {
  ts = replaceAll(ts,
    "import type { Codec, DecodeOptions } from 'protons-runtime'\n",
    "import { checkPackedEnd, expectWireType, packedEnd, WIRE_TYPE_LENGTH_DELIMITED } from './packed.js'\n" +
    "import type { Codec, DecodeOptions } from 'protons-runtime'\n",
    'type import of protons-runtime')
}

writeFileSync(tsPath, ts)
console.log(`pack-repeated: ${fields.length} repeated scalar field(s) packed: ${fields.map(f => f.name).join(', ')}`)
