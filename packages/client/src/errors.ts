/**
 * A failed call: the gate's error (`status`, stable `code`, message), or a response the client
 * refused (`code` starting with `client_`: bad signature, undecryptable or unbound response).
 *
 * @example
 * ```ts
 * try { await client.infer('credit', body) } catch (e) { if (e instanceof ModelgateError && e.status === 429) retryLater() }
 * ```
 */
export class ModelgateError extends Error {
  readonly status: number
  readonly code: string
  /** The gate's id of the request (`x-request-id` of its answer), when it answered. */
  readonly requestId: string | undefined

  constructor(status: number, code: string, message: string, requestId?: string) {
    super(message)
    this.name = 'ModelgateError'
    this.status = status
    this.code = code
    this.requestId = requestId
  }
}
