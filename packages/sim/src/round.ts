/** `x` to three decimals, as events and results record times (µs for ms, ms for s). */
export function round (x: number): number {
  return Math.round(x * 1000) / 1000
}
