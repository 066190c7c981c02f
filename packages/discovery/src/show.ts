/** A short, safe rendering of an untrusted value for error messages (@shoal/utils). */
export { show } from '@shoal/utils'
