/**
 * The token bucket limiting each requester's announcements: @shoal/utils'
 * TokenBucketLimiter, re-exported under this module's old name.
 */

export { TokenBucketLimiter } from '@shoal/utils'
export type { TokenBucketInit } from '@shoal/utils'
