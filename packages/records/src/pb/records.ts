import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import { checkPackedEnd, expectWireType, packedEnd, WIRE_TYPE_LENGTH_DELIMITED } from './packed.js'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export enum JobKind {
  JOB_KIND_UNSPECIFIED = 'JOB_KIND_UNSPECIFIED',
  GPU_INFERENCE = 'GPU_INFERENCE',
  GPU_BATCH = 'GPU_BATCH',
  CAPTURE = 'CAPTURE'
}

enum __JobKindValues {
  JOB_KIND_UNSPECIFIED = 0,
  GPU_INFERENCE = 1,
  GPU_BATCH = 2,
  CAPTURE = 3
}

export namespace JobKind {
  export const codec = (): Codec<JobKind> => {
    return enumeration<JobKind>(__JobKindValues)
  }
}

export interface Gpu {
  model: string
  class: string
  vramMib: number
  count: number
}

export namespace Gpu {
  let _codec: Codec<Gpu>

  export const codec = (): Codec<Gpu> => {
    if (_codec == null) {
      _codec = message<Gpu>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.model != null && obj.model !== '')) {
          w.uint32(10)
          w.string(obj.model)
        }

        if ((obj.class != null && obj.class !== '')) {
          w.uint32(18)
          w.string(obj.class)
        }

        if ((obj.vramMib != null && obj.vramMib !== 0)) {
          w.uint32(24)
          w.uint32(obj.vramMib)
        }

