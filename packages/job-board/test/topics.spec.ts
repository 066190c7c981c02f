import assert from 'node:assert/strict'
import { JobKind } from '@shoal/records'
import fc from 'fast-check'
import {
  MAX_SUBSCRIBED_TOPICS, announcementFitsTopic, jobMatchesInterests, jobTopic, parseJobTopic, topicsForAnnouncement, topicsForInterests
} from '../src/topics.js'

const job = (region: string, kind = JobKind.GPU_INFERENCE): { kind: JobKind, requirements: any } => ({
  kind,
  requirements: { gpuModel: '', gpuClass: '', minVramMib: 0, gpuCount: 0, sensors: [], region, maxRttMs: 0 }
})

describe('topics', () => {
  it('names topics by kind and 2-character region', () => {
    assert.equal(jobTopic(JobKind.GPU_INFERENCE, 'w21z'), '/shoal/jobs/1.0.0/gpu-inference/w2')
    assert.equal(jobTopic(JobKind.CAPTURE), '/shoal/jobs/1.0.0/capture/global')
    assert.throws(() => jobTopic(JobKind.GPU_BATCH, 'w'), { name: 'InvalidInterestsError' })
    assert.throws(() => jobTopic(JobKind.JOB_KIND_UNSPECIFIED as any), { name: 'InvalidInterestsError' })
  })

  it('parses what it names, and nothing else', () => {
    assert.deepEqual(parseJobTopic('/shoal/jobs/1.0.0/gpu-batch/u0'), { kind: JobKind.GPU_BATCH, region: 'u0' })
    assert.deepEqual(parseJobTopic('/shoal/jobs/1.0.0/capture/global'), { kind: JobKind.CAPTURE })
    for (const bad of ['/shoal/jobs/1.0.0/gpu-batch/u', '/shoal/jobs/1.0.0/gpu-batch/ua', '/shoal/jobs/1.0.0/x/u0', '/shoal/jobs/2.0.0/capture/global', '/shoal/jobs/1.0.0/capture/u0/x']) {
      assert.equal(parseJobTopic(bad), undefined, bad)
    }
    fc.assert(fc.property(fc.string(), (s) => {
      const parsed = parseJobTopic(s)
      return parsed == null || jobTopic(parsed.kind, parsed.region) === s
    }))
  })

  it('publishes regional jobs regionally, and globally on request or without a region', () => {
    assert.deepEqual(topicsForAnnouncement(job('w21z')), ['/shoal/jobs/1.0.0/gpu-inference/w2'])
    assert.deepEqual(topicsForAnnouncement(job('w21z'), true), ['/shoal/jobs/1.0.0/gpu-inference/w2', '/shoal/jobs/1.0.0/gpu-inference/global'])
    assert.deepEqual(topicsForAnnouncement(job('')), ['/shoal/jobs/1.0.0/gpu-inference/global'])
    assert.deepEqual(topicsForAnnouncement(job('w')), ['/shoal/jobs/1.0.0/gpu-inference/global'])
  })

  it('checks that an announcement fits its topic', () => {
    const w2 = parseJobTopic(jobTopic(JobKind.GPU_INFERENCE, 'w2'))!
    const global = parseJobTopic(jobTopic(JobKind.GPU_INFERENCE))!
    assert.ok(announcementFitsTopic(job('w21z'), w2))
    assert.ok(announcementFitsTopic(job('w21z'), global))
    assert.ok(announcementFitsTopic(job(''), global))
    assert.ok(!announcementFitsTopic(job('u09'), w2))
    assert.ok(!announcementFitsTopic(job(''), w2))
    assert.ok(!announcementFitsTopic(job('w21z', JobKind.GPU_BATCH), w2))
  })

  it('subscribes to the global topic and the served regions of each served kind', () => {
    assert.deepEqual(topicsForInterests({}), [])
    assert.deepEqual(topicsForInterests({ kinds: [JobKind.CAPTURE], regions: ['w21z', 'w2x'] }).sort(), [
      '/shoal/jobs/1.0.0/capture/global', '/shoal/jobs/1.0.0/capture/w2'
    ])
    assert.equal(topicsForInterests({ kinds: [JobKind.CAPTURE], regions: ['w'] }).length, 33, 'a 1-character prefix covers its 32 regions')
    assert.throws(() => topicsForInterests({ kinds: [JobKind.CAPTURE], regions: ['not a geohash'] }), { name: 'InvalidInterestsError' })
    assert.throws(() => topicsForInterests({ kinds: [JobKind.CAPTURE], regions: [''] }), { name: 'InvalidInterestsError' })
    const many = { kinds: [JobKind.CAPTURE, JobKind.GPU_BATCH, JobKind.GPU_INFERENCE], regions: ['u', 'w', 'x'] }
    assert.throws(() => topicsForInterests(many), (err: Error) => err.name === 'InvalidInterestsError' && err.message.includes(String(MAX_SUBSCRIBED_TOPICS)))
  })

  it('matches jobs learned by sync against interests', () => {
    const sg = { kinds: [JobKind.GPU_INFERENCE], regions: ['w21z'] }
    assert.ok(jobMatchesInterests(job('w2'), sg))
    assert.ok(jobMatchesInterests(job('w2zzz'), sg))
    assert.ok(jobMatchesInterests(job(''), sg))
    assert.ok(!jobMatchesInterests(job('u0'), sg))
    assert.ok(!jobMatchesInterests(job('w2', JobKind.CAPTURE), sg))
  })
})
