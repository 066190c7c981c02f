import assert from 'node:assert/strict'
import { PaymentRequiredError, ProviderBusyError, QuoteDeclinedError, errorFromFailure } from '../src/errors.js'
import { attemptFailure } from '../src/requester.js'

describe('attemptFailure: how a failed attempt counts against a provider', () => {
  it('a busy refusal, local or as received from the provider, is busy', () => {
    assert.equal(attemptFailure(new ProviderBusyError()), 'busy')
    assert.equal(attemptFailure(errorFromFailure(new ProviderBusyError().code, 'running 2 of 2 jobs')), 'busy')
  })

  it('a decline, local or received, is an honest no that costs nothing', () => {
    assert.equal(attemptFailure(new QuoteDeclinedError('not in region u3')), 'declined')
    assert.equal(attemptFailure(errorFromFailure(new QuoteDeclinedError().code, 'no bid for this job')), 'declined')
  })

  it('any other answer of the protocol says nothing about free slots', () => {
    assert.equal(attemptFailure(new PaymentRequiredError()), 'failed')
  })

  it('no answer in time is silence', () => {
    assert.equal(attemptFailure(Object.assign(new Error('timed out'), { name: 'TimeoutError' })), 'silent')
    assert.equal(attemptFailure(Object.assign(new Error('aborted'), { name: 'AbortError' })), 'silent')
    assert.equal(attemptFailure(undefined), 'silent')
  })

  it('a connection that broke or could not be made is a failure, not silence: an honest provider crashes and restarts too', () => {
    assert.equal(attemptFailure(new Error('stream reset')), 'failed')
    assert.equal(attemptFailure(Object.assign(new Error('connect ECONNREFUSED'), { name: 'DialError' })), 'failed')
  })
})
