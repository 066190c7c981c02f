/**
 * Topic names: one global topic per job kind, and one per (kind, coarse
 * region), so a capture bounty in Jakarta does not wake every GPU in Europe.
 */

import { JobKind, geohashChildren, isGeohash } from '@shoal/records'
import { GLOBAL_REGION, REGION_PRECISION, TOPIC_PREFIX } from './constants.js'
import { InvalidInterestsError } from './errors.js'
import type { JobAnnouncement } from '@shoal/records'

/** The job kinds that have topics (every kind but `JOB_KIND_UNSPECIFIED`). */
export type TopicJobKind = JobKind.GPU_INFERENCE | JobKind.GPU_BATCH | JobKind.CAPTURE

/** Topic segment of each job kind. */
export const KIND_SEGMENT: Readonly<Record<TopicJobKind, string>> = Object.freeze({
  [JobKind.GPU_INFERENCE]: 'gpu-inference',
  [JobKind.GPU_BATCH]: 'gpu-batch',
  [JobKind.CAPTURE]: 'capture'
})

const SEGMENT_KIND = new Map<string, TopicJobKind>(
  Object.entries(KIND_SEGMENT).map(([kind, segment]) => [segment, kind as TopicJobKind])
)

/** Every job kind with topics. */
export const JOB_KINDS: readonly TopicJobKind[] = Object.freeze([JobKind.GPU_INFERENCE, JobKind.GPU_BATCH, JobKind.CAPTURE])

/** Most topics one board subscribes to: gossipsub peers budget about 1,000 topics per peer. */
export const MAX_SUBSCRIBED_TOPICS = 256

/** What a topic name says: the job kind and the region (`undefined` for the global topic). */
export interface ParsedTopic {
  kind: TopicJobKind
  /** geohash prefix of REGION_PRECISION characters, or undefined for the kind's global topic */
  region?: string
}

/** Whether a job kind has topics. */
export function isTopicJobKind (kind: unknown): kind is TopicJobKind {
  return kind === JobKind.GPU_INFERENCE || kind === JobKind.GPU_BATCH || kind === JobKind.CAPTURE
}

/** The region segment of a geohash: its first REGION_PRECISION characters, or undefined when it is too short to name one. */
export function regionOf (geohash: string): string | undefined {
  if (geohash.length < REGION_PRECISION || !isGeohash(geohash)) {
    return undefined
  }
  return geohash.slice(0, REGION_PRECISION)
}

/** The topic for a job kind and a region (a geohash, cut to REGION_PRECISION), or the kind's global topic. */
export function jobTopic (kind: TopicJobKind, region?: string): string {
  const segment = KIND_SEGMENT[kind]
  if (segment == null) {
    throw new InvalidInterestsError(`No topic for job kind ${String(kind)}`)
  }
  if (region == null) {
    return `${TOPIC_PREFIX}/${segment}/${GLOBAL_REGION}`
  }
  const r = regionOf(region)
  if (r == null) {
    throw new InvalidInterestsError(`Region "${region}" is not a geohash of at least ${REGION_PRECISION} characters`)
  }
  return `${TOPIC_PREFIX}/${segment}/${r}`
}

/** Parse a job topic name; undefined for anything that is not one. */
export function parseJobTopic (topic: string): ParsedTopic | undefined {
  if (!topic.startsWith(TOPIC_PREFIX + '/')) {
    return undefined
  }
  const parts = topic.slice(TOPIC_PREFIX.length + 1).split('/')
  if (parts.length !== 2) {
    return undefined
  }
  const kind = SEGMENT_KIND.get(parts[0])
  if (kind == null) {
    return undefined
  }
  if (parts[1] === GLOBAL_REGION) {
    return { kind }
  }
  if (parts[1].length !== REGION_PRECISION || regionOf(parts[1]) !== parts[1]) {
    return undefined
  }
  return { kind, region: parts[1] }
}

/**
 * The topics an announcement is published on: its regional topic when its
 * region names one, and the kind's global topic when it has no region or
 * the requester asks to announce globally.
 */
export function topicsForAnnouncement (job: Pick<JobAnnouncement, 'kind' | 'requirements'>, global = false): string[] {
  if (!isTopicJobKind(job.kind)) {
    return []
  }
  const region = regionOf(job.requirements?.region ?? '')
  const topics: string[] = []
  if (region != null) {
    topics.push(jobTopic(job.kind, region))
  }
  if (region == null || global) {
    topics.push(jobTopic(job.kind))
  }
  return topics
}

/**
 * Whether an announcement may travel on a topic: same kind, and on a
 * regional topic a region inside it. Any region may go global.
 */
export function announcementFitsTopic (job: Pick<JobAnnouncement, 'kind' | 'requirements'>, topic: ParsedTopic): boolean {
  if (job.kind !== topic.kind) {
    return false
  }
  if (topic.region == null) {
    return true
  }
  return regionOf(job.requirements?.region ?? '') === topic.region
}

/** What this peer serves: the job kinds and the regions (geohash prefixes) it can work in. */
export interface Interests {
  /** job kinds served; none means this peer only requests */
  kinds?: JobKind[]
  /**
   * geohash prefixes of the regions served. Longer ones are cut to the
   * region precision (2); a 1-character prefix stands for its 32 regions.
   * None means only the global topics of the kinds.
   */
  regions?: string[]
}

/** The topics a peer with these interests subscribes to: per kind, the global topic and one per region. */
export function topicsForInterests (interests: Interests): string[] {
  const topics = new Set<string>()
  const regions = new Set<string>()
  for (const prefix of interests.regions ?? []) {
    if (typeof prefix !== 'string' || prefix.length === 0 || !isGeohash(prefix)) {
      throw new InvalidInterestsError(`Region "${String(prefix)}" is not a geohash prefix`)
    }
    if (prefix.length >= REGION_PRECISION) {
      regions.add(prefix.slice(0, REGION_PRECISION))
    } else {
      for (const expanded of geohashChildren(prefix, REGION_PRECISION)) {
        regions.add(expanded)
      }
    }
  }
  for (const kind of interests.kinds ?? []) {
    if (!isTopicJobKind(kind)) {
      throw new InvalidInterestsError(`No topic for job kind ${String(kind)}`)
    }
    topics.add(jobTopic(kind))
    for (const region of regions) {
      topics.add(jobTopic(kind, region))
    }
  }
  if (topics.size > MAX_SUBSCRIBED_TOPICS) {
    throw new InvalidInterestsError(`Interests need ${topics.size} topics, at most ${MAX_SUBSCRIBED_TOPICS} are allowed`)
  }
  return [...topics]
}

/**
 * Whether a job matches interests: its kind is served, and it has no
 * region or a region served (used to filter records learned by sync, which
 * carry no topic).
 */
export function jobMatchesInterests (job: Pick<JobAnnouncement, 'kind' | 'requirements'>, interests: Interests): boolean {
  if (!(interests.kinds ?? []).includes(job.kind)) {
    return false
  }
  const region = regionOf(job.requirements?.region ?? '')
  if (region == null) {
    return true
  }
  return (interests.regions ?? []).some(prefix => region.startsWith(prefix.slice(0, REGION_PRECISION)))
}
