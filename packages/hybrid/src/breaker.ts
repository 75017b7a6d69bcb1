import { checkOptionKeys } from '@modelgate/core'
import type { BreakerState, CircuitBreaker, CircuitBreakerOptions } from './types.js'

const BREAKER_OPTIONS = { failureThreshold: true, cooldownMs: true, onStateChange: true } as const

/**
 * A consecutive-failure circuit breaker: `failureThreshold` failures in a row open it; after
 * `cooldownMs` one probe may pass (`half-open`); the probe's success closes it, its failure opens
 * it for another cool-down. Time is read from `Date.now()` when asked, no timers run.
 *
 * @example
 * ```ts
 * import { createCircuitBreaker, createHybridBackend, forwardExplain } from '@modelgate/hybrid'
 *
 * const breaker = createCircuitBreaker({ failureThreshold: 3, cooldownMs: 5000 })
 * const backend = createHybridBackend({ local, remote, breaker })
 * const explain = forwardExplain({ url: cloudUrl, breaker })
 * ```
 */
export function createCircuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreaker {
  checkOptionKeys('createCircuitBreaker', options, BREAKER_OPTIONS)
  const threshold = options.failureThreshold ?? 3
  const cooldownMs = options.cooldownMs ?? 5000
  if (!Number.isInteger(threshold) || threshold < 1) {
    throw new TypeError('failureThreshold must be an integer >= 1')
  }
  if (!Number.isFinite(cooldownMs) || cooldownMs < 0) throw new TypeError('cooldownMs must be >= 0')
  let state: BreakerState = 'closed'
  let failures = 0
  let openedAt = 0
  let probing = false

  const move = (next: BreakerState): void => {
    if (next === state) return
    const previous = state
    state = next
    options.onStateChange?.(next, previous)
  }
  const current = (): BreakerState => {
    if (state === 'open' && Date.now() - openedAt >= cooldownMs) move('half-open')
    return state
  }

  return {
    get state() {
      return current()
    },
    get failures() {
      return failures
    },
    allow() {
      const now = current()
      if (now === 'closed') return true
      if (now === 'open' || probing) return false
      probing = true
      return true
    },
    success() {
      probing = false
      failures = 0
      move('closed')
    },
    failure() {
      failures++
      if (state === 'half-open' || failures >= threshold) {
        openedAt = Date.now()
        move('open')
      }
      probing = false
    },
    release() {
      probing = false
    },
  }
}

/** @internal A breaker instance, or a new one from options. */
export function breakerFrom(
  value: CircuitBreaker | CircuitBreakerOptions | undefined,
): CircuitBreaker {
  if (value && typeof (value as CircuitBreaker).allow === 'function') return value as CircuitBreaker
  return createCircuitBreaker(value as CircuitBreakerOptions | undefined)
}
