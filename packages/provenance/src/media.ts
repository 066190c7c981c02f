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
 * matches any video type without an entry of its own). Unknown types have
 * no bounds of their own and use `* / *`.
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
  'application/octet-stream': { minBytesPerSecond: 16, maxBytesPerSecond: 64 * MIB },
  '*/*': { minBytesPerSecond: 1, maxBytesPerSecond: 128 * MIB }
})

/** `type/subtype` of a media type, lower case, without parameters or spaces. */
function essence (mediaType: string): string {
  const semi = mediaType.indexOf(';')
  return (semi === -1 ? mediaType : mediaType.slice(0, semi)).trim().toLowerCase()
}

/** The bounds for `mediaType` among `rates` (default MEDIA_RATES). */
export function mediaRate (mediaType: string, rates: Readonly<Record<string, MediaRate>> = MEDIA_RATES): MediaRate {
  const type = essence(mediaType)
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
  return MEDIA_RATES['*/*']
}

/** Whether `bytes` fit `seconds` of `mediaType`. */
export function bytesFitDuration (mediaType: string, bytes: number, seconds: number, rates?: Readonly<Record<string, MediaRate>>): boolean {
  if (!Number.isFinite(bytes) || !Number.isFinite(seconds) || bytes < 0 || seconds <= 0) {
    return false
  }
  const rate = mediaRate(mediaType, rates)
  return bytes >= rate.minBytesPerSecond * seconds && bytes <= rate.maxBytesPerSecond * seconds
}
