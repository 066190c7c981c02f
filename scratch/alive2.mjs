const live = new Map()
const orig = globalThis.setTimeout
globalThis.setTimeout = function (fn, ms, ...a) {
  const t = orig(function (...x) { live.delete(t); return fn(...x) }, ms, ...a)
  if (ms > 5000) live.set(t, { ms, stack: new Error().stack.split('\n').slice(2, 7).join(' | ') })
  return t
}
const origClear = globalThis.clearTimeout
globalThis.clearTimeout = function (t) { live.delete(t); return origClear(t) }
const { run } = await import('../bench/dist/benchmarks/market.js')
const r = await run({ quick: true, seed: 1, help: false, extra: { duration: '5', peers: '20' } })
orig(() => {
  for (const [t, v] of live) if (t.hasRef()) console.error('LIVE', v.ms, v.stack)
}, 3000).unref()
