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

/**
 * Default bounds per media type (a type's parameters are ignored; `video/*`
 * matches any video type without an entry of its own). Unknown types have
 * no bounds of their own and use `* / *`.
 */
export const MEDIA_RATES: Readonly<Record<string, MediaRate>> = {}

/** The bounds for `mediaType` among `rates` (default MEDIA_RATES). */
export function mediaRate (mediaType: string, rates: Readonly<Record<string, MediaRate>> = MEDIA_RATES): MediaRate {
  throw new Error('not implemented')
}

/** Whether `bytes` fit `seconds` of `mediaType`. */
export function bytesFitDuration (mediaType: string, bytes: number, seconds: number, rates?: Readonly<Record<string, MediaRate>>): boolean {
  throw new Error('not implemented')
}
