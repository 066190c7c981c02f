/**
 * What a second of footage may weigh, per media type: bytes that do not fit
 * the claimed duration (60 s claimed for 6 s of bytes) are refused.
 */

/** Bounds of one second of a media type, bytes. */
export interface MediaRate {
  /** fewest bytes one second of this media can take */
  minBytesPerSecond: number
  /** most bytes one second of this media can take */
  maxBytesPerSecond: number
}

const KIB = 1024
const MIB = 1024 * KIB

/**
 * Default bounds per media type (a type's parameters are ignored; `video/*`
 * matches any video type without an entry of its own). A type with neither
 * an entry of its own nor a `type/*` one is unknown: a verifier refuses it
 * (`media-type-unknown`). There is no catch-all here; a verifier that wants
 * one passes rates with a `* / *` entry (written without the spaces) as
 * `VerifyContext.mediaRates`.
 *
 * The floors are what a still scene costs an encoder (a few KiB a second
 * of video, a low-bitrate voice codec for audio); the ceilings are above
 * any camera's or microphone's raw-ish output one peer can upload.
 */
export const MEDIA_RATES: Readonly<Record<string, MediaRate>> = Object.freeze({
  'video/*': { minBytesPerSecond: 4 * KIB, maxBytesPerSecond: 40 * MIB },
  'audio/*': { minBytesPerSecond: 1 * KIB, maxBytesPerSecond: 1 * MIB },
  // a still per second (time-lapse): a small JPEG up to a large raw frame
  'image/*': { minBytesPerSecond: 1 * KIB, maxBytesPerSecond: 64 * MIB },
  // sensor logs (gps, imu) at their lowest to raw sensor dumps
  'application/octet-stream': { minBytesPerSecond: 16, maxBytesPerSecond: 64 * MIB }
})

/** `type/subtype` of a media type, lower case, without parameters or spaces. */
export function mediaEssence (mediaType: string): string {
  const semi = mediaType.indexOf(';')
  return (semi === -1 ? mediaType : mediaType.slice(0, semi)).trim().toLowerCase()
}

/**
 * The bounds for `mediaType` among `rates` (default MEDIA_RATES): its own
 * entry, else its `type/*` entry, else a `* / *` entry (without the spaces)
 * when `rates` has one (MEDIA_RATES has none). Undefined for a type these
 * rates do not know: it has no bounds, and nothing of it is plausible.
 */
export function mediaRate (mediaType: string, rates: Readonly<Record<string, MediaRate>> = MEDIA_RATES): MediaRate | undefined {
  const type = mediaEssence(typeof mediaType === 'string' ? mediaType : '')
  const own = Object.hasOwn(rates, type) ? rates[type] : undefined
  if (own != null) {
    return own
  }
  const slash = type.indexOf('/')
  if (slash > 0) {
    const wildcard = `${type.slice(0, slash)}/*`
    if (Object.hasOwn(rates, wildcard)) {
      return rates[wildcard]
    }
  }
  if (Object.hasOwn(rates, '*/*')) {
    return rates['*/*']
  }
  return undefined
}

/** Whether `bytes` fit `seconds` of `mediaType` (never for a type `rates` do not know). */
export function bytesFitDuration (mediaType: string, bytes: number, seconds: number, rates?: Readonly<Record<string, MediaRate>>): boolean {
  if (!Number.isFinite(bytes) || !Number.isFinite(seconds) || bytes < 0 || seconds <= 0) {
    return false
  }
  const rate = mediaRate(mediaType, rates)
  if (rate == null) {
    return false
  }
  return bytes >= rate.minBytesPerSecond * seconds && bytes <= rate.maxBytesPerSecond * seconds
}

/**
 * What media types a bounty's sensors need: footage of a `video` sensor is
 * `video/*`; of an `audio` sensor, `audio/*` or `video/*` (video carries its
 * sound). Other sensors (gps, imu, lidar, ...) ask nothing of the media
 * type: their logs may ride along any footage. Sensor names are compared in
 * lower case.
 */
export const SENSOR_MEDIA_TYPES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  video: Object.freeze(['video']),
  audio: Object.freeze(['audio', 'video'])
})

/** The first of `sensors` whose footage cannot be `mediaType` (see SENSOR_MEDIA_TYPES), or undefined. */
export function sensorMediaMismatch (sensors: readonly string[], mediaType: string): string | undefined {
  const type = mediaEssence(typeof mediaType === 'string' ? mediaType : '')
  const top = type.slice(0, Math.max(0, type.indexOf('/')))
  for (const sensor of Array.isArray(sensors) ? sensors : []) {
    const name = typeof sensor === 'string' ? sensor.trim().toLowerCase() : ''
    const allowed = Object.hasOwn(SENSOR_MEDIA_TYPES, name) ? SENSOR_MEDIA_TYPES[name] : undefined
    if (allowed != null && !allowed.includes(top)) {
      return sensor
    }
  }
  return undefined
}
