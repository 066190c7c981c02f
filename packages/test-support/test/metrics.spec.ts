import assert from 'node:assert/strict'
import { countingMetrics } from '../src/index.js'

describe('countingMetrics', () => {
  it('keeps each counter group by name and adds up its increments, true counting one', () => {
    const { metrics, counts } = countingMetrics()
    const events = metrics.registerCounterGroup('shoal_test_events_total')
    const other = metrics.registerCounterGroup('shoal_test_other_total')

    events.increment({ sent: true })
    events.increment({ sent: true, dropped: 3 })
    events.increment({ dropped: 2 })
    other.increment({ sent: 5 })

    assert.deepEqual(counts.get('shoal_test_events_total'), { sent: 2, dropped: 5 })
    assert.deepEqual(counts.get('shoal_test_other_total'), { sent: 5 })
    assert.equal(counts.get('shoal_test_unregistered_total'), undefined)
  })

  it('starts a group at zero', () => {
    const { metrics, counts } = countingMetrics()
    metrics.registerCounterGroup('shoal_test_events_total')
    assert.deepEqual(counts.get('shoal_test_events_total'), {})
  })
})
