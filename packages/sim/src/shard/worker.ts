/**
 * Entry point of a local shard: a worker thread (`shardHost: 'thread'`,
 * the plan in `workerData`) or a child process forked by the coordinator
 * (`shardHost: 'process'`, the plan arrives as the first IPC message).
 */

import { parentPort, workerData } from 'node:worker_threads'
import { ProcessLink, WorkerLink } from './control.js'
import { runShard } from './shard-runner.js'
import type { FromShard, ShardWorkerData, ToShard } from './protocol.js'

if (parentPort != null) {
  await runShard(new WorkerLink<ToShard, FromShard>(parentPort), workerData as ShardWorkerData)
} else if (typeof process.send === 'function') {
  const link = new ProcessLink<ToShard, FromShard>(process)
  // the coordinator closed the link or died: this process has nothing left to do
  link.onExit(() => { process.exit(0) })
  await runShard(link)
} else {
  throw new Error('the shard entry runs in a worker thread or a forked process; use `shoal-sim shard --join` for a remote shard')
}
