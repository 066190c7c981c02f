/**
 * The topics this board is subscribed to: those of its interests, each with
 * the job validator; when the interests change, it joins the new topics and
 * leaves the others.
 */

import { topicsForInterests } from './topics.js'
import type { BoardContext } from './context.js'
import type { JobBoardPubSub, PubSubMessage, PubSubValidatorResult } from './index.js'
import type { PeerId } from '@libp2p/interface'

/** The board's topic subscriptions. */
export class TopicSubscriptions {
  private readonly ctx: BoardContext
  private readonly validate: (peer: PeerId, message: PubSubMessage) => Promise<PubSubValidatorResult>
  private readonly subscribed = new Set<string>()

  constructor (ctx: BoardContext, validate: (peer: PeerId, message: PubSubMessage) => Promise<PubSubValidatorResult>) {
    this.ctx = ctx
    this.validate = validate
  }

  /** The topics subscribed to. */
  topics (): string[] {
    return [...this.subscribed]
  }

  /** Subscribe to the topics of the current interests, with the validator on each, and leave the others. */
  apply (pubsub: JobBoardPubSub): void {
    const wanted = new Set(topicsForInterests(this.ctx.interests))
    for (const topic of this.subscribed) {
      if (!wanted.has(topic)) {
        this.leave(pubsub, topic)
        this.subscribed.delete(topic)
      }
    }
    for (const topic of wanted) {
      if (!this.subscribed.has(topic)) {
        pubsub.topicValidators.set(topic, this.validate)
        pubsub.subscribe(topic)
        this.subscribed.add(topic)
      }
    }
    this.ctx.log('subscribed to %d topics', this.subscribed.size)
  }

  private leave (pubsub: JobBoardPubSub, topic: string): void {
    try {
      pubsub.unsubscribe(topic)
    } catch (err) {
      this.ctx.log.error('could not unsubscribe from %s - %e', topic, err)
    }
    if (pubsub.topicValidators.get(topic) === this.validate) {
      pubsub.topicValidators.delete(topic)
    }
  }

  /** Leave every topic. */
  leaveAll (pubsub: JobBoardPubSub | undefined): void {
    for (const topic of this.subscribed) {
      if (pubsub != null) {
        this.leave(pubsub, topic)
      }
    }
    this.subscribed.clear()
  }
}
