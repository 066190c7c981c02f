import { run } from '../bench/dist/benchmarks/market.js'
const r = await run({ quick: true, seed: 1, help: false, extra: { duration: '5', peers: '20' } })
console.error('done', r.jobs, r.job_success_ratio)
const t0 = Date.now()
const iv = setInterval(() => { console.error(Math.round((Date.now()-t0)/1000), JSON.stringify(process.getActiveResourcesInfo().reduce((a, k) => { a[k] = (a[k] ?? 0) + 1; return a }, {}))) }, 3000)
iv.unref()
