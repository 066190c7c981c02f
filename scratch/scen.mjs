import { marketScenario } from '../bench/dist/benchmarks/market.js'
const s = marketScenario({ peers: 60, durationS: 20, rate: 1, shards: 2, churn: 0.3, quick: true }, '/work/shared/data/latency/wondernetwork-2020-07', 1)
console.log(JSON.stringify(s, null, 1))