        if ((obj.count != null && obj.count !== 0)) {
          w.uint32(32)
          w.uint32(obj.count)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          model: '',
          class: '',
          vramMib: 0,
          count: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.model = reader.string()
              break
            }
            case 2: {
              obj.class = reader.string()
              break
            }
            case 3: {
              obj.vramMib = reader.uint32()
              break
            }
            case 4: {
              obj.count = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.model`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.class`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.vramMib`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.count`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface GpuModelFieldEvent {
    field: '$.model'
    value: string
  }

  export interface GpuClassFieldEvent {
    field: '$.class'
    value: string
  }

  export interface GpuVramMibFieldEvent {
    field: '$.vramMib'
    value: number
  }

  export interface GpuCountFieldEvent {
    field: '$.count'
    value: number
  }

  export function encode (obj: Partial<Gpu>): Uint8Array {
    return encodeMessage(obj, Gpu.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Gpu>): Gpu {
    return decodeMessage(buf, Gpu.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Gpu>): Generator<GpuModelFieldEvent | GpuClassFieldEvent | GpuVramMibFieldEvent | GpuCountFieldEvent> {
    return streamMessage(buf, Gpu.codec(), opts)
  }
}

export interface NetworkCoordinate {
  vec: number[]
  height: number
  error: number
}

export namespace NetworkCoordinate {
  let _codec: Codec<NetworkCoordinate>

  export const codec = (): Codec<NetworkCoordinate> => {
    if (_codec == null) {
      _codec = message<NetworkCoordinate>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.vec != null && obj.vec.length > 0) {
          w.uint32(10)
          w.fork()
          for (const value of obj.vec) {
            w.double(value)
          }
          w.ldelim()
        }

        if ((obj.height != null && obj.height !== 0)) {
          w.uint32(17)
          w.double(obj.height)
        }

        if ((obj.error != null && obj.error !== 0)) {
          w.uint32(25)
          w.double(obj.error)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          vec: [],
          height: 0,
          error: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if ((tag & 7) === WIRE_TYPE_LENGTH_DELIMITED) {
                const runEnd = packedEnd(reader, end)
                while (reader.pos < runEnd) {
                  if (opts.limits?.vec != null && obj.vec.length === opts.limits.vec) {
                    throw new MaxLengthError('Decode error - repeated field "vec" had too many elements')
                  }
                  obj.vec.push(reader.double())
                }
                checkPackedEnd(reader, runEnd)
                break
              }

              expectWireType(tag, 1)
              if (opts.limits?.vec != null && obj.vec.length === opts.limits.vec) {
                throw new MaxLengthError('Decode error - repeated field "vec" had too many elements')
              }

              obj.vec.push(reader.double())
              break
            }
            case 2: {
              obj.height = reader.double()
              break
            }
            case 3: {
              obj.error = reader.double()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          vec: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if ((tag & 7) === WIRE_TYPE_LENGTH_DELIMITED) {
                const runEnd = packedEnd(reader, end)
                while (reader.pos < runEnd) {
                  if (opts.limits?.vec != null && obj.vec === opts.limits.vec) {
                    throw new MaxLengthError('Streaming decode error - repeated field "vec" had too many elements')
                  }

                  yield {
                    field: `${prefix}.vec[]`,
                    index: obj.vec,
                    value: reader.double()
                  }

                  obj.vec++
                }
                checkPackedEnd(reader, runEnd)
                break
              }

              expectWireType(tag, 1)
              if (opts.limits?.vec != null && obj.vec === opts.limits.vec) {
                throw new MaxLengthError('Streaming decode error - repeated field "vec" had too many elements')
              }

              yield {
                field: `${prefix}.vec[]`,
                index: obj.vec,
                value: reader.double()
              }

              obj.vec++

              break
            }
            case 2: {
              yield {
                field: `${prefix}.height`,
                value: reader.double()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.error`,
                value: reader.double()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface NetworkCoordinateVecFieldEvent {
    field: '$.vec[]'
    index: number
    value: number
  }

  export interface NetworkCoordinateHeightFieldEvent {
    field: '$.height'
    value: number
  }

  export interface NetworkCoordinateErrorFieldEvent {
    field: '$.error'
    value: number
  }

  export function encode (obj: Partial<NetworkCoordinate>): Uint8Array {
    return encodeMessage(obj, NetworkCoordinate.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<NetworkCoordinate>): NetworkCoordinate {
    return decodeMessage(buf, NetworkCoordinate.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<NetworkCoordinate>): Generator<NetworkCoordinateVecFieldEvent | NetworkCoordinateHeightFieldEvent | NetworkCoordinateErrorFieldEvent> {
    return streamMessage(buf, NetworkCoordinate.codec(), opts)
  }
}

export interface Price {
  perUnit: number
  currency: string
  unit: string
}

export namespace Price {
  let _codec: Codec<Price>

  export const codec = (): Codec<Price> => {
    if (_codec == null) {
      _codec = message<Price>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.perUnit != null && obj.perUnit !== 0)) {
          w.uint32(8)
          w.uint64Number(obj.perUnit)
        }

        if ((obj.currency != null && obj.currency !== '')) {
          w.uint32(18)
          w.string(obj.currency)
        }

        if ((obj.unit != null && obj.unit !== '')) {
          w.uint32(26)
          w.string(obj.unit)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          perUnit: 0,
          currency: '',
          unit: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.perUnit = reader.uint64Number()
              break
            }
            case 2: {
              obj.currency = reader.string()
              break
            }
            case 3: {
              obj.unit = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.perUnit`,
                value: reader.uint64Number()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.currency`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.unit`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface PricePerUnitFieldEvent {
    field: '$.perUnit'
    value: number
  }

  export interface PriceCurrencyFieldEvent {
    field: '$.currency'
    value: string
  }

  export interface PriceUnitFieldEvent {
    field: '$.unit'
    value: string
  }

  export function encode (obj: Partial<Price>): Uint8Array {
    return encodeMessage(obj, Price.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Price>): Price {
    return decodeMessage(buf, Price.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Price>): Generator<PricePerUnitFieldEvent | PriceCurrencyFieldEvent | PriceUnitFieldEvent> {
    return streamMessage(buf, Price.codec(), opts)
  }
}

export interface Requirements {
  gpuModel: string
  gpuClass: string
  minVramMib: number
  gpuCount: number
  sensors: string[]
  region: string
  maxRttMs: number
}

export namespace Requirements {
  let _codec: Codec<Requirements>

  export const codec = (): Codec<Requirements> => {
    if (_codec == null) {
      _codec = message<Requirements>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.gpuModel != null && obj.gpuModel !== '')) {
          w.uint32(10)
          w.string(obj.gpuModel)
        }

        if ((obj.gpuClass != null && obj.gpuClass !== '')) {
          w.uint32(18)
          w.string(obj.gpuClass)
        }

        if ((obj.minVramMib != null && obj.minVramMib !== 0)) {
          w.uint32(24)
          w.uint32(obj.minVramMib)
        }

        if ((obj.gpuCount != null && obj.gpuCount !== 0)) {
          w.uint32(32)
          w.uint32(obj.gpuCount)
        }

        if (obj.sensors != null && obj.sensors.length > 0) {
          for (const value of obj.sensors) {
            w.uint32(42)
            w.string(value)
          }
        }

        if ((obj.region != null && obj.region !== '')) {
          w.uint32(50)
          w.string(obj.region)
        }

        if ((obj.maxRttMs != null && obj.maxRttMs !== 0)) {
          w.uint32(56)
          w.uint32(obj.maxRttMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          gpuModel: '',
          gpuClass: '',
          minVramMib: 0,
          gpuCount: 0,
          sensors: [],
          region: '',
          maxRttMs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.gpuModel = reader.string()
              break
            }
            case 2: {
              obj.gpuClass = reader.string()
              break
            }
            case 3: {
              obj.minVramMib = reader.uint32()
              break
            }
            case 4: {
              obj.gpuCount = reader.uint32()
              break
            }
            case 5: {
              if (opts.limits?.sensors != null && obj.sensors.length === opts.limits.sensors) {
                throw new MaxLengthError('Decode error - repeated field "sensors" had too many elements')
              }

              obj.sensors.push(reader.string())
              break
            }
            case 6: {
              obj.region = reader.string()
              break
            }
            case 7: {
              obj.maxRttMs = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          sensors: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.gpuModel`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.gpuClass`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.minVramMib`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.gpuCount`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              if (opts.limits?.sensors != null && obj.sensors === opts.limits.sensors) {
                throw new MaxLengthError('Streaming decode error - repeated field "sensors" had too many elements')
              }

              yield {
                field: `${prefix}.sensors[]`,
                index: obj.sensors,
                value: reader.string()
              }

              obj.sensors++

              break
            }
            case 6: {
              yield {
                field: `${prefix}.region`,
                value: reader.string()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.maxRttMs`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface RequirementsGpuModelFieldEvent {
    field: '$.gpuModel'
    value: string
  }

  export interface RequirementsGpuClassFieldEvent {
    field: '$.gpuClass'
    value: string
  }

  export interface RequirementsMinVramMibFieldEvent {
    field: '$.minVramMib'
    value: number
  }

  export interface RequirementsGpuCountFieldEvent {
    field: '$.gpuCount'
    value: number
  }

  export interface RequirementsSensorsFieldEvent {
    field: '$.sensors[]'
    index: number
    value: string
  }

  export interface RequirementsRegionFieldEvent {
    field: '$.region'
    value: string
  }

  export interface RequirementsMaxRttMsFieldEvent {
    field: '$.maxRttMs'
    value: number
  }

  export function encode (obj: Partial<Requirements>): Uint8Array {
    return encodeMessage(obj, Requirements.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Requirements>): Requirements {
    return decodeMessage(buf, Requirements.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Requirements>): Generator<RequirementsGpuModelFieldEvent | RequirementsGpuClassFieldEvent | RequirementsMinVramMibFieldEvent | RequirementsGpuCountFieldEvent | RequirementsSensorsFieldEvent | RequirementsRegionFieldEvent | RequirementsMaxRttMsFieldEvent> {
    return streamMessage(buf, Requirements.codec(), opts)
  }
}

export interface JobAnnouncement {
  version: number
  jobId: Uint8Array
  requester: Uint8Array
  kind: JobKind
  requirements?: Requirements
  priceCeiling?: Price
  budget: number
  deadlineMs: number
  createdMs: number
  expiresMs: number
  description: string
  inputHash: Uint8Array
  inputBytes: number
  workload: string
}

export namespace JobAnnouncement {
  let _codec: Codec<JobAnnouncement>

  export const codec = (): Codec<JobAnnouncement> => {
    if (_codec == null) {
      _codec = message<JobAnnouncement>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.jobId != null && obj.jobId.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.jobId)
        }

        if ((obj.requester != null && obj.requester.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.requester)
        }

        if (obj.kind != null && __JobKindValues[obj.kind] !== 0) {
          w.uint32(32)
          JobKind.codec().encode(obj.kind, w)
        }

        if (obj.requirements != null) {
          w.uint32(42)
          Requirements.codec().encode(obj.requirements, w)
        }

        if (obj.priceCeiling != null) {
          w.uint32(50)
          Price.codec().encode(obj.priceCeiling, w)
        }

        if ((obj.budget != null && obj.budget !== 0)) {
          w.uint32(56)
          w.uint64Number(obj.budget)
        }

        if ((obj.deadlineMs != null && obj.deadlineMs !== 0)) {
          w.uint32(64)
          w.uint64Number(obj.deadlineMs)
        }

        if ((obj.createdMs != null && obj.createdMs !== 0)) {
          w.uint32(72)
          w.uint64Number(obj.createdMs)
        }

        if ((obj.expiresMs != null && obj.expiresMs !== 0)) {
          w.uint32(80)
          w.uint64Number(obj.expiresMs)
        }

        if ((obj.description != null && obj.description !== '')) {
          w.uint32(90)
          w.string(obj.description)
        }

        if ((obj.inputHash != null && obj.inputHash.byteLength > 0)) {
          w.uint32(98)
          w.bytes(obj.inputHash)
        }

        if ((obj.inputBytes != null && obj.inputBytes !== 0)) {
          w.uint32(104)
          w.uint64Number(obj.inputBytes)
        }

        if ((obj.workload != null && obj.workload !== '')) {
          w.uint32(114)
          w.string(obj.workload)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          jobId: uint8ArrayAlloc(0),
          requester: uint8ArrayAlloc(0),
          kind: JobKind.JOB_KIND_UNSPECIFIED,
          budget: 0,
          deadlineMs: 0,
          createdMs: 0,
          expiresMs: 0,
          description: '',
          inputHash: uint8ArrayAlloc(0),
          inputBytes: 0,
          workload: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.jobId = reader.bytes()
              break
            }
            case 3: {
              obj.requester = reader.bytes()
              break
            }
            case 4: {
              obj.kind = JobKind.codec().decode(reader)
              break
            }
            case 5: {
              obj.requirements = Requirements.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.requirements
              })
              break
            }
            case 6: {
              obj.priceCeiling = Price.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.priceCeiling
              })
              break
            }
            case 7: {
              obj.budget = reader.uint64Number()
              break
            }
            case 8: {
              obj.deadlineMs = reader.uint64Number()
              break
            }
            case 9: {
              obj.createdMs = reader.uint64Number()
              break
            }
            case 10: {
              obj.expiresMs = reader.uint64Number()
              break
            }
            case 11: {
              obj.description = reader.string()
              break
            }
            case 12: {
              obj.inputHash = reader.bytes()
              break
            }
            case 13: {
              obj.inputBytes = reader.uint64Number()
              break
            }
            case 14: {
              obj.workload = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.requester`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.kind`,
                value: JobKind.codec().decode(reader)
              }
              break
            }
            case 5: {
              yield * Requirements.codec().stream(reader, reader.uint32(), `${prefix}.requirements`, {
                limits: opts.limits?.requirements
              })

              break
            }
            case 6: {
              yield * Price.codec().stream(reader, reader.uint32(), `${prefix}.priceCeiling`, {
                limits: opts.limits?.priceCeiling
              })

              break
            }
            case 7: {
              yield {
                field: `${prefix}.budget`,
                value: reader.uint64Number()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.deadlineMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.createdMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.expiresMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.description`,
                value: reader.string()
              }
              break
            }
            case 12: {
              yield {
                field: `${prefix}.inputHash`,
                value: reader.bytes()
              }
              break
            }
            case 13: {
              yield {
                field: `${prefix}.inputBytes`,
                value: reader.uint64Number()
              }
              break
            }
            case 14: {
              yield {
                field: `${prefix}.workload`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface JobAnnouncementVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface JobAnnouncementJobIdFieldEvent {
    field: '$.jobId'
    value: Uint8Array
  }

  export interface JobAnnouncementRequesterFieldEvent {
    field: '$.requester'
    value: Uint8Array
  }

  export interface JobAnnouncementKindFieldEvent {
    field: '$.kind'
    value: JobKind
  }

  export interface JobAnnouncementRequirementsGpuModelFieldEvent {
    field: '$.requirements.gpuModel'
    value: string
  }

  export interface JobAnnouncementRequirementsGpuClassFieldEvent {
    field: '$.requirements.gpuClass'
    value: string
  }

  export interface JobAnnouncementRequirementsMinVramMibFieldEvent {
    field: '$.requirements.minVramMib'
    value: number
  }

  export interface JobAnnouncementRequirementsGpuCountFieldEvent {
    field: '$.requirements.gpuCount'
    value: number
  }

  export interface JobAnnouncementRequirementsSensorsFieldEvent {
    field: '$.requirements.sensors[]'
    index: number
    value: string
  }

  export interface JobAnnouncementRequirementsRegionFieldEvent {
    field: '$.requirements.region'
    value: string
  }

  export interface JobAnnouncementRequirementsMaxRttMsFieldEvent {
    field: '$.requirements.maxRttMs'
    value: number
  }

  export interface JobAnnouncementPriceCeilingPerUnitFieldEvent {
    field: '$.priceCeiling.perUnit'
    value: number
  }

  export interface JobAnnouncementPriceCeilingCurrencyFieldEvent {
    field: '$.priceCeiling.currency'
    value: string
  }

  export interface JobAnnouncementPriceCeilingUnitFieldEvent {
    field: '$.priceCeiling.unit'
    value: string
  }

  export interface JobAnnouncementBudgetFieldEvent {
    field: '$.budget'
    value: number
  }

  export interface JobAnnouncementDeadlineMsFieldEvent {
    field: '$.deadlineMs'
    value: number
  }

  export interface JobAnnouncementCreatedMsFieldEvent {
    field: '$.createdMs'
    value: number
  }

  export interface JobAnnouncementExpiresMsFieldEvent {
    field: '$.expiresMs'
    value: number
  }

  export interface JobAnnouncementDescriptionFieldEvent {
    field: '$.description'
    value: string
  }

  export interface JobAnnouncementInputHashFieldEvent {
    field: '$.inputHash'
    value: Uint8Array
  }

  export interface JobAnnouncementInputBytesFieldEvent {
    field: '$.inputBytes'
    value: number
  }

  export interface JobAnnouncementWorkloadFieldEvent {
    field: '$.workload'
    value: string
  }

  export function encode (obj: Partial<JobAnnouncement>): Uint8Array {
    return encodeMessage(obj, JobAnnouncement.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobAnnouncement>): JobAnnouncement {
    return decodeMessage(buf, JobAnnouncement.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobAnnouncement>): Generator<JobAnnouncementVersionFieldEvent | JobAnnouncementJobIdFieldEvent | JobAnnouncementRequesterFieldEvent | JobAnnouncementKindFieldEvent | JobAnnouncementRequirementsGpuModelFieldEvent | JobAnnouncementRequirementsGpuClassFieldEvent | JobAnnouncementRequirementsMinVramMibFieldEvent | JobAnnouncementRequirementsGpuCountFieldEvent | JobAnnouncementRequirementsSensorsFieldEvent | JobAnnouncementRequirementsRegionFieldEvent | JobAnnouncementRequirementsMaxRttMsFieldEvent | JobAnnouncementPriceCeilingPerUnitFieldEvent | JobAnnouncementPriceCeilingCurrencyFieldEvent | JobAnnouncementPriceCeilingUnitFieldEvent | JobAnnouncementBudgetFieldEvent | JobAnnouncementDeadlineMsFieldEvent | JobAnnouncementCreatedMsFieldEvent | JobAnnouncementExpiresMsFieldEvent | JobAnnouncementDescriptionFieldEvent | JobAnnouncementInputHashFieldEvent | JobAnnouncementInputBytesFieldEvent | JobAnnouncementWorkloadFieldEvent> {
    return streamMessage(buf, JobAnnouncement.codec(), opts)
  }
}

export interface JobWithdrawal {
  version: number
  jobId: Uint8Array
  requester: Uint8Array
  createdMs: number
}

export namespace JobWithdrawal {
  let _codec: Codec<JobWithdrawal>

  export const codec = (): Codec<JobWithdrawal> => {
    if (_codec == null) {
      _codec = message<JobWithdrawal>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.jobId != null && obj.jobId.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.jobId)
        }

        if ((obj.requester != null && obj.requester.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.requester)
        }

        if ((obj.createdMs != null && obj.createdMs !== 0)) {
          w.uint32(32)
          w.uint64Number(obj.createdMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          jobId: uint8ArrayAlloc(0),
          requester: uint8ArrayAlloc(0),
          createdMs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.jobId = reader.bytes()
              break
            }
            case 3: {
              obj.requester = reader.bytes()
              break
            }
            case 4: {
              obj.createdMs = reader.uint64Number()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.requester`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.createdMs`,
                value: reader.uint64Number()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface JobWithdrawalVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface JobWithdrawalJobIdFieldEvent {
    field: '$.jobId'
    value: Uint8Array
  }

  export interface JobWithdrawalRequesterFieldEvent {
    field: '$.requester'
    value: Uint8Array
  }

  export interface JobWithdrawalCreatedMsFieldEvent {
    field: '$.createdMs'
    value: number
  }

  export function encode (obj: Partial<JobWithdrawal>): Uint8Array {
    return encodeMessage(obj, JobWithdrawal.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobWithdrawal>): JobWithdrawal {
    return decodeMessage(buf, JobWithdrawal.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobWithdrawal>): Generator<JobWithdrawalVersionFieldEvent | JobWithdrawalJobIdFieldEvent | JobWithdrawalRequesterFieldEvent | JobWithdrawalCreatedMsFieldEvent> {
    return streamMessage(buf, JobWithdrawal.codec(), opts)
  }
}

export interface JobSyncRequest {
  kinds: number[]
  regions: string[]
}

export namespace JobSyncRequest {
  let _codec: Codec<JobSyncRequest>

  export const codec = (): Codec<JobSyncRequest> => {
    if (_codec == null) {
      _codec = message<JobSyncRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.kinds != null && obj.kinds.length > 0) {
          w.uint32(10)
          w.fork()
          for (const value of obj.kinds) {
            w.uint32(value)
          }
          w.ldelim()
        }

        if (obj.regions != null && obj.regions.length > 0) {
          for (const value of obj.regions) {
            w.uint32(18)
            w.string(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          kinds: [],
          regions: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if ((tag & 7) === WIRE_TYPE_LENGTH_DELIMITED) {
                const runEnd = packedEnd(reader, end)
                while (reader.pos < runEnd) {
                  if (opts.limits?.kinds != null && obj.kinds.length === opts.limits.kinds) {
                    throw new MaxLengthError('Decode error - repeated field "kinds" had too many elements')
                  }
                  obj.kinds.push(reader.uint32())
                }
                checkPackedEnd(reader, runEnd)
                break
              }

              expectWireType(tag, 0)
              if (opts.limits?.kinds != null && obj.kinds.length === opts.limits.kinds) {
                throw new MaxLengthError('Decode error - repeated field "kinds" had too many elements')
              }

              obj.kinds.push(reader.uint32())
              break
            }
            case 2: {
              if (opts.limits?.regions != null && obj.regions.length === opts.limits.regions) {
                throw new MaxLengthError('Decode error - repeated field "regions" had too many elements')
              }

              obj.regions.push(reader.string())
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          kinds: 0,
          regions: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if ((tag & 7) === WIRE_TYPE_LENGTH_DELIMITED) {
                const runEnd = packedEnd(reader, end)
                while (reader.pos < runEnd) {
                  if (opts.limits?.kinds != null && obj.kinds === opts.limits.kinds) {
                    throw new MaxLengthError('Streaming decode error - repeated field "kinds" had too many elements')
                  }

                  yield {
                    field: `${prefix}.kinds[]`,
                    index: obj.kinds,
                    value: reader.uint32()
                  }

                  obj.kinds++
                }
                checkPackedEnd(reader, runEnd)
                break
              }

              expectWireType(tag, 0)
              if (opts.limits?.kinds != null && obj.kinds === opts.limits.kinds) {
                throw new MaxLengthError('Streaming decode error - repeated field "kinds" had too many elements')
              }

              yield {
                field: `${prefix}.kinds[]`,
                index: obj.kinds,
                value: reader.uint32()
              }

              obj.kinds++

              break
            }
            case 2: {
              if (opts.limits?.regions != null && obj.regions === opts.limits.regions) {
                throw new MaxLengthError('Streaming decode error - repeated field "regions" had too many elements')
              }

              yield {
                field: `${prefix}.regions[]`,
                index: obj.regions,
                value: reader.string()
              }

              obj.regions++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface JobSyncRequestKindsFieldEvent {
    field: '$.kinds[]'
    index: number
    value: number
  }

  export interface JobSyncRequestRegionsFieldEvent {
    field: '$.regions[]'
    index: number
    value: string
  }

  export function encode (obj: Partial<JobSyncRequest>): Uint8Array {
    return encodeMessage(obj, JobSyncRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobSyncRequest>): JobSyncRequest {
    return decodeMessage(buf, JobSyncRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobSyncRequest>): Generator<JobSyncRequestKindsFieldEvent | JobSyncRequestRegionsFieldEvent> {
    return streamMessage(buf, JobSyncRequest.codec(), opts)
  }
}

export interface CapabilityRecord {
  version: number
  provider: Uint8Array
  seq: number
  gpus: Gpu[]
  sensors: string[]
  geohash: string
  coordinate?: NetworkCoordinate
  price?: Price
  concurrency: number
  freeSlots: number
  addrs: Uint8Array[]
  createdMs: number
  expiresMs: number
}

export namespace CapabilityRecord {
  let _codec: Codec<CapabilityRecord>

  export const codec = (): Codec<CapabilityRecord> => {
    if (_codec == null) {
      _codec = message<CapabilityRecord>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.provider != null && obj.provider.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.provider)
        }

        if ((obj.seq != null && obj.seq !== 0)) {
          w.uint32(24)
          w.uint64Number(obj.seq)
        }

        if (obj.gpus != null && obj.gpus.length > 0) {
          for (const value of obj.gpus) {
            w.uint32(34)
            Gpu.codec().encode(value, w)
          }
        }

        if (obj.sensors != null && obj.sensors.length > 0) {
          for (const value of obj.sensors) {
            w.uint32(42)
            w.string(value)
          }
        }

        if ((obj.geohash != null && obj.geohash !== '')) {
          w.uint32(50)
          w.string(obj.geohash)
        }

        if (obj.coordinate != null) {
          w.uint32(58)
          NetworkCoordinate.codec().encode(obj.coordinate, w)
        }

        if (obj.price != null) {
          w.uint32(66)
          Price.codec().encode(obj.price, w)
        }

        if ((obj.concurrency != null && obj.concurrency !== 0)) {
          w.uint32(72)
          w.uint32(obj.concurrency)
        }

        if ((obj.freeSlots != null && obj.freeSlots !== 0)) {
          w.uint32(80)
          w.uint32(obj.freeSlots)
        }

        if (obj.addrs != null && obj.addrs.length > 0) {
          for (const value of obj.addrs) {
            w.uint32(90)
            w.bytes(value)
          }
        }

        if ((obj.createdMs != null && obj.createdMs !== 0)) {
          w.uint32(96)
          w.uint64Number(obj.createdMs)
        }

        if ((obj.expiresMs != null && obj.expiresMs !== 0)) {
          w.uint32(104)
          w.uint64Number(obj.expiresMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          provider: uint8ArrayAlloc(0),
          seq: 0,
          gpus: [],
          sensors: [],
          geohash: '',
          concurrency: 0,
          freeSlots: 0,
          addrs: [],
          createdMs: 0,
          expiresMs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.provider = reader.bytes()
              break
            }
            case 3: {
              obj.seq = reader.uint64Number()
              break
            }
            case 4: {
              if (opts.limits?.gpus != null && obj.gpus.length === opts.limits.gpus) {
                throw new MaxLengthError('Decode error - repeated field "gpus" had too many elements')
              }

              obj.gpus.push(Gpu.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.gpus$
              }))
              break
            }
            case 5: {
              if (opts.limits?.sensors != null && obj.sensors.length === opts.limits.sensors) {
                throw new MaxLengthError('Decode error - repeated field "sensors" had too many elements')
              }

              obj.sensors.push(reader.string())
              break
            }
            case 6: {
              obj.geohash = reader.string()
              break
            }
            case 7: {
              obj.coordinate = NetworkCoordinate.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.coordinate
              })
              break
            }
            case 8: {
              obj.price = Price.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.price
              })
              break
            }
            case 9: {
              obj.concurrency = reader.uint32()
              break
            }
            case 10: {
              obj.freeSlots = reader.uint32()
              break
            }
            case 11: {
              if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              obj.addrs.push(reader.bytes())
              break
            }
            case 12: {
              obj.createdMs = reader.uint64Number()
              break
            }
            case 13: {
              obj.expiresMs = reader.uint64Number()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          gpus: 0,
          sensors: 0,
          addrs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.provider`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint64Number()
              }
              break
            }
            case 4: {
              if (opts.limits?.gpus != null && obj.gpus === opts.limits.gpus) {
                throw new MaxLengthError('Streaming decode error - repeated field "gpus" had too many elements')
              }

              for (const evt of Gpu.codec().stream(reader, reader.uint32(), `${prefix}.gpus[]`, {
                limits: opts.limits?.gpus$
              })) {
                yield {
                  ...evt,
                  index: obj.gpus
                }
              }

              obj.gpus++

              break
            }
            case 5: {
              if (opts.limits?.sensors != null && obj.sensors === opts.limits.sensors) {
                throw new MaxLengthError('Streaming decode error - repeated field "sensors" had too many elements')
              }

              yield {
                field: `${prefix}.sensors[]`,
                index: obj.sensors,
                value: reader.string()
              }

              obj.sensors++

              break
            }
            case 6: {
              yield {
                field: `${prefix}.geohash`,
                value: reader.string()
              }
              break
            }
            case 7: {
              yield * NetworkCoordinate.codec().stream(reader, reader.uint32(), `${prefix}.coordinate`, {
                limits: opts.limits?.coordinate
              })

              break
            }
            case 8: {
              yield * Price.codec().stream(reader, reader.uint32(), `${prefix}.price`, {
                limits: opts.limits?.price
              })

              break
            }
            case 9: {
              yield {
                field: `${prefix}.concurrency`,
                value: reader.uint32()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.freeSlots`,
                value: reader.uint32()
              }
              break
            }
            case 11: {
              if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              yield {
                field: `${prefix}.addrs[]`,
                index: obj.addrs,
                value: reader.bytes()
              }

              obj.addrs++

              break
            }
            case 12: {
              yield {
                field: `${prefix}.createdMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 13: {
              yield {
                field: `${prefix}.expiresMs`,
                value: reader.uint64Number()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CapabilityRecordVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface CapabilityRecordProviderFieldEvent {
    field: '$.provider'
    value: Uint8Array
  }

  export interface CapabilityRecordSeqFieldEvent {
    field: '$.seq'
    value: number
  }

  export interface CapabilityRecordGpusModelFieldEvent {
    field: '$.gpus[].model'
    value: string
    index: number
  }

  export interface CapabilityRecordGpusClassFieldEvent {
    field: '$.gpus[].class'
    value: string
    index: number
  }

  export interface CapabilityRecordGpusVramMibFieldEvent {
    field: '$.gpus[].vramMib'
    value: number
    index: number
  }

  export interface CapabilityRecordGpusCountFieldEvent {
    field: '$.gpus[].count'
    value: number
    index: number
  }

  export interface CapabilityRecordSensorsFieldEvent {
    field: '$.sensors[]'
    index: number
    value: string
  }

  export interface CapabilityRecordGeohashFieldEvent {
    field: '$.geohash'
    value: string
  }

  export interface CapabilityRecordCoordinateVecFieldEvent {
    field: '$.coordinate.vec[]'
    index: number
    value: number
  }

  export interface CapabilityRecordCoordinateHeightFieldEvent {
    field: '$.coordinate.height'
    value: number
  }

  export interface CapabilityRecordCoordinateErrorFieldEvent {
    field: '$.coordinate.error'
    value: number
  }

  export interface CapabilityRecordPricePerUnitFieldEvent {
    field: '$.price.perUnit'
    value: number
  }

  export interface CapabilityRecordPriceCurrencyFieldEvent {
    field: '$.price.currency'
    value: string
  }

  export interface CapabilityRecordPriceUnitFieldEvent {
    field: '$.price.unit'
    value: string
  }

  export interface CapabilityRecordConcurrencyFieldEvent {
    field: '$.concurrency'
    value: number
  }

  export interface CapabilityRecordFreeSlotsFieldEvent {
    field: '$.freeSlots'
    value: number
  }

  export interface CapabilityRecordAddrsFieldEvent {
    field: '$.addrs[]'
    index: number
    value: Uint8Array
  }

  export interface CapabilityRecordCreatedMsFieldEvent {
    field: '$.createdMs'
    value: number
  }

  export interface CapabilityRecordExpiresMsFieldEvent {
    field: '$.expiresMs'
    value: number
  }

  export function encode (obj: Partial<CapabilityRecord>): Uint8Array {
    return encodeMessage(obj, CapabilityRecord.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapabilityRecord>): CapabilityRecord {
    return decodeMessage(buf, CapabilityRecord.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapabilityRecord>): Generator<CapabilityRecordVersionFieldEvent | CapabilityRecordProviderFieldEvent | CapabilityRecordSeqFieldEvent | CapabilityRecordGpusModelFieldEvent | CapabilityRecordGpusClassFieldEvent | CapabilityRecordGpusVramMibFieldEvent | CapabilityRecordGpusCountFieldEvent | CapabilityRecordSensorsFieldEvent | CapabilityRecordGeohashFieldEvent | CapabilityRecordCoordinateVecFieldEvent | CapabilityRecordCoordinateHeightFieldEvent | CapabilityRecordCoordinateErrorFieldEvent | CapabilityRecordPricePerUnitFieldEvent | CapabilityRecordPriceCurrencyFieldEvent | CapabilityRecordPriceUnitFieldEvent | CapabilityRecordConcurrencyFieldEvent | CapabilityRecordFreeSlotsFieldEvent | CapabilityRecordAddrsFieldEvent | CapabilityRecordCreatedMsFieldEvent | CapabilityRecordExpiresMsFieldEvent> {
    return streamMessage(buf, CapabilityRecord.codec(), opts)
  }
}

export interface Quote {
  version: number
  jobId: Uint8Array
  requester: Uint8Array
  provider: Uint8Array
  price?: Price
  estUnits: number
  etaMs: number
  freeSlots: number
  createdMs: number
  expiresMs: number
  nonce: Uint8Array
}

export namespace Quote {
  let _codec: Codec<Quote>

  export const codec = (): Codec<Quote> => {
    if (_codec == null) {
      _codec = message<Quote>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.jobId != null && obj.jobId.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.jobId)
        }

        if ((obj.requester != null && obj.requester.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.requester)
        }

        if ((obj.provider != null && obj.provider.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.provider)
        }

        if (obj.price != null) {
          w.uint32(42)
          Price.codec().encode(obj.price, w)
        }

        if ((obj.estUnits != null && obj.estUnits !== 0)) {
          w.uint32(48)
          w.uint64Number(obj.estUnits)
        }

        if ((obj.etaMs != null && obj.etaMs !== 0)) {
          w.uint32(56)
          w.uint32(obj.etaMs)
        }

        if ((obj.freeSlots != null && obj.freeSlots !== 0)) {
          w.uint32(64)
          w.uint32(obj.freeSlots)
        }

        if ((obj.createdMs != null && obj.createdMs !== 0)) {
          w.uint32(72)
          w.uint64Number(obj.createdMs)
        }

        if ((obj.expiresMs != null && obj.expiresMs !== 0)) {
          w.uint32(80)
          w.uint64Number(obj.expiresMs)
        }

        if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
          w.uint32(90)
          w.bytes(obj.nonce)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          jobId: uint8ArrayAlloc(0),
          requester: uint8ArrayAlloc(0),
          provider: uint8ArrayAlloc(0),
          estUnits: 0,
          etaMs: 0,
          freeSlots: 0,
          createdMs: 0,
          expiresMs: 0,
          nonce: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.jobId = reader.bytes()
              break
            }
            case 3: {
              obj.requester = reader.bytes()
              break
            }
            case 4: {
              obj.provider = reader.bytes()
              break
            }
            case 5: {
              obj.price = Price.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.price
              })
              break
            }
            case 6: {
              obj.estUnits = reader.uint64Number()
              break
            }
            case 7: {
              obj.etaMs = reader.uint32()
              break
            }
            case 8: {
              obj.freeSlots = reader.uint32()
              break
            }
            case 9: {
              obj.createdMs = reader.uint64Number()
              break
            }
            case 10: {
              obj.expiresMs = reader.uint64Number()
              break
            }
            case 11: {
              obj.nonce = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.requester`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.provider`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield * Price.codec().stream(reader, reader.uint32(), `${prefix}.price`, {
                limits: opts.limits?.price
              })

              break
            }
            case 6: {
              yield {
                field: `${prefix}.estUnits`,
                value: reader.uint64Number()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.etaMs`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.freeSlots`,
                value: reader.uint32()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.createdMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.expiresMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.nonce`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface QuoteVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface QuoteJobIdFieldEvent {
    field: '$.jobId'
    value: Uint8Array
  }

  export interface QuoteRequesterFieldEvent {
    field: '$.requester'
    value: Uint8Array
  }

  export interface QuoteProviderFieldEvent {
    field: '$.provider'
    value: Uint8Array
  }

  export interface QuotePricePerUnitFieldEvent {
    field: '$.price.perUnit'
    value: number
  }

  export interface QuotePriceCurrencyFieldEvent {
    field: '$.price.currency'
    value: string
  }

  export interface QuotePriceUnitFieldEvent {
    field: '$.price.unit'
    value: string
  }

  export interface QuoteEstUnitsFieldEvent {
    field: '$.estUnits'
    value: number
  }

  export interface QuoteEtaMsFieldEvent {
    field: '$.etaMs'
    value: number
  }

  export interface QuoteFreeSlotsFieldEvent {
    field: '$.freeSlots'
    value: number
  }

  export interface QuoteCreatedMsFieldEvent {
    field: '$.createdMs'
    value: number
  }

  export interface QuoteExpiresMsFieldEvent {
    field: '$.expiresMs'
    value: number
  }

  export interface QuoteNonceFieldEvent {
    field: '$.nonce'
    value: Uint8Array
  }

  export function encode (obj: Partial<Quote>): Uint8Array {
    return encodeMessage(obj, Quote.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Quote>): Quote {
    return decodeMessage(buf, Quote.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Quote>): Generator<QuoteVersionFieldEvent | QuoteJobIdFieldEvent | QuoteRequesterFieldEvent | QuoteProviderFieldEvent | QuotePricePerUnitFieldEvent | QuotePriceCurrencyFieldEvent | QuotePriceUnitFieldEvent | QuoteEstUnitsFieldEvent | QuoteEtaMsFieldEvent | QuoteFreeSlotsFieldEvent | QuoteCreatedMsFieldEvent | QuoteExpiresMsFieldEvent | QuoteNonceFieldEvent> {
    return streamMessage(buf, Quote.codec(), opts)
  }
}

export interface Assignment {
  version: number
  jobId: Uint8Array
  requester: Uint8Array
  provider: Uint8Array
  quote: Uint8Array
  maxUnits: number
  inputHash: Uint8Array
  createdMs: number
  expiresMs: number
  nonce: Uint8Array
}

export namespace Assignment {
  let _codec: Codec<Assignment>

  export const codec = (): Codec<Assignment> => {
    if (_codec == null) {
      _codec = message<Assignment>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.jobId != null && obj.jobId.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.jobId)
        }

        if ((obj.requester != null && obj.requester.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.requester)
        }

        if ((obj.provider != null && obj.provider.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.provider)
        }

        if ((obj.quote != null && obj.quote.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.quote)
        }

        if ((obj.maxUnits != null && obj.maxUnits !== 0)) {
          w.uint32(48)
          w.uint64Number(obj.maxUnits)
        }

        if ((obj.inputHash != null && obj.inputHash.byteLength > 0)) {
          w.uint32(58)
          w.bytes(obj.inputHash)
        }

        if ((obj.createdMs != null && obj.createdMs !== 0)) {
          w.uint32(64)
          w.uint64Number(obj.createdMs)
        }

        if ((obj.expiresMs != null && obj.expiresMs !== 0)) {
          w.uint32(72)
          w.uint64Number(obj.expiresMs)
        }

        if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
          w.uint32(82)
          w.bytes(obj.nonce)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          jobId: uint8ArrayAlloc(0),
          requester: uint8ArrayAlloc(0),
          provider: uint8ArrayAlloc(0),
          quote: uint8ArrayAlloc(0),
          maxUnits: 0,
          inputHash: uint8ArrayAlloc(0),
          createdMs: 0,
          expiresMs: 0,
          nonce: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.jobId = reader.bytes()
              break
            }
            case 3: {
              obj.requester = reader.bytes()
              break
            }
            case 4: {
              obj.provider = reader.bytes()
              break
            }
            case 5: {
              obj.quote = reader.bytes()
              break
            }
            case 6: {
              obj.maxUnits = reader.uint64Number()
              break
            }
            case 7: {
              obj.inputHash = reader.bytes()
              break
            }
            case 8: {
              obj.createdMs = reader.uint64Number()
              break
            }
            case 9: {
              obj.expiresMs = reader.uint64Number()
              break
            }
            case 10: {
              obj.nonce = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.requester`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.provider`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.quote`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.maxUnits`,
                value: reader.uint64Number()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.inputHash`,
                value: reader.bytes()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.createdMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.expiresMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.nonce`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface AssignmentVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface AssignmentJobIdFieldEvent {
    field: '$.jobId'
    value: Uint8Array
  }

  export interface AssignmentRequesterFieldEvent {
    field: '$.requester'
    value: Uint8Array
  }

  export interface AssignmentProviderFieldEvent {
    field: '$.provider'
    value: Uint8Array
  }

  export interface AssignmentQuoteFieldEvent {
    field: '$.quote'
    value: Uint8Array
  }

  export interface AssignmentMaxUnitsFieldEvent {
    field: '$.maxUnits'
    value: number
  }

  export interface AssignmentInputHashFieldEvent {
    field: '$.inputHash'
    value: Uint8Array
  }

  export interface AssignmentCreatedMsFieldEvent {
    field: '$.createdMs'
    value: number
  }

  export interface AssignmentExpiresMsFieldEvent {
    field: '$.expiresMs'
    value: number
  }

  export interface AssignmentNonceFieldEvent {
    field: '$.nonce'
    value: Uint8Array
  }

  export function encode (obj: Partial<Assignment>): Uint8Array {
    return encodeMessage(obj, Assignment.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Assignment>): Assignment {
    return decodeMessage(buf, Assignment.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Assignment>): Generator<AssignmentVersionFieldEvent | AssignmentJobIdFieldEvent | AssignmentRequesterFieldEvent | AssignmentProviderFieldEvent | AssignmentQuoteFieldEvent | AssignmentMaxUnitsFieldEvent | AssignmentInputHashFieldEvent | AssignmentCreatedMsFieldEvent | AssignmentExpiresMsFieldEvent | AssignmentNonceFieldEvent> {
    return streamMessage(buf, Assignment.codec(), opts)
  }
}

export interface WorkReceipt {
  version: number
  jobId: Uint8Array
  assignmentId: Uint8Array
  requester: Uint8Array
  provider: Uint8Array
  units: number
  price?: Price
  total: number
  resultHash: Uint8Array
  startedMs: number
  endedMs: number
  status: number
  prev: Uint8Array
}

export namespace WorkReceipt {
  let _codec: Codec<WorkReceipt>

  export const codec = (): Codec<WorkReceipt> => {
    if (_codec == null) {
      _codec = message<WorkReceipt>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.jobId != null && obj.jobId.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.jobId)
        }

        if ((obj.assignmentId != null && obj.assignmentId.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.assignmentId)
        }

        if ((obj.requester != null && obj.requester.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.requester)
        }

        if ((obj.provider != null && obj.provider.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.provider)
        }

        if ((obj.units != null && obj.units !== 0)) {
          w.uint32(48)
          w.uint64Number(obj.units)
        }

        if (obj.price != null) {
          w.uint32(58)
          Price.codec().encode(obj.price, w)
        }

        if ((obj.total != null && obj.total !== 0)) {
          w.uint32(64)
          w.uint64Number(obj.total)
        }

        if ((obj.resultHash != null && obj.resultHash.byteLength > 0)) {
          w.uint32(74)
          w.bytes(obj.resultHash)
        }

        if ((obj.startedMs != null && obj.startedMs !== 0)) {
          w.uint32(80)
          w.uint64Number(obj.startedMs)
        }

        if ((obj.endedMs != null && obj.endedMs !== 0)) {
          w.uint32(88)
          w.uint64Number(obj.endedMs)
        }

        if ((obj.status != null && obj.status !== 0)) {
          w.uint32(96)
          w.sint32(obj.status)
        }

        if ((obj.prev != null && obj.prev.byteLength > 0)) {
          w.uint32(106)
          w.bytes(obj.prev)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          jobId: uint8ArrayAlloc(0),
          assignmentId: uint8ArrayAlloc(0),
          requester: uint8ArrayAlloc(0),
          provider: uint8ArrayAlloc(0),
          units: 0,
          total: 0,
          resultHash: uint8ArrayAlloc(0),
          startedMs: 0,
          endedMs: 0,
          status: 0,
          prev: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.jobId = reader.bytes()
              break
            }
            case 3: {
              obj.assignmentId = reader.bytes()
              break
            }
            case 4: {
              obj.requester = reader.bytes()
              break
            }
            case 5: {
              obj.provider = reader.bytes()
              break
            }
            case 6: {
              obj.units = reader.uint64Number()
              break
            }
            case 7: {
              obj.price = Price.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.price
              })
              break
            }
            case 8: {
              obj.total = reader.uint64Number()
              break
            }
            case 9: {
              obj.resultHash = reader.bytes()
              break
            }
            case 10: {
              obj.startedMs = reader.uint64Number()
              break
            }
            case 11: {
              obj.endedMs = reader.uint64Number()
              break
            }
            case 12: {
              obj.status = reader.sint32()
              break
            }
            case 13: {
              obj.prev = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.assignmentId`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.requester`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.provider`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.units`,
                value: reader.uint64Number()
              }
              break
            }
            case 7: {
              yield * Price.codec().stream(reader, reader.uint32(), `${prefix}.price`, {
                limits: opts.limits?.price
              })

              break
            }
            case 8: {
              yield {
                field: `${prefix}.total`,
                value: reader.uint64Number()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.resultHash`,
                value: reader.bytes()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.startedMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.endedMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 12: {
              yield {
                field: `${prefix}.status`,
                value: reader.sint32()
              }
              break
            }
            case 13: {
              yield {
                field: `${prefix}.prev`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WorkReceiptVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface WorkReceiptJobIdFieldEvent {
    field: '$.jobId'
    value: Uint8Array
  }

  export interface WorkReceiptAssignmentIdFieldEvent {
    field: '$.assignmentId'
    value: Uint8Array
  }

  export interface WorkReceiptRequesterFieldEvent {
    field: '$.requester'
    value: Uint8Array
  }

  export interface WorkReceiptProviderFieldEvent {
    field: '$.provider'
    value: Uint8Array
  }

  export interface WorkReceiptUnitsFieldEvent {
    field: '$.units'
    value: number
  }

  export interface WorkReceiptPricePerUnitFieldEvent {
    field: '$.price.perUnit'
    value: number
  }

  export interface WorkReceiptPriceCurrencyFieldEvent {
    field: '$.price.currency'
    value: string
  }

  export interface WorkReceiptPriceUnitFieldEvent {
    field: '$.price.unit'
    value: string
  }

  export interface WorkReceiptTotalFieldEvent {
    field: '$.total'
    value: number
  }

  export interface WorkReceiptResultHashFieldEvent {
    field: '$.resultHash'
    value: Uint8Array
  }

  export interface WorkReceiptStartedMsFieldEvent {
    field: '$.startedMs'
    value: number
  }

  export interface WorkReceiptEndedMsFieldEvent {
    field: '$.endedMs'
    value: number
  }

  export interface WorkReceiptStatusFieldEvent {
    field: '$.status'
    value: number
  }

  export interface WorkReceiptPrevFieldEvent {
    field: '$.prev'
    value: Uint8Array
  }

  export function encode (obj: Partial<WorkReceipt>): Uint8Array {
    return encodeMessage(obj, WorkReceipt.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkReceipt>): WorkReceipt {
    return decodeMessage(buf, WorkReceipt.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkReceipt>): Generator<WorkReceiptVersionFieldEvent | WorkReceiptJobIdFieldEvent | WorkReceiptAssignmentIdFieldEvent | WorkReceiptRequesterFieldEvent | WorkReceiptProviderFieldEvent | WorkReceiptUnitsFieldEvent | WorkReceiptPricePerUnitFieldEvent | WorkReceiptPriceCurrencyFieldEvent | WorkReceiptPriceUnitFieldEvent | WorkReceiptTotalFieldEvent | WorkReceiptResultHashFieldEvent | WorkReceiptStartedMsFieldEvent | WorkReceiptEndedMsFieldEvent | WorkReceiptStatusFieldEvent | WorkReceiptPrevFieldEvent> {
    return streamMessage(buf, WorkReceipt.codec(), opts)
  }
}

export interface CaptureAttestation {
  version: number
  capturer: Uint8Array
  deviceKey: Uint8Array
  deviceSignature: Uint8Array
  contentHash: Uint8Array
  contentBytes: number
  mediaType: string
  startedMs: number
  durationMs: number
  geohash: string
  sensors: string[]
  jobId: Uint8Array
  chunkRoot: Uint8Array
  chunkCount: number
  contentCid: string
  assignmentId: Uint8Array
  deviceBinding: Uint8Array
}

export namespace CaptureAttestation {
  let _codec: Codec<CaptureAttestation>

  export const codec = (): Codec<CaptureAttestation> => {
    if (_codec == null) {
      _codec = message<CaptureAttestation>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.capturer != null && obj.capturer.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.capturer)
        }

        if ((obj.deviceKey != null && obj.deviceKey.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.deviceKey)
        }

        if ((obj.deviceSignature != null && obj.deviceSignature.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.deviceSignature)
        }

        if ((obj.contentHash != null && obj.contentHash.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.contentHash)
        }

        if ((obj.contentBytes != null && obj.contentBytes !== 0)) {
          w.uint32(48)
          w.uint64Number(obj.contentBytes)
        }

        if ((obj.mediaType != null && obj.mediaType !== '')) {
          w.uint32(58)
          w.string(obj.mediaType)
        }

        if ((obj.startedMs != null && obj.startedMs !== 0)) {
          w.uint32(64)
          w.uint64Number(obj.startedMs)
        }

        if ((obj.durationMs != null && obj.durationMs !== 0)) {
          w.uint32(72)
          w.uint32(obj.durationMs)
        }

        if ((obj.geohash != null && obj.geohash !== '')) {
          w.uint32(82)
          w.string(obj.geohash)
        }

        if (obj.sensors != null && obj.sensors.length > 0) {
          for (const value of obj.sensors) {
            w.uint32(90)
            w.string(value)
          }
        }

        if ((obj.jobId != null && obj.jobId.byteLength > 0)) {
          w.uint32(98)
          w.bytes(obj.jobId)
        }

        if ((obj.chunkRoot != null && obj.chunkRoot.byteLength > 0)) {
          w.uint32(106)
          w.bytes(obj.chunkRoot)
        }

        if ((obj.chunkCount != null && obj.chunkCount !== 0)) {
          w.uint32(112)
          w.uint32(obj.chunkCount)
        }

        if ((obj.contentCid != null && obj.contentCid !== '')) {
          w.uint32(122)
          w.string(obj.contentCid)
        }

        if ((obj.assignmentId != null && obj.assignmentId.byteLength > 0)) {
          w.uint32(130)
          w.bytes(obj.assignmentId)
        }

        if ((obj.deviceBinding != null && obj.deviceBinding.byteLength > 0)) {
          w.uint32(138)
          w.bytes(obj.deviceBinding)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          capturer: uint8ArrayAlloc(0),
          deviceKey: uint8ArrayAlloc(0),
          deviceSignature: uint8ArrayAlloc(0),
          contentHash: uint8ArrayAlloc(0),
          contentBytes: 0,
          mediaType: '',
          startedMs: 0,
          durationMs: 0,
          geohash: '',
          sensors: [],
          jobId: uint8ArrayAlloc(0),
          chunkRoot: uint8ArrayAlloc(0),
          chunkCount: 0,
          contentCid: '',
          assignmentId: uint8ArrayAlloc(0),
          deviceBinding: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.capturer = reader.bytes()
              break
            }
            case 3: {
              obj.deviceKey = reader.bytes()
              break
            }
            case 4: {
              obj.deviceSignature = reader.bytes()
              break
            }
            case 5: {
              obj.contentHash = reader.bytes()
              break
            }
            case 6: {
              obj.contentBytes = reader.uint64Number()
              break
            }
            case 7: {
              obj.mediaType = reader.string()
              break
            }
            case 8: {
              obj.startedMs = reader.uint64Number()
              break
            }
            case 9: {
              obj.durationMs = reader.uint32()
              break
            }
            case 10: {
              obj.geohash = reader.string()
              break
            }
            case 11: {
              if (opts.limits?.sensors != null && obj.sensors.length === opts.limits.sensors) {
                throw new MaxLengthError('Decode error - repeated field "sensors" had too many elements')
              }

              obj.sensors.push(reader.string())
              break
            }
            case 12: {
              obj.jobId = reader.bytes()
              break
            }
            case 13: {
              obj.chunkRoot = reader.bytes()
              break
            }
            case 14: {
              obj.chunkCount = reader.uint32()
              break
            }
            case 15: {
              obj.contentCid = reader.string()
              break
            }
            case 16: {
              obj.assignmentId = reader.bytes()
              break
            }
            case 17: {
              obj.deviceBinding = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          sensors: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.capturer`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.deviceKey`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.deviceSignature`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.contentHash`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.contentBytes`,
                value: reader.uint64Number()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.mediaType`,
                value: reader.string()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.startedMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.durationMs`,
                value: reader.uint32()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.geohash`,
                value: reader.string()
              }
              break
            }
            case 11: {
              if (opts.limits?.sensors != null && obj.sensors === opts.limits.sensors) {
                throw new MaxLengthError('Streaming decode error - repeated field "sensors" had too many elements')
              }

              yield {
                field: `${prefix}.sensors[]`,
                index: obj.sensors,
                value: reader.string()
              }

              obj.sensors++

              break
            }
            case 12: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.bytes()
              }
              break
            }
            case 13: {
              yield {
                field: `${prefix}.chunkRoot`,
                value: reader.bytes()
              }
              break
            }
            case 14: {
              yield {
                field: `${prefix}.chunkCount`,
                value: reader.uint32()
              }
              break
            }
            case 15: {
              yield {
                field: `${prefix}.contentCid`,
                value: reader.string()
              }
              break
            }
            case 16: {
              yield {
                field: `${prefix}.assignmentId`,
                value: reader.bytes()
              }
              break
            }
            case 17: {
              yield {
                field: `${prefix}.deviceBinding`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CaptureAttestationVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface CaptureAttestationCapturerFieldEvent {
    field: '$.capturer'
    value: Uint8Array
  }

  export interface CaptureAttestationDeviceKeyFieldEvent {
    field: '$.deviceKey'
    value: Uint8Array
  }

  export interface CaptureAttestationDeviceSignatureFieldEvent {
    field: '$.deviceSignature'
    value: Uint8Array
  }

  export interface CaptureAttestationContentHashFieldEvent {
    field: '$.contentHash'
    value: Uint8Array
  }

  export interface CaptureAttestationContentBytesFieldEvent {
    field: '$.contentBytes'
    value: number
  }

  export interface CaptureAttestationMediaTypeFieldEvent {
    field: '$.mediaType'
    value: string
  }

  export interface CaptureAttestationStartedMsFieldEvent {
    field: '$.startedMs'
    value: number
  }

  export interface CaptureAttestationDurationMsFieldEvent {
    field: '$.durationMs'
    value: number
  }

  export interface CaptureAttestationGeohashFieldEvent {
    field: '$.geohash'
    value: string
  }

  export interface CaptureAttestationSensorsFieldEvent {
    field: '$.sensors[]'
    index: number
    value: string
  }

  export interface CaptureAttestationJobIdFieldEvent {
    field: '$.jobId'
    value: Uint8Array
  }

  export interface CaptureAttestationChunkRootFieldEvent {
    field: '$.chunkRoot'
    value: Uint8Array
  }

  export interface CaptureAttestationChunkCountFieldEvent {
    field: '$.chunkCount'
    value: number
  }

  export interface CaptureAttestationContentCidFieldEvent {
    field: '$.contentCid'
    value: string
  }

  export interface CaptureAttestationAssignmentIdFieldEvent {
    field: '$.assignmentId'
    value: Uint8Array
  }

  export interface CaptureAttestationDeviceBindingFieldEvent {
    field: '$.deviceBinding'
    value: Uint8Array
  }

  export function encode (obj: Partial<CaptureAttestation>): Uint8Array {
    return encodeMessage(obj, CaptureAttestation.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CaptureAttestation>): CaptureAttestation {
    return decodeMessage(buf, CaptureAttestation.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CaptureAttestation>): Generator<CaptureAttestationVersionFieldEvent | CaptureAttestationCapturerFieldEvent | CaptureAttestationDeviceKeyFieldEvent | CaptureAttestationDeviceSignatureFieldEvent | CaptureAttestationContentHashFieldEvent | CaptureAttestationContentBytesFieldEvent | CaptureAttestationMediaTypeFieldEvent | CaptureAttestationStartedMsFieldEvent | CaptureAttestationDurationMsFieldEvent | CaptureAttestationGeohashFieldEvent | CaptureAttestationSensorsFieldEvent | CaptureAttestationJobIdFieldEvent | CaptureAttestationChunkRootFieldEvent | CaptureAttestationChunkCountFieldEvent | CaptureAttestationContentCidFieldEvent | CaptureAttestationAssignmentIdFieldEvent | CaptureAttestationDeviceBindingFieldEvent> {
    return streamMessage(buf, CaptureAttestation.codec(), opts)
  }
}

export interface WitnessStatement {
  version: number
  witness: Uint8Array
  attestationId: Uint8Array
  capturer: Uint8Array
  rttMs: number
  geohash: string
  createdMs: number
  rounds: number
  windowStartMs: number
  windowEndMs: number
  observedAddr: Uint8Array
}

export namespace WitnessStatement {
  let _codec: Codec<WitnessStatement>

  export const codec = (): Codec<WitnessStatement> => {
    if (_codec == null) {
      _codec = message<WitnessStatement>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.witness != null && obj.witness.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.witness)
        }

        if ((obj.attestationId != null && obj.attestationId.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.attestationId)
        }

        if ((obj.capturer != null && obj.capturer.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.capturer)
        }

        if ((obj.rttMs != null && obj.rttMs !== 0)) {
          w.uint32(40)
          w.uint32(obj.rttMs)
        }

        if ((obj.geohash != null && obj.geohash !== '')) {
          w.uint32(50)
          w.string(obj.geohash)
        }

        if ((obj.createdMs != null && obj.createdMs !== 0)) {
          w.uint32(56)
          w.uint64Number(obj.createdMs)
        }

        if ((obj.rounds != null && obj.rounds !== 0)) {
          w.uint32(64)
          w.uint32(obj.rounds)
        }

        if ((obj.windowStartMs != null && obj.windowStartMs !== 0)) {
          w.uint32(72)
          w.uint64Number(obj.windowStartMs)
        }

        if ((obj.windowEndMs != null && obj.windowEndMs !== 0)) {
          w.uint32(80)
          w.uint64Number(obj.windowEndMs)
        }

        if ((obj.observedAddr != null && obj.observedAddr.byteLength > 0)) {
          w.uint32(90)
          w.bytes(obj.observedAddr)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          witness: uint8ArrayAlloc(0),
          attestationId: uint8ArrayAlloc(0),
          capturer: uint8ArrayAlloc(0),
          rttMs: 0,
          geohash: '',
          createdMs: 0,
          rounds: 0,
          windowStartMs: 0,
          windowEndMs: 0,
          observedAddr: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.witness = reader.bytes()
              break
            }
            case 3: {
              obj.attestationId = reader.bytes()
              break
            }
            case 4: {
              obj.capturer = reader.bytes()
              break
            }
            case 5: {
              obj.rttMs = reader.uint32()
              break
            }
            case 6: {
              obj.geohash = reader.string()
              break
            }
            case 7: {
              obj.createdMs = reader.uint64Number()
              break
            }
            case 8: {
              obj.rounds = reader.uint32()
              break
            }
            case 9: {
              obj.windowStartMs = reader.uint64Number()
              break
            }
            case 10: {
              obj.windowEndMs = reader.uint64Number()
              break
            }
            case 11: {
              obj.observedAddr = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.witness`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.attestationId`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.capturer`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.rttMs`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.geohash`,
                value: reader.string()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.createdMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.rounds`,
                value: reader.uint32()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.windowStartMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.windowEndMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.observedAddr`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WitnessStatementVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface WitnessStatementWitnessFieldEvent {
    field: '$.witness'
    value: Uint8Array
  }

  export interface WitnessStatementAttestationIdFieldEvent {
    field: '$.attestationId'
    value: Uint8Array
  }

  export interface WitnessStatementCapturerFieldEvent {
    field: '$.capturer'
    value: Uint8Array
  }

  export interface WitnessStatementRttMsFieldEvent {
    field: '$.rttMs'
    value: number
  }

  export interface WitnessStatementGeohashFieldEvent {
    field: '$.geohash'
    value: string
  }

  export interface WitnessStatementCreatedMsFieldEvent {
    field: '$.createdMs'
    value: number
  }

  export interface WitnessStatementRoundsFieldEvent {
    field: '$.rounds'
    value: number
  }

  export interface WitnessStatementWindowStartMsFieldEvent {
    field: '$.windowStartMs'
    value: number
  }

  export interface WitnessStatementWindowEndMsFieldEvent {
    field: '$.windowEndMs'
    value: number
  }

  export interface WitnessStatementObservedAddrFieldEvent {
    field: '$.observedAddr'
    value: Uint8Array
  }

  export function encode (obj: Partial<WitnessStatement>): Uint8Array {
    return encodeMessage(obj, WitnessStatement.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WitnessStatement>): WitnessStatement {
    return decodeMessage(buf, WitnessStatement.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WitnessStatement>): Generator<WitnessStatementVersionFieldEvent | WitnessStatementWitnessFieldEvent | WitnessStatementAttestationIdFieldEvent | WitnessStatementCapturerFieldEvent | WitnessStatementRttMsFieldEvent | WitnessStatementGeohashFieldEvent | WitnessStatementCreatedMsFieldEvent | WitnessStatementRoundsFieldEvent | WitnessStatementWindowStartMsFieldEvent | WitnessStatementWindowEndMsFieldEvent | WitnessStatementObservedAddrFieldEvent> {
    return streamMessage(buf, WitnessStatement.codec(), opts)
  }
}

export interface DeviceBinding {
  version: number
  peer: Uint8Array
  deviceKey: Uint8Array
  deviceSignature: Uint8Array
  model: string
  createdMs: number
}

export namespace DeviceBinding {
  let _codec: Codec<DeviceBinding>

  export const codec = (): Codec<DeviceBinding> => {
    if (_codec == null) {
      _codec = message<DeviceBinding>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.peer != null && obj.peer.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.peer)
        }

        if ((obj.deviceKey != null && obj.deviceKey.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.deviceKey)
        }

        if ((obj.deviceSignature != null && obj.deviceSignature.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.deviceSignature)
        }

        if ((obj.model != null && obj.model !== '')) {
          w.uint32(42)
          w.string(obj.model)
        }

        if ((obj.createdMs != null && obj.createdMs !== 0)) {
          w.uint32(48)
          w.uint64Number(obj.createdMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          peer: uint8ArrayAlloc(0),
          deviceKey: uint8ArrayAlloc(0),
          deviceSignature: uint8ArrayAlloc(0),
          model: '',
          createdMs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.peer = reader.bytes()
              break
            }
            case 3: {
              obj.deviceKey = reader.bytes()
              break
            }
            case 4: {
              obj.deviceSignature = reader.bytes()
              break
            }
            case 5: {
              obj.model = reader.string()
              break
            }
            case 6: {
              obj.createdMs = reader.uint64Number()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.peer`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.deviceKey`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.deviceSignature`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.model`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.createdMs`,
                value: reader.uint64Number()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface DeviceBindingVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface DeviceBindingPeerFieldEvent {
    field: '$.peer'
    value: Uint8Array
  }

  export interface DeviceBindingDeviceKeyFieldEvent {
    field: '$.deviceKey'
    value: Uint8Array
  }

  export interface DeviceBindingDeviceSignatureFieldEvent {
    field: '$.deviceSignature'
    value: Uint8Array
  }

  export interface DeviceBindingModelFieldEvent {
    field: '$.model'
    value: string
  }

  export interface DeviceBindingCreatedMsFieldEvent {
    field: '$.createdMs'
    value: number
  }

  export function encode (obj: Partial<DeviceBinding>): Uint8Array {
    return encodeMessage(obj, DeviceBinding.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DeviceBinding>): DeviceBinding {
    return decodeMessage(buf, DeviceBinding.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DeviceBinding>): Generator<DeviceBindingVersionFieldEvent | DeviceBindingPeerFieldEvent | DeviceBindingDeviceKeyFieldEvent | DeviceBindingDeviceSignatureFieldEvent | DeviceBindingModelFieldEvent | DeviceBindingCreatedMsFieldEvent> {
    return streamMessage(buf, DeviceBinding.codec(), opts)
  }
}

export interface PaymentVoucher {
  version: number
  lane: Uint8Array
  payer: Uint8Array
  payee: Uint8Array
  nonce: number
  cumulative: number
  currency: string
  jobId: Uint8Array
  createdMs: number
}

export namespace PaymentVoucher {
  let _codec: Codec<PaymentVoucher>

  export const codec = (): Codec<PaymentVoucher> => {
    if (_codec == null) {
      _codec = message<PaymentVoucher>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.lane != null && obj.lane.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.lane)
        }

        if ((obj.payer != null && obj.payer.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.payer)
        }

        if ((obj.payee != null && obj.payee.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.payee)
        }

        if ((obj.nonce != null && obj.nonce !== 0)) {
          w.uint32(40)
          w.uint64Number(obj.nonce)
        }

        if ((obj.cumulative != null && obj.cumulative !== 0)) {
          w.uint32(48)
          w.uint64Number(obj.cumulative)
        }

        if ((obj.currency != null && obj.currency !== '')) {
          w.uint32(58)
          w.string(obj.currency)
        }

        if ((obj.jobId != null && obj.jobId.byteLength > 0)) {
          w.uint32(66)
          w.bytes(obj.jobId)
        }

        if ((obj.createdMs != null && obj.createdMs !== 0)) {
          w.uint32(72)
          w.uint64Number(obj.createdMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          lane: uint8ArrayAlloc(0),
          payer: uint8ArrayAlloc(0),
          payee: uint8ArrayAlloc(0),
          nonce: 0,
          cumulative: 0,
          currency: '',
          jobId: uint8ArrayAlloc(0),
          createdMs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.lane = reader.bytes()
              break
            }
            case 3: {
              obj.payer = reader.bytes()
              break
            }
            case 4: {
              obj.payee = reader.bytes()
              break
            }
            case 5: {
              obj.nonce = reader.uint64Number()
              break
            }
            case 6: {
              obj.cumulative = reader.uint64Number()
              break
            }
            case 7: {
              obj.currency = reader.string()
              break
            }
            case 8: {
              obj.jobId = reader.bytes()
              break
            }
            case 9: {
              obj.createdMs = reader.uint64Number()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.lane`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.payer`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.payee`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.nonce`,
                value: reader.uint64Number()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.cumulative`,
                value: reader.uint64Number()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.currency`,
                value: reader.string()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.bytes()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.createdMs`,
                value: reader.uint64Number()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface PaymentVoucherVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface PaymentVoucherLaneFieldEvent {
    field: '$.lane'
    value: Uint8Array
  }

  export interface PaymentVoucherPayerFieldEvent {
    field: '$.payer'
    value: Uint8Array
  }

  export interface PaymentVoucherPayeeFieldEvent {
    field: '$.payee'
    value: Uint8Array
  }

  export interface PaymentVoucherNonceFieldEvent {
    field: '$.nonce'
    value: number
  }

  export interface PaymentVoucherCumulativeFieldEvent {
    field: '$.cumulative'
    value: number
  }

  export interface PaymentVoucherCurrencyFieldEvent {
    field: '$.currency'
    value: string
  }

  export interface PaymentVoucherJobIdFieldEvent {
    field: '$.jobId'
    value: Uint8Array
  }

  export interface PaymentVoucherCreatedMsFieldEvent {
    field: '$.createdMs'
    value: number
  }

  export function encode (obj: Partial<PaymentVoucher>): Uint8Array {
    return encodeMessage(obj, PaymentVoucher.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PaymentVoucher>): PaymentVoucher {
    return decodeMessage(buf, PaymentVoucher.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PaymentVoucher>): Generator<PaymentVoucherVersionFieldEvent | PaymentVoucherLaneFieldEvent | PaymentVoucherPayerFieldEvent | PaymentVoucherPayeeFieldEvent | PaymentVoucherNonceFieldEvent | PaymentVoucherCumulativeFieldEvent | PaymentVoucherCurrencyFieldEvent | PaymentVoucherJobIdFieldEvent | PaymentVoucherCreatedMsFieldEvent> {
    return streamMessage(buf, PaymentVoucher.codec(), opts)
  }
}

export enum EvidenceKind {
  EVIDENCE_KIND_UNSPECIFIED = 'EVIDENCE_KIND_UNSPECIFIED',
  EQUIVOCATION = 'EQUIVOCATION',
  WRONG_RESULT = 'WRONG_RESULT'
}

enum __EvidenceKindValues {
  EVIDENCE_KIND_UNSPECIFIED = 0,
  EQUIVOCATION = 1,
  WRONG_RESULT = 2
}

export namespace EvidenceKind {
  export const codec = (): Codec<EvidenceKind> => {
    return enumeration<EvidenceKind>(__EvidenceKindValues)
  }
}

export interface Evidence {
  version: number
  kind: EvidenceKind
  offender: Uint8Array
  receipts: Uint8Array[]
  assignments: Uint8Array[]
  jobs: Uint8Array[]
  createdMs: number
}

export namespace Evidence {
  let _codec: Codec<Evidence>

  export const codec = (): Codec<Evidence> => {
    if (_codec == null) {
      _codec = message<Evidence>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if (obj.kind != null && __EvidenceKindValues[obj.kind] !== 0) {
          w.uint32(16)
          EvidenceKind.codec().encode(obj.kind, w)
        }

        if ((obj.offender != null && obj.offender.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.offender)
        }

        if (obj.receipts != null && obj.receipts.length > 0) {
          for (const value of obj.receipts) {
            w.uint32(34)
            w.bytes(value)
          }
        }

        if (obj.assignments != null && obj.assignments.length > 0) {
          for (const value of obj.assignments) {
            w.uint32(42)
            w.bytes(value)
          }
        }

        if (obj.jobs != null && obj.jobs.length > 0) {
          for (const value of obj.jobs) {
            w.uint32(50)
            w.bytes(value)
          }
        }

        if ((obj.createdMs != null && obj.createdMs !== 0)) {
          w.uint32(56)
          w.uint64Number(obj.createdMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          kind: EvidenceKind.EVIDENCE_KIND_UNSPECIFIED,
          offender: uint8ArrayAlloc(0),
          receipts: [],
          assignments: [],
          jobs: [],
          createdMs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.kind = EvidenceKind.codec().decode(reader)
              break
            }
            case 3: {
              obj.offender = reader.bytes()
              break
            }
            case 4: {
              if (opts.limits?.receipts != null && obj.receipts.length === opts.limits.receipts) {
                throw new MaxLengthError('Decode error - repeated field "receipts" had too many elements')
              }

              obj.receipts.push(reader.bytes())
              break
            }
            case 5: {
              if (opts.limits?.assignments != null && obj.assignments.length === opts.limits.assignments) {
                throw new MaxLengthError('Decode error - repeated field "assignments" had too many elements')
              }

              obj.assignments.push(reader.bytes())
              break
            }
            case 6: {
              if (opts.limits?.jobs != null && obj.jobs.length === opts.limits.jobs) {
                throw new MaxLengthError('Decode error - repeated field "jobs" had too many elements')
              }

              obj.jobs.push(reader.bytes())
              break
            }
            case 7: {
              obj.createdMs = reader.uint64Number()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          receipts: 0,
          assignments: 0,
          jobs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.kind`,
                value: EvidenceKind.codec().decode(reader)
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.offender`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              if (opts.limits?.receipts != null && obj.receipts === opts.limits.receipts) {
                throw new MaxLengthError('Streaming decode error - repeated field "receipts" had too many elements')
              }

              yield {
                field: `${prefix}.receipts[]`,
                index: obj.receipts,
                value: reader.bytes()
              }

              obj.receipts++

              break
            }
            case 5: {
              if (opts.limits?.assignments != null && obj.assignments === opts.limits.assignments) {
                throw new MaxLengthError('Streaming decode error - repeated field "assignments" had too many elements')
              }

              yield {
                field: `${prefix}.assignments[]`,
                index: obj.assignments,
                value: reader.bytes()
              }

              obj.assignments++

              break
            }
            case 6: {
              if (opts.limits?.jobs != null && obj.jobs === opts.limits.jobs) {
                throw new MaxLengthError('Streaming decode error - repeated field "jobs" had too many elements')
              }

              yield {
                field: `${prefix}.jobs[]`,
                index: obj.jobs,
                value: reader.bytes()
              }

              obj.jobs++

              break
            }
            case 7: {
              yield {
                field: `${prefix}.createdMs`,
                value: reader.uint64Number()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface EvidenceVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface EvidenceKindFieldEvent {
    field: '$.kind'
    value: EvidenceKind
  }

  export interface EvidenceOffenderFieldEvent {
    field: '$.offender'
    value: Uint8Array
  }

  export interface EvidenceReceiptsFieldEvent {
    field: '$.receipts[]'
    index: number
    value: Uint8Array
  }

  export interface EvidenceAssignmentsFieldEvent {
    field: '$.assignments[]'
    index: number
    value: Uint8Array
  }

  export interface EvidenceJobsFieldEvent {
    field: '$.jobs[]'
    index: number
    value: Uint8Array
  }

  export interface EvidenceCreatedMsFieldEvent {
    field: '$.createdMs'
    value: number
  }

  export function encode (obj: Partial<Evidence>): Uint8Array {
    return encodeMessage(obj, Evidence.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Evidence>): Evidence {
    return decodeMessage(buf, Evidence.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Evidence>): Generator<EvidenceVersionFieldEvent | EvidenceKindFieldEvent | EvidenceOffenderFieldEvent | EvidenceReceiptsFieldEvent | EvidenceAssignmentsFieldEvent | EvidenceJobsFieldEvent | EvidenceCreatedMsFieldEvent> {
    return streamMessage(buf, Evidence.codec(), opts)
  }
}

export interface Countersigned {
  envelope: Uint8Array
  publicKey: Uint8Array
  signature: Uint8Array
}

export namespace Countersigned {
  let _codec: Codec<Countersigned>

  export const codec = (): Codec<Countersigned> => {
    if (_codec == null) {
      _codec = message<Countersigned>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.envelope != null && obj.envelope.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.envelope)
        }

        if ((obj.publicKey != null && obj.publicKey.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.publicKey)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          envelope: uint8ArrayAlloc(0),
          publicKey: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.envelope = reader.bytes()
              break
            }
            case 2: {
              obj.publicKey = reader.bytes()
              break
            }
            case 3: {
              obj.signature = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.envelope`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.publicKey`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CountersignedEnvelopeFieldEvent {
    field: '$.envelope'
    value: Uint8Array
  }

  export interface CountersignedPublicKeyFieldEvent {
    field: '$.publicKey'
    value: Uint8Array
  }

  export interface CountersignedSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array
  }

  export function encode (obj: Partial<Countersigned>): Uint8Array {
    return encodeMessage(obj, Countersigned.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Countersigned>): Countersigned {
    return decodeMessage(buf, Countersigned.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Countersigned>): Generator<CountersignedEnvelopeFieldEvent | CountersignedPublicKeyFieldEvent | CountersignedSignatureFieldEvent> {
    return streamMessage(buf, Countersigned.codec(), opts)
  }
}

export interface Envelope {
  publicKey: Uint8Array
  payloadType: Uint8Array
  payload: Uint8Array
  signature: Uint8Array
}

export namespace Envelope {
  let _codec: Codec<Envelope>

  export const codec = (): Codec<Envelope> => {
    if (_codec == null) {
      _codec = message<Envelope>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.publicKey != null && obj.publicKey.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.publicKey)
        }

        if ((obj.payloadType != null && obj.payloadType.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.payloadType)
        }

        if ((obj.payload != null && obj.payload.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.payload)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          publicKey: uint8ArrayAlloc(0),
          payloadType: uint8ArrayAlloc(0),
          payload: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.publicKey = reader.bytes()
              break
            }
            case 2: {
              obj.payloadType = reader.bytes()
              break
            }
            case 3: {
              obj.payload = reader.bytes()
              break
            }
            case 5: {
              obj.signature = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.publicKey`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.payloadType`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.payload`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface EnvelopePublicKeyFieldEvent {
    field: '$.publicKey'
    value: Uint8Array
  }

  export interface EnvelopePayloadTypeFieldEvent {
    field: '$.payloadType'
    value: Uint8Array
  }

  export interface EnvelopePayloadFieldEvent {
    field: '$.payload'
    value: Uint8Array
  }

  export interface EnvelopeSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array
  }

  export function encode (obj: Partial<Envelope>): Uint8Array {
    return encodeMessage(obj, Envelope.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Envelope>): Envelope {
    return decodeMessage(buf, Envelope.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Envelope>): Generator<EnvelopePublicKeyFieldEvent | EnvelopePayloadTypeFieldEvent | EnvelopePayloadFieldEvent | EnvelopeSignatureFieldEvent> {
    return streamMessage(buf, Envelope.codec(), opts)
  }
}

export interface LoadReport {
  freeSlots: number
  concurrency: number
  queueLength: number
}

export namespace LoadReport {
  let _codec: Codec<LoadReport>

  export const codec = (): Codec<LoadReport> => {
    if (_codec == null) {
      _codec = message<LoadReport>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.freeSlots != null && obj.freeSlots !== 0)) {
          w.uint32(8)
          w.uint32(obj.freeSlots)
        }

        if ((obj.concurrency != null && obj.concurrency !== 0)) {
          w.uint32(16)
          w.uint32(obj.concurrency)
        }

        if ((obj.queueLength != null && obj.queueLength !== 0)) {
          w.uint32(24)
          w.uint32(obj.queueLength)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          freeSlots: 0,
          concurrency: 0,
          queueLength: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.freeSlots = reader.uint32()
              break
            }
            case 2: {
              obj.concurrency = reader.uint32()
              break
            }
            case 3: {
              obj.queueLength = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.freeSlots`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.concurrency`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.queueLength`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface LoadReportFreeSlotsFieldEvent {
    field: '$.freeSlots'
    value: number
  }

  export interface LoadReportConcurrencyFieldEvent {
    field: '$.concurrency'
    value: number
  }

  export interface LoadReportQueueLengthFieldEvent {
    field: '$.queueLength'
    value: number
  }

  export function encode (obj: Partial<LoadReport>): Uint8Array {
    return encodeMessage(obj, LoadReport.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LoadReport>): LoadReport {
    return decodeMessage(buf, LoadReport.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LoadReport>): Generator<LoadReportFreeSlotsFieldEvent | LoadReportConcurrencyFieldEvent | LoadReportQueueLengthFieldEvent> {
    return streamMessage(buf, LoadReport.codec(), opts)
  }
}

export interface CoordinateProbe {
  coordinate?: NetworkCoordinate
  wantLoad: boolean
}

export namespace CoordinateProbe {
  let _codec: Codec<CoordinateProbe>

  export const codec = (): Codec<CoordinateProbe> => {
    if (_codec == null) {
      _codec = message<CoordinateProbe>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.coordinate != null) {
          w.uint32(10)
          NetworkCoordinate.codec().encode(obj.coordinate, w)
        }

        if ((obj.wantLoad != null && obj.wantLoad !== false)) {
          w.uint32(16)
          w.bool(obj.wantLoad)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          wantLoad: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.coordinate = NetworkCoordinate.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.coordinate
              })
              break
            }
            case 2: {
              obj.wantLoad = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * NetworkCoordinate.codec().stream(reader, reader.uint32(), `${prefix}.coordinate`, {
                limits: opts.limits?.coordinate
              })

              break
            }
            case 2: {
              yield {
                field: `${prefix}.wantLoad`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CoordinateProbeCoordinateVecFieldEvent {
    field: '$.coordinate.vec[]'
    index: number
    value: number
  }

  export interface CoordinateProbeCoordinateHeightFieldEvent {
    field: '$.coordinate.height'
    value: number
  }

  export interface CoordinateProbeCoordinateErrorFieldEvent {
    field: '$.coordinate.error'
    value: number
  }

  export interface CoordinateProbeWantLoadFieldEvent {
    field: '$.wantLoad'
    value: boolean
  }

  export function encode (obj: Partial<CoordinateProbe>): Uint8Array {
    return encodeMessage(obj, CoordinateProbe.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CoordinateProbe>): CoordinateProbe {
    return decodeMessage(buf, CoordinateProbe.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CoordinateProbe>): Generator<CoordinateProbeCoordinateVecFieldEvent | CoordinateProbeCoordinateHeightFieldEvent | CoordinateProbeCoordinateErrorFieldEvent | CoordinateProbeWantLoadFieldEvent> {
    return streamMessage(buf, CoordinateProbe.codec(), opts)
  }
}

export interface CoordinateReply {
  coordinate?: NetworkCoordinate
  load?: LoadReport
}

export namespace CoordinateReply {
  let _codec: Codec<CoordinateReply>

  export const codec = (): Codec<CoordinateReply> => {
    if (_codec == null) {
      _codec = message<CoordinateReply>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.coordinate != null) {
          w.uint32(10)
          NetworkCoordinate.codec().encode(obj.coordinate, w)
        }

        if (obj.load != null) {
          w.uint32(18)
          LoadReport.codec().encode(obj.load, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.coordinate = NetworkCoordinate.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.coordinate
              })
              break
            }
            case 2: {
              obj.load = LoadReport.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.load
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * NetworkCoordinate.codec().stream(reader, reader.uint32(), `${prefix}.coordinate`, {
                limits: opts.limits?.coordinate
              })

              break
            }
            case 2: {
              yield * LoadReport.codec().stream(reader, reader.uint32(), `${prefix}.load`, {
                limits: opts.limits?.load
              })

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CoordinateReplyCoordinateVecFieldEvent {
    field: '$.coordinate.vec[]'
    index: number
    value: number
  }

  export interface CoordinateReplyCoordinateHeightFieldEvent {
    field: '$.coordinate.height'
    value: number
  }

  export interface CoordinateReplyCoordinateErrorFieldEvent {
    field: '$.coordinate.error'
    value: number
  }

  export interface CoordinateReplyLoadFreeSlotsFieldEvent {
    field: '$.load.freeSlots'
    value: number
  }

  export interface CoordinateReplyLoadConcurrencyFieldEvent {
    field: '$.load.concurrency'
    value: number
  }

  export interface CoordinateReplyLoadQueueLengthFieldEvent {
    field: '$.load.queueLength'
    value: number
  }

  export function encode (obj: Partial<CoordinateReply>): Uint8Array {
    return encodeMessage(obj, CoordinateReply.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CoordinateReply>): CoordinateReply {
    return decodeMessage(buf, CoordinateReply.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CoordinateReply>): Generator<CoordinateReplyCoordinateVecFieldEvent | CoordinateReplyCoordinateHeightFieldEvent | CoordinateReplyCoordinateErrorFieldEvent | CoordinateReplyLoadFreeSlotsFieldEvent | CoordinateReplyLoadConcurrencyFieldEvent | CoordinateReplyLoadQueueLengthFieldEvent> {
    return streamMessage(buf, CoordinateReply.codec(), opts)
  }
}

export interface CoordinateMessage {
  probe?: CoordinateProbe
  reply?: CoordinateReply
}

export namespace CoordinateMessage {
  let _codec: Codec<CoordinateMessage>

  export const codec = (): Codec<CoordinateMessage> => {
    if (_codec == null) {
      _codec = message<CoordinateMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.probe != null) {
          w.uint32(10)
          CoordinateProbe.codec().encode(obj.probe, w)
        }

        if (obj.reply != null) {
          w.uint32(18)
          CoordinateReply.codec().encode(obj.reply, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.probe = CoordinateProbe.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.probe
              })
              break
            }
            case 2: {
              obj.reply = CoordinateReply.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.reply
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * CoordinateProbe.codec().stream(reader, reader.uint32(), `${prefix}.probe`, {
                limits: opts.limits?.probe
              })

              break
            }
            case 2: {
              yield * CoordinateReply.codec().stream(reader, reader.uint32(), `${prefix}.reply`, {
                limits: opts.limits?.reply
              })

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CoordinateMessageProbeCoordinateVecFieldEvent {
    field: '$.probe.coordinate.vec[]'
    index: number
    value: number
  }

  export interface CoordinateMessageProbeCoordinateHeightFieldEvent {
    field: '$.probe.coordinate.height'
    value: number
  }

  export interface CoordinateMessageProbeCoordinateErrorFieldEvent {
    field: '$.probe.coordinate.error'
    value: number
  }

  export interface CoordinateMessageProbeWantLoadFieldEvent {
    field: '$.probe.wantLoad'
    value: boolean
  }

  export interface CoordinateMessageReplyCoordinateVecFieldEvent {
    field: '$.reply.coordinate.vec[]'
    index: number
    value: number
  }

  export interface CoordinateMessageReplyCoordinateHeightFieldEvent {
    field: '$.reply.coordinate.height'
    value: number
  }

  export interface CoordinateMessageReplyCoordinateErrorFieldEvent {
    field: '$.reply.coordinate.error'
    value: number
  }

  export interface CoordinateMessageReplyLoadFreeSlotsFieldEvent {
    field: '$.reply.load.freeSlots'
    value: number
  }

  export interface CoordinateMessageReplyLoadConcurrencyFieldEvent {
    field: '$.reply.load.concurrency'
    value: number
  }

  export interface CoordinateMessageReplyLoadQueueLengthFieldEvent {
    field: '$.reply.load.queueLength'
    value: number
  }

  export function encode (obj: Partial<CoordinateMessage>): Uint8Array {
    return encodeMessage(obj, CoordinateMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CoordinateMessage>): CoordinateMessage {
    return decodeMessage(buf, CoordinateMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CoordinateMessage>): Generator<CoordinateMessageProbeCoordinateVecFieldEvent | CoordinateMessageProbeCoordinateHeightFieldEvent | CoordinateMessageProbeCoordinateErrorFieldEvent | CoordinateMessageProbeWantLoadFieldEvent | CoordinateMessageReplyCoordinateVecFieldEvent | CoordinateMessageReplyCoordinateHeightFieldEvent | CoordinateMessageReplyCoordinateErrorFieldEvent | CoordinateMessageReplyLoadFreeSlotsFieldEvent | CoordinateMessageReplyLoadConcurrencyFieldEvent | CoordinateMessageReplyLoadQueueLengthFieldEvent> {
    return streamMessage(buf, CoordinateMessage.codec(), opts)
  }
}

export interface WorkQuoteRequest {
  job: Uint8Array
  inlineJob: Uint8Array
}

export namespace WorkQuoteRequest {
  let _codec: Codec<WorkQuoteRequest>

  export const codec = (): Codec<WorkQuoteRequest> => {
    if (_codec == null) {
      _codec = message<WorkQuoteRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.job != null && obj.job.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.job)
        }

        if ((obj.inlineJob != null && obj.inlineJob.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.inlineJob)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          job: uint8ArrayAlloc(0),
          inlineJob: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.job = reader.bytes()
              break
            }
            case 2: {
              obj.inlineJob = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.job`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.inlineJob`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WorkQuoteRequestJobFieldEvent {
    field: '$.job'
    value: Uint8Array
  }

  export interface WorkQuoteRequestInlineJobFieldEvent {
    field: '$.inlineJob'
    value: Uint8Array
  }

  export function encode (obj: Partial<WorkQuoteRequest>): Uint8Array {
    return encodeMessage(obj, WorkQuoteRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkQuoteRequest>): WorkQuoteRequest {
    return decodeMessage(buf, WorkQuoteRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkQuoteRequest>): Generator<WorkQuoteRequestJobFieldEvent | WorkQuoteRequestInlineJobFieldEvent> {
    return streamMessage(buf, WorkQuoteRequest.codec(), opts)
  }
}

export interface WorkQuoteReply {
  quote: Uint8Array
}

export namespace WorkQuoteReply {
  let _codec: Codec<WorkQuoteReply>

  export const codec = (): Codec<WorkQuoteReply> => {
    if (_codec == null) {
      _codec = message<WorkQuoteReply>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.quote != null && obj.quote.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.quote)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          quote: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.quote = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.quote`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WorkQuoteReplyQuoteFieldEvent {
    field: '$.quote'
    value: Uint8Array
  }

  export function encode (obj: Partial<WorkQuoteReply>): Uint8Array {
    return encodeMessage(obj, WorkQuoteReply.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkQuoteReply>): WorkQuoteReply {
    return decodeMessage(buf, WorkQuoteReply.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkQuoteReply>): Generator<WorkQuoteReplyQuoteFieldEvent> {
    return streamMessage(buf, WorkQuoteReply.codec(), opts)
  }
}

export interface WorkAssign {
  assignment: Uint8Array
  input: Uint8Array
}

export namespace WorkAssign {
  let _codec: Codec<WorkAssign>

  export const codec = (): Codec<WorkAssign> => {
    if (_codec == null) {
      _codec = message<WorkAssign>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.assignment != null && obj.assignment.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.assignment)
        }

        if ((obj.input != null && obj.input.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.input)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          assignment: uint8ArrayAlloc(0),
          input: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.assignment = reader.bytes()
              break
            }
            case 2: {
              obj.input = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.assignment`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.input`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WorkAssignAssignmentFieldEvent {
    field: '$.assignment'
    value: Uint8Array
  }

  export interface WorkAssignInputFieldEvent {
    field: '$.input'
    value: Uint8Array
  }

  export function encode (obj: Partial<WorkAssign>): Uint8Array {
    return encodeMessage(obj, WorkAssign.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkAssign>): WorkAssign {
    return decodeMessage(buf, WorkAssign.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkAssign>): Generator<WorkAssignAssignmentFieldEvent | WorkAssignInputFieldEvent> {
    return streamMessage(buf, WorkAssign.codec(), opts)
  }
}

export interface WorkProgress {
  assignmentId: Uint8Array
  units: number
  permille: number
  message: string
}

export namespace WorkProgress {
  let _codec: Codec<WorkProgress>

  export const codec = (): Codec<WorkProgress> => {
    if (_codec == null) {
      _codec = message<WorkProgress>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.assignmentId != null && obj.assignmentId.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.assignmentId)
        }

        if ((obj.units != null && obj.units !== 0)) {
          w.uint32(16)
          w.uint64Number(obj.units)
        }

        if ((obj.permille != null && obj.permille !== 0)) {
          w.uint32(24)
          w.uint32(obj.permille)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(34)
          w.string(obj.message)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          assignmentId: uint8ArrayAlloc(0),
          units: 0,
          permille: 0,
          message: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.assignmentId = reader.bytes()
              break
            }
            case 2: {
              obj.units = reader.uint64Number()
              break
            }
            case 3: {
              obj.permille = reader.uint32()
              break
            }
            case 4: {
              obj.message = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.assignmentId`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.units`,
                value: reader.uint64Number()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.permille`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WorkProgressAssignmentIdFieldEvent {
    field: '$.assignmentId'
    value: Uint8Array
  }

  export interface WorkProgressUnitsFieldEvent {
    field: '$.units'
    value: number
  }

  export interface WorkProgressPermilleFieldEvent {
    field: '$.permille'
    value: number
  }

  export interface WorkProgressMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export function encode (obj: Partial<WorkProgress>): Uint8Array {
    return encodeMessage(obj, WorkProgress.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkProgress>): WorkProgress {
    return decodeMessage(buf, WorkProgress.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkProgress>): Generator<WorkProgressAssignmentIdFieldEvent | WorkProgressUnitsFieldEvent | WorkProgressPermilleFieldEvent | WorkProgressMessageFieldEvent> {
    return streamMessage(buf, WorkProgress.codec(), opts)
  }
}

export interface WorkResult {
  receipt: Uint8Array
  output: Uint8Array
  location: string
}

export namespace WorkResult {
  let _codec: Codec<WorkResult>

  export const codec = (): Codec<WorkResult> => {
    if (_codec == null) {
      _codec = message<WorkResult>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.receipt != null && obj.receipt.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.receipt)
        }

        if ((obj.output != null && obj.output.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.output)
        }

        if ((obj.location != null && obj.location !== '')) {
          w.uint32(26)
          w.string(obj.location)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          receipt: uint8ArrayAlloc(0),
          output: uint8ArrayAlloc(0),
          location: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.receipt = reader.bytes()
              break
            }
            case 2: {
              obj.output = reader.bytes()
              break
            }
            case 3: {
              obj.location = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.receipt`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.output`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.location`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WorkResultReceiptFieldEvent {
    field: '$.receipt'
    value: Uint8Array
  }

  export interface WorkResultOutputFieldEvent {
    field: '$.output'
    value: Uint8Array
  }

  export interface WorkResultLocationFieldEvent {
    field: '$.location'
    value: string
  }

  export function encode (obj: Partial<WorkResult>): Uint8Array {
    return encodeMessage(obj, WorkResult.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkResult>): WorkResult {
    return decodeMessage(buf, WorkResult.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkResult>): Generator<WorkResultReceiptFieldEvent | WorkResultOutputFieldEvent | WorkResultLocationFieldEvent> {
    return streamMessage(buf, WorkResult.codec(), opts)
  }
}

export interface WorkCountersign {
  receipt: Uint8Array
  voucher: Uint8Array
}

export namespace WorkCountersign {
  let _codec: Codec<WorkCountersign>

  export const codec = (): Codec<WorkCountersign> => {
    if (_codec == null) {
      _codec = message<WorkCountersign>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.receipt != null && obj.receipt.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.receipt)
        }

        if ((obj.voucher != null && obj.voucher.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.voucher)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          receipt: uint8ArrayAlloc(0),
          voucher: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.receipt = reader.bytes()
              break
            }
            case 2: {
              obj.voucher = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.receipt`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.voucher`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WorkCountersignReceiptFieldEvent {
    field: '$.receipt'
    value: Uint8Array
  }

  export interface WorkCountersignVoucherFieldEvent {
    field: '$.voucher'
    value: Uint8Array
  }

  export function encode (obj: Partial<WorkCountersign>): Uint8Array {
    return encodeMessage(obj, WorkCountersign.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkCountersign>): WorkCountersign {
    return decodeMessage(buf, WorkCountersign.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkCountersign>): Generator<WorkCountersignReceiptFieldEvent | WorkCountersignVoucherFieldEvent> {
    return streamMessage(buf, WorkCountersign.codec(), opts)
  }
}

export interface WorkVoucher {
  voucher: Uint8Array
}

export namespace WorkVoucher {
  let _codec: Codec<WorkVoucher>

  export const codec = (): Codec<WorkVoucher> => {
    if (_codec == null) {
      _codec = message<WorkVoucher>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.voucher != null && obj.voucher.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.voucher)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          voucher: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.voucher = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.voucher`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WorkVoucherVoucherFieldEvent {
    field: '$.voucher'
    value: Uint8Array
  }

  export function encode (obj: Partial<WorkVoucher>): Uint8Array {
    return encodeMessage(obj, WorkVoucher.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkVoucher>): WorkVoucher {
    return decodeMessage(buf, WorkVoucher.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkVoucher>): Generator<WorkVoucherVoucherFieldEvent> {
    return streamMessage(buf, WorkVoucher.codec(), opts)
  }
}

export interface WorkAck {
  id: Uint8Array
  paid: number
}

export namespace WorkAck {
  let _codec: Codec<WorkAck>

  export const codec = (): Codec<WorkAck> => {
    if (_codec == null) {
      _codec = message<WorkAck>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.id)
        }

        if ((obj.paid != null && obj.paid !== 0)) {
          w.uint32(16)
          w.uint64Number(obj.paid)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: uint8ArrayAlloc(0),
          paid: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.bytes()
              break
            }
            case 2: {
              obj.paid = reader.uint64Number()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.paid`,
                value: reader.uint64Number()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WorkAckIdFieldEvent {
    field: '$.id'
    value: Uint8Array
  }

  export interface WorkAckPaidFieldEvent {
    field: '$.paid'
    value: number
  }

  export function encode (obj: Partial<WorkAck>): Uint8Array {
    return encodeMessage(obj, WorkAck.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkAck>): WorkAck {
    return decodeMessage(buf, WorkAck.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkAck>): Generator<WorkAckIdFieldEvent | WorkAckPaidFieldEvent> {
    return streamMessage(buf, WorkAck.codec(), opts)
  }
}

export interface WorkFailure {
  code: string
  message: string
  retryAfterMs: number
}

export namespace WorkFailure {
  let _codec: Codec<WorkFailure>

  export const codec = (): Codec<WorkFailure> => {
    if (_codec == null) {
      _codec = message<WorkFailure>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.code != null && obj.code !== '')) {
          w.uint32(10)
          w.string(obj.code)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(18)
          w.string(obj.message)
        }

        if ((obj.retryAfterMs != null && obj.retryAfterMs !== 0)) {
          w.uint32(24)
          w.uint64Number(obj.retryAfterMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          code: '',
          message: '',
          retryAfterMs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.code = reader.string()
              break
            }
            case 2: {
              obj.message = reader.string()
              break
            }
            case 3: {
              obj.retryAfterMs = reader.uint64Number()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.code`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.retryAfterMs`,
                value: reader.uint64Number()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WorkFailureCodeFieldEvent {
    field: '$.code'
    value: string
  }

  export interface WorkFailureMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface WorkFailureRetryAfterMsFieldEvent {
    field: '$.retryAfterMs'
    value: number
  }

  export function encode (obj: Partial<WorkFailure>): Uint8Array {
    return encodeMessage(obj, WorkFailure.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkFailure>): WorkFailure {
    return decodeMessage(buf, WorkFailure.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkFailure>): Generator<WorkFailureCodeFieldEvent | WorkFailureMessageFieldEvent | WorkFailureRetryAfterMsFieldEvent> {
    return streamMessage(buf, WorkFailure.codec(), opts)
  }
}

export interface WorkMessage {
  quoteRequest?: WorkQuoteRequest
  quote?: WorkQuoteReply
  assign?: WorkAssign
  progress?: WorkProgress
  result?: WorkResult
  countersign?: WorkCountersign
  voucher?: WorkVoucher
  ack?: WorkAck
  error?: WorkFailure
}

export namespace WorkMessage {
  let _codec: Codec<WorkMessage>

  export const codec = (): Codec<WorkMessage> => {
    if (_codec == null) {
      _codec = message<WorkMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.quoteRequest != null) {
          w.uint32(10)
          WorkQuoteRequest.codec().encode(obj.quoteRequest, w)
        }

        if (obj.quote != null) {
          w.uint32(18)
          WorkQuoteReply.codec().encode(obj.quote, w)
        }

        if (obj.assign != null) {
          w.uint32(26)
          WorkAssign.codec().encode(obj.assign, w)
        }

        if (obj.progress != null) {
          w.uint32(34)
          WorkProgress.codec().encode(obj.progress, w)
        }

        if (obj.result != null) {
          w.uint32(42)
          WorkResult.codec().encode(obj.result, w)
        }

        if (obj.countersign != null) {
          w.uint32(50)
          WorkCountersign.codec().encode(obj.countersign, w)
        }

        if (obj.voucher != null) {
          w.uint32(58)
          WorkVoucher.codec().encode(obj.voucher, w)
        }

        if (obj.ack != null) {
          w.uint32(66)
          WorkAck.codec().encode(obj.ack, w)
        }

        if (obj.error != null) {
          w.uint32(74)
          WorkFailure.codec().encode(obj.error, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.quoteRequest = WorkQuoteRequest.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.quoteRequest
              })
              break
            }
            case 2: {
              obj.quote = WorkQuoteReply.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.quote
              })
              break
            }
            case 3: {
              obj.assign = WorkAssign.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.assign
              })
              break
            }
            case 4: {
              obj.progress = WorkProgress.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.progress
              })
              break
            }
            case 5: {
              obj.result = WorkResult.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.result
              })
              break
            }
            case 6: {
              obj.countersign = WorkCountersign.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.countersign
              })
              break
            }
            case 7: {
              obj.voucher = WorkVoucher.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.voucher
              })
              break
            }
            case 8: {
              obj.ack = WorkAck.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.ack
              })
              break
            }
            case 9: {
              obj.error = WorkFailure.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.error
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * WorkQuoteRequest.codec().stream(reader, reader.uint32(), `${prefix}.quoteRequest`, {
                limits: opts.limits?.quoteRequest
              })

              break
            }
            case 2: {
              yield * WorkQuoteReply.codec().stream(reader, reader.uint32(), `${prefix}.quote`, {
                limits: opts.limits?.quote
              })

              break
            }
            case 3: {
              yield * WorkAssign.codec().stream(reader, reader.uint32(), `${prefix}.assign`, {
                limits: opts.limits?.assign
              })

              break
            }
            case 4: {
              yield * WorkProgress.codec().stream(reader, reader.uint32(), `${prefix}.progress`, {
                limits: opts.limits?.progress
              })

              break
            }
            case 5: {
              yield * WorkResult.codec().stream(reader, reader.uint32(), `${prefix}.result`, {
                limits: opts.limits?.result
              })

              break
            }
            case 6: {
              yield * WorkCountersign.codec().stream(reader, reader.uint32(), `${prefix}.countersign`, {
                limits: opts.limits?.countersign
              })

              break
            }
            case 7: {
              yield * WorkVoucher.codec().stream(reader, reader.uint32(), `${prefix}.voucher`, {
                limits: opts.limits?.voucher
              })

              break
            }
            case 8: {
              yield * WorkAck.codec().stream(reader, reader.uint32(), `${prefix}.ack`, {
                limits: opts.limits?.ack
              })

              break
            }
            case 9: {
              yield * WorkFailure.codec().stream(reader, reader.uint32(), `${prefix}.error`, {
                limits: opts.limits?.error
              })

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WorkMessageQuoteRequestJobFieldEvent {
    field: '$.quoteRequest.job'
    value: Uint8Array
  }

  export interface WorkMessageQuoteRequestInlineJobFieldEvent {
    field: '$.quoteRequest.inlineJob'
    value: Uint8Array
  }

  export interface WorkMessageQuoteQuoteFieldEvent {
    field: '$.quote.quote'
    value: Uint8Array
  }

  export interface WorkMessageAssignAssignmentFieldEvent {
    field: '$.assign.assignment'
    value: Uint8Array
  }

  export interface WorkMessageAssignInputFieldEvent {
    field: '$.assign.input'
    value: Uint8Array
  }

  export interface WorkMessageProgressAssignmentIdFieldEvent {
    field: '$.progress.assignmentId'
    value: Uint8Array
  }

  export interface WorkMessageProgressUnitsFieldEvent {
    field: '$.progress.units'
    value: number
  }

  export interface WorkMessageProgressPermilleFieldEvent {
    field: '$.progress.permille'
    value: number
  }

  export interface WorkMessageProgressMessageFieldEvent {
    field: '$.progress.message'
    value: string
  }

  export interface WorkMessageResultReceiptFieldEvent {
    field: '$.result.receipt'
    value: Uint8Array
  }

  export interface WorkMessageResultOutputFieldEvent {
    field: '$.result.output'
    value: Uint8Array
  }

  export interface WorkMessageResultLocationFieldEvent {
    field: '$.result.location'
    value: string
  }

  export interface WorkMessageCountersignReceiptFieldEvent {
    field: '$.countersign.receipt'
    value: Uint8Array
  }

  export interface WorkMessageCountersignVoucherFieldEvent {
    field: '$.countersign.voucher'
    value: Uint8Array
  }

  export interface WorkMessageVoucherVoucherFieldEvent {
    field: '$.voucher.voucher'
    value: Uint8Array
  }

  export interface WorkMessageAckIdFieldEvent {
    field: '$.ack.id'
    value: Uint8Array
  }

  export interface WorkMessageAckPaidFieldEvent {
    field: '$.ack.paid'
    value: number
  }

  export interface WorkMessageErrorCodeFieldEvent {
    field: '$.error.code'
    value: string
  }

  export interface WorkMessageErrorMessageFieldEvent {
    field: '$.error.message'
    value: string
  }

  export interface WorkMessageErrorRetryAfterMsFieldEvent {
    field: '$.error.retryAfterMs'
    value: number
  }

  export function encode (obj: Partial<WorkMessage>): Uint8Array {
    return encodeMessage(obj, WorkMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkMessage>): WorkMessage {
    return decodeMessage(buf, WorkMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkMessage>): Generator<WorkMessageQuoteRequestJobFieldEvent | WorkMessageQuoteRequestInlineJobFieldEvent | WorkMessageQuoteQuoteFieldEvent | WorkMessageAssignAssignmentFieldEvent | WorkMessageAssignInputFieldEvent | WorkMessageProgressAssignmentIdFieldEvent | WorkMessageProgressUnitsFieldEvent | WorkMessageProgressPermilleFieldEvent | WorkMessageProgressMessageFieldEvent | WorkMessageResultReceiptFieldEvent | WorkMessageResultOutputFieldEvent | WorkMessageResultLocationFieldEvent | WorkMessageCountersignReceiptFieldEvent | WorkMessageCountersignVoucherFieldEvent | WorkMessageVoucherVoucherFieldEvent | WorkMessageAckIdFieldEvent | WorkMessageAckPaidFieldEvent | WorkMessageErrorCodeFieldEvent | WorkMessageErrorMessageFieldEvent | WorkMessageErrorRetryAfterMsFieldEvent> {
    return streamMessage(buf, WorkMessage.codec(), opts)
  }
}

export interface CaptureProof {
  attestation: Uint8Array
  witnesses: Uint8Array[]
  history: Uint8Array[]
}

export namespace CaptureProof {
  let _codec: Codec<CaptureProof>

  export const codec = (): Codec<CaptureProof> => {
    if (_codec == null) {
      _codec = message<CaptureProof>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.attestation != null && obj.attestation.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.attestation)
        }

        if (obj.witnesses != null && obj.witnesses.length > 0) {
          for (const value of obj.witnesses) {
            w.uint32(18)
            w.bytes(value)
          }
        }

        if (obj.history != null && obj.history.length > 0) {
          for (const value of obj.history) {
            w.uint32(26)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          attestation: uint8ArrayAlloc(0),
          witnesses: [],
          history: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.attestation = reader.bytes()
              break
            }
            case 2: {
              if (opts.limits?.witnesses != null && obj.witnesses.length === opts.limits.witnesses) {
                throw new MaxLengthError('Decode error - repeated field "witnesses" had too many elements')
              }

              obj.witnesses.push(reader.bytes())
              break
            }
            case 3: {
              if (opts.limits?.history != null && obj.history.length === opts.limits.history) {
                throw new MaxLengthError('Decode error - repeated field "history" had too many elements')
              }

              obj.history.push(reader.bytes())
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          witnesses: 0,
          history: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.attestation`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              if (opts.limits?.witnesses != null && obj.witnesses === opts.limits.witnesses) {
                throw new MaxLengthError('Streaming decode error - repeated field "witnesses" had too many elements')
              }

              yield {
                field: `${prefix}.witnesses[]`,
                index: obj.witnesses,
                value: reader.bytes()
              }

              obj.witnesses++

              break
            }
            case 3: {
              if (opts.limits?.history != null && obj.history === opts.limits.history) {
                throw new MaxLengthError('Streaming decode error - repeated field "history" had too many elements')
              }

              yield {
                field: `${prefix}.history[]`,
                index: obj.history,
                value: reader.bytes()
              }

              obj.history++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CaptureProofAttestationFieldEvent {
    field: '$.attestation'
    value: Uint8Array
  }

  export interface CaptureProofWitnessesFieldEvent {
    field: '$.witnesses[]'
    index: number
    value: Uint8Array
  }

  export interface CaptureProofHistoryFieldEvent {
    field: '$.history[]'
    index: number
    value: Uint8Array
  }

  export function encode (obj: Partial<CaptureProof>): Uint8Array {
    return encodeMessage(obj, CaptureProof.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CaptureProof>): CaptureProof {
    return decodeMessage(buf, CaptureProof.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CaptureProof>): Generator<CaptureProofAttestationFieldEvent | CaptureProofWitnessesFieldEvent | CaptureProofHistoryFieldEvent> {
    return streamMessage(buf, CaptureProof.codec(), opts)
  }
}

export interface WitnessOpen {
  jobId: Uint8Array
  geohash: string
  startedMs: number
  durationMs: number
}

export namespace WitnessOpen {
  let _codec: Codec<WitnessOpen>

  export const codec = (): Codec<WitnessOpen> => {
    if (_codec == null) {
      _codec = message<WitnessOpen>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.jobId)
        }

        if ((obj.geohash != null && obj.geohash !== '')) {
          w.uint32(18)
          w.string(obj.geohash)
        }

        if ((obj.startedMs != null && obj.startedMs !== 0)) {
          w.uint32(24)
          w.uint64Number(obj.startedMs)
        }

        if ((obj.durationMs != null && obj.durationMs !== 0)) {
          w.uint32(32)
          w.uint32(obj.durationMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: uint8ArrayAlloc(0),
          geohash: '',
          startedMs: 0,
          durationMs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.jobId = reader.bytes()
              break
            }
            case 2: {
              obj.geohash = reader.string()
              break
            }
            case 3: {
              obj.startedMs = reader.uint64Number()
              break
            }
            case 4: {
              obj.durationMs = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.geohash`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.startedMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.durationMs`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WitnessOpenJobIdFieldEvent {
    field: '$.jobId'
    value: Uint8Array
  }

  export interface WitnessOpenGeohashFieldEvent {
    field: '$.geohash'
    value: string
  }

  export interface WitnessOpenStartedMsFieldEvent {
    field: '$.startedMs'
    value: number
  }

  export interface WitnessOpenDurationMsFieldEvent {
    field: '$.durationMs'
    value: number
  }

  export function encode (obj: Partial<WitnessOpen>): Uint8Array {
    return encodeMessage(obj, WitnessOpen.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WitnessOpen>): WitnessOpen {
    return decodeMessage(buf, WitnessOpen.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WitnessOpen>): Generator<WitnessOpenJobIdFieldEvent | WitnessOpenGeohashFieldEvent | WitnessOpenStartedMsFieldEvent | WitnessOpenDurationMsFieldEvent> {
    return streamMessage(buf, WitnessOpen.codec(), opts)
  }
}

export interface WitnessAccept {
  geohash: string
  price?: Price
}

export namespace WitnessAccept {
  let _codec: Codec<WitnessAccept>

  export const codec = (): Codec<WitnessAccept> => {
    if (_codec == null) {
      _codec = message<WitnessAccept>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.geohash != null && obj.geohash !== '')) {
          w.uint32(10)
          w.string(obj.geohash)
        }

        if (obj.price != null) {
          w.uint32(18)
          Price.codec().encode(obj.price, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          geohash: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.geohash = reader.string()
              break
            }
            case 2: {
              obj.price = Price.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.price
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.geohash`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield * Price.codec().stream(reader, reader.uint32(), `${prefix}.price`, {
                limits: opts.limits?.price
              })

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WitnessAcceptGeohashFieldEvent {
    field: '$.geohash'
    value: string
  }

  export interface WitnessAcceptPricePerUnitFieldEvent {
    field: '$.price.perUnit'
    value: number
  }

  export interface WitnessAcceptPriceCurrencyFieldEvent {
    field: '$.price.currency'
    value: string
  }

  export interface WitnessAcceptPriceUnitFieldEvent {
    field: '$.price.unit'
    value: string
  }

  export function encode (obj: Partial<WitnessAccept>): Uint8Array {
    return encodeMessage(obj, WitnessAccept.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WitnessAccept>): WitnessAccept {
    return decodeMessage(buf, WitnessAccept.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WitnessAccept>): Generator<WitnessAcceptGeohashFieldEvent | WitnessAcceptPricePerUnitFieldEvent | WitnessAcceptPriceCurrencyFieldEvent | WitnessAcceptPriceUnitFieldEvent> {
    return streamMessage(buf, WitnessAccept.codec(), opts)
  }
}

export interface WitnessEcho {
  nonce: Uint8Array
}

export namespace WitnessEcho {
  let _codec: Codec<WitnessEcho>

  export const codec = (): Codec<WitnessEcho> => {
    if (_codec == null) {
      _codec = message<WitnessEcho>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.nonce)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          nonce: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.nonce = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.nonce`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WitnessEchoNonceFieldEvent {
    field: '$.nonce'
    value: Uint8Array
  }

  export function encode (obj: Partial<WitnessEcho>): Uint8Array {
    return encodeMessage(obj, WitnessEcho.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WitnessEcho>): WitnessEcho {
    return decodeMessage(buf, WitnessEcho.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WitnessEcho>): Generator<WitnessEchoNonceFieldEvent> {
    return streamMessage(buf, WitnessEcho.codec(), opts)
  }
}

export interface WitnessAttest {
  attestation: Uint8Array
}

export namespace WitnessAttest {
  let _codec: Codec<WitnessAttest>

  export const codec = (): Codec<WitnessAttest> => {
    if (_codec == null) {
      _codec = message<WitnessAttest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.attestation != null && obj.attestation.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.attestation)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          attestation: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.attestation = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.attestation`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WitnessAttestAttestationFieldEvent {
    field: '$.attestation'
    value: Uint8Array
  }

  export function encode (obj: Partial<WitnessAttest>): Uint8Array {
    return encodeMessage(obj, WitnessAttest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WitnessAttest>): WitnessAttest {
    return decodeMessage(buf, WitnessAttest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WitnessAttest>): Generator<WitnessAttestAttestationFieldEvent> {
    return streamMessage(buf, WitnessAttest.codec(), opts)
  }
}

export interface WitnessSigned {
  statement: Uint8Array
  receipt: Uint8Array
  history: Uint8Array[]
}

export namespace WitnessSigned {
  let _codec: Codec<WitnessSigned>

  export const codec = (): Codec<WitnessSigned> => {
    if (_codec == null) {
      _codec = message<WitnessSigned>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.statement != null && obj.statement.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.statement)
        }

        if ((obj.receipt != null && obj.receipt.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.receipt)
        }

        if (obj.history != null && obj.history.length > 0) {
          for (const value of obj.history) {
            w.uint32(26)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          statement: uint8ArrayAlloc(0),
          receipt: uint8ArrayAlloc(0),
          history: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.statement = reader.bytes()
              break
            }
            case 2: {
              obj.receipt = reader.bytes()
              break
            }
            case 3: {
              if (opts.limits?.history != null && obj.history.length === opts.limits.history) {
                throw new MaxLengthError('Decode error - repeated field "history" had too many elements')
              }

              obj.history.push(reader.bytes())
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          history: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.statement`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.receipt`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              if (opts.limits?.history != null && obj.history === opts.limits.history) {
                throw new MaxLengthError('Streaming decode error - repeated field "history" had too many elements')
              }

              yield {
                field: `${prefix}.history[]`,
                index: obj.history,
                value: reader.bytes()
              }

              obj.history++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WitnessSignedStatementFieldEvent {
    field: '$.statement'
    value: Uint8Array
  }

  export interface WitnessSignedReceiptFieldEvent {
    field: '$.receipt'
    value: Uint8Array
  }

  export interface WitnessSignedHistoryFieldEvent {
    field: '$.history[]'
    index: number
    value: Uint8Array
  }

  export function encode (obj: Partial<WitnessSigned>): Uint8Array {
    return encodeMessage(obj, WitnessSigned.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WitnessSigned>): WitnessSigned {
    return decodeMessage(buf, WitnessSigned.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WitnessSigned>): Generator<WitnessSignedStatementFieldEvent | WitnessSignedReceiptFieldEvent | WitnessSignedHistoryFieldEvent> {
    return streamMessage(buf, WitnessSigned.codec(), opts)
  }
}

export interface WitnessCountersign {
  receipt: Uint8Array
}

export namespace WitnessCountersign {
  let _codec: Codec<WitnessCountersign>

  export const codec = (): Codec<WitnessCountersign> => {
    if (_codec == null) {
      _codec = message<WitnessCountersign>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.receipt != null && obj.receipt.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.receipt)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          receipt: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.receipt = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.receipt`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WitnessCountersignReceiptFieldEvent {
    field: '$.receipt'
    value: Uint8Array
  }

  export function encode (obj: Partial<WitnessCountersign>): Uint8Array {
    return encodeMessage(obj, WitnessCountersign.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WitnessCountersign>): WitnessCountersign {
    return decodeMessage(buf, WitnessCountersign.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WitnessCountersign>): Generator<WitnessCountersignReceiptFieldEvent> {
    return streamMessage(buf, WitnessCountersign.codec(), opts)
  }
}

export interface WitnessMessage {
  open?: WitnessOpen
  accept?: WitnessAccept
  echo?: WitnessEcho
  attest?: WitnessAttest
  signed?: WitnessSigned
  countersign?: WitnessCountersign
  error?: WorkFailure
}

export namespace WitnessMessage {
  let _codec: Codec<WitnessMessage>

  export const codec = (): Codec<WitnessMessage> => {
    if (_codec == null) {
      _codec = message<WitnessMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.open != null) {
          w.uint32(10)
          WitnessOpen.codec().encode(obj.open, w)
        }

        if (obj.accept != null) {
          w.uint32(18)
          WitnessAccept.codec().encode(obj.accept, w)
        }

        if (obj.echo != null) {
          w.uint32(26)
          WitnessEcho.codec().encode(obj.echo, w)
        }

        if (obj.attest != null) {
          w.uint32(34)
          WitnessAttest.codec().encode(obj.attest, w)
        }

        if (obj.signed != null) {
          w.uint32(42)
          WitnessSigned.codec().encode(obj.signed, w)
        }

        if (obj.countersign != null) {
          w.uint32(50)
          WitnessCountersign.codec().encode(obj.countersign, w)
        }

        if (obj.error != null) {
          w.uint32(58)
          WorkFailure.codec().encode(obj.error, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.open = WitnessOpen.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.open
              })
              break
            }
            case 2: {
              obj.accept = WitnessAccept.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.accept
              })
              break
            }
            case 3: {
              obj.echo = WitnessEcho.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.echo
              })
              break
            }
            case 4: {
              obj.attest = WitnessAttest.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.attest
              })
              break
            }
            case 5: {
              obj.signed = WitnessSigned.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.signed
              })
              break
            }
            case 6: {
              obj.countersign = WitnessCountersign.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.countersign
              })
              break
            }
            case 7: {
              obj.error = WorkFailure.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.error
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * WitnessOpen.codec().stream(reader, reader.uint32(), `${prefix}.open`, {
                limits: opts.limits?.open
              })

              break
            }
            case 2: {
              yield * WitnessAccept.codec().stream(reader, reader.uint32(), `${prefix}.accept`, {
                limits: opts.limits?.accept
              })

              break
            }
            case 3: {
              yield * WitnessEcho.codec().stream(reader, reader.uint32(), `${prefix}.echo`, {
                limits: opts.limits?.echo
              })

              break
            }
            case 4: {
              yield * WitnessAttest.codec().stream(reader, reader.uint32(), `${prefix}.attest`, {
                limits: opts.limits?.attest
              })

              break
            }
            case 5: {
              yield * WitnessSigned.codec().stream(reader, reader.uint32(), `${prefix}.signed`, {
                limits: opts.limits?.signed
              })

              break
            }
            case 6: {
              yield * WitnessCountersign.codec().stream(reader, reader.uint32(), `${prefix}.countersign`, {
                limits: opts.limits?.countersign
              })

              break
            }
            case 7: {
              yield * WorkFailure.codec().stream(reader, reader.uint32(), `${prefix}.error`, {
                limits: opts.limits?.error
              })

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WitnessMessageOpenJobIdFieldEvent {
    field: '$.open.jobId'
    value: Uint8Array
  }

  export interface WitnessMessageOpenGeohashFieldEvent {
    field: '$.open.geohash'
    value: string
  }

  export interface WitnessMessageOpenStartedMsFieldEvent {
    field: '$.open.startedMs'
    value: number
  }

  export interface WitnessMessageOpenDurationMsFieldEvent {
    field: '$.open.durationMs'
    value: number
  }

  export interface WitnessMessageAcceptGeohashFieldEvent {
    field: '$.accept.geohash'
    value: string
  }

  export interface WitnessMessageAcceptPricePerUnitFieldEvent {
    field: '$.accept.price.perUnit'
    value: number
  }

  export interface WitnessMessageAcceptPriceCurrencyFieldEvent {
    field: '$.accept.price.currency'
    value: string
  }

  export interface WitnessMessageAcceptPriceUnitFieldEvent {
    field: '$.accept.price.unit'
    value: string
  }

  export interface WitnessMessageEchoNonceFieldEvent {
    field: '$.echo.nonce'
    value: Uint8Array
  }

  export interface WitnessMessageAttestAttestationFieldEvent {
    field: '$.attest.attestation'
    value: Uint8Array
  }

  export interface WitnessMessageSignedStatementFieldEvent {
    field: '$.signed.statement'
    value: Uint8Array
  }

  export interface WitnessMessageSignedReceiptFieldEvent {
    field: '$.signed.receipt'
    value: Uint8Array
  }

  export interface WitnessMessageSignedHistoryFieldEvent {
    field: '$.signed.history[]'
    index: number
    value: Uint8Array
  }

  export interface WitnessMessageCountersignReceiptFieldEvent {
    field: '$.countersign.receipt'
    value: Uint8Array
  }

  export interface WitnessMessageErrorCodeFieldEvent {
    field: '$.error.code'
    value: string
  }

  export interface WitnessMessageErrorMessageFieldEvent {
    field: '$.error.message'
    value: string
  }

  export interface WitnessMessageErrorRetryAfterMsFieldEvent {
    field: '$.error.retryAfterMs'
    value: number
  }

  export function encode (obj: Partial<WitnessMessage>): Uint8Array {
    return encodeMessage(obj, WitnessMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WitnessMessage>): WitnessMessage {
    return decodeMessage(buf, WitnessMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WitnessMessage>): Generator<WitnessMessageOpenJobIdFieldEvent | WitnessMessageOpenGeohashFieldEvent | WitnessMessageOpenStartedMsFieldEvent | WitnessMessageOpenDurationMsFieldEvent | WitnessMessageAcceptGeohashFieldEvent | WitnessMessageAcceptPricePerUnitFieldEvent | WitnessMessageAcceptPriceCurrencyFieldEvent | WitnessMessageAcceptPriceUnitFieldEvent | WitnessMessageEchoNonceFieldEvent | WitnessMessageAttestAttestationFieldEvent | WitnessMessageSignedStatementFieldEvent | WitnessMessageSignedReceiptFieldEvent | WitnessMessageSignedHistoryFieldEvent | WitnessMessageCountersignReceiptFieldEvent | WitnessMessageErrorCodeFieldEvent | WitnessMessageErrorMessageFieldEvent | WitnessMessageErrorRetryAfterMsFieldEvent> {
    return streamMessage(buf, WitnessMessage.codec(), opts)
  }
}
