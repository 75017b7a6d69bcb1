import { createServer, type Server, type ServerResponse } from 'node:http'
import { createServer as createTcpServer, type AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nodeFetch } from './fetch.js'

// A plain node:http server on loopback, so what reaches the socket is what the test sees.
let server: Server
let base: string
const ports: number[] = []
let streaming: { res: ServerResponse; closed: Promise<void> } | undefined

beforeAll(async () => {
  server = createServer((req, res) => {
    ports.push(req.socket.remotePort!)
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (req.url === '/echo') {
        res.setHeader('set-cookie', ['a=1', 'b=2'])
        res.setHeader('content-type', 'application/json')
        res.end(
          JSON.stringify({
            method: req.method,
            body: Buffer.concat(chunks).toString(),
            auth: req.headers.authorization,
          }),
        )
      } else if (req.url === '/empty') {
        res.writeHead(204).end()
      } else if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        res.write('data: one\n\n')
        streaming = { res, closed: new Promise((resolve) => res.once('close', resolve)) }
      } else if (req.url === '/cut') {
        res.writeHead(200, { 'content-length': '100' })
        res.write('only part')
        setTimeout(() => res.destroy(), 20)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => {
  server.closeAllConnections()
  server.close()
})

describe('nodeFetch', () => {
  const fetch = nodeFetch()

  it('sends method, headers and body, answers status and every header, and keeps the connection', async () => {
    const send = () =>
      fetch(`${base}/echo`, {
        method: 'POST',
        headers: new Headers({ authorization: 'Bearer k' }),
        body: 'héllo',
      })
    const first = await send()
    expect(first.status).toBe(200)
    expect(first.headers.get('content-type')).toBe('application/json')
    expect(first.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
    expect(await first.json()).toEqual({ method: 'POST', body: 'héllo', auth: 'Bearer k' })
    await (await send()).text()
    expect(ports.at(-1)).toBe(ports.at(-2))
    const empty = await fetch(`${base}/empty`, { method: 'POST', body: '' })
    expect(empty.status).toBe(204)
    expect(empty.body).toBeNull()
  })

  it('hands over each chunk as it arrives, and cancelling the body closes the connection', async () => {
    const response = await fetch(`${base}/stream`, { method: 'POST', body: '{}' })
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    expect(decoder.decode((await reader.read()).value)).toBe('data: one\n\n')
    streaming!.res.write('data: two\n\n')
    expect(decoder.decode((await reader.read()).value)).toBe('data: two\n\n')
    await reader.cancel()
    await streaming!.closed
  })

  it('aborting the signal ends the body with the reason and closes the connection', async () => {
    const controller = new AbortController()
    const response = await fetch(`${base}/stream`, {
      method: 'POST',
      body: '{}',
      signal: controller.signal,
    })
    const reader = response.body!.getReader()
    await reader.read()
    controller.abort(new Error('upstream timeout'))
    await expect(reader.read()).rejects.toThrow('upstream timeout')
    await streaming!.closed
    const aborted = new AbortController()
    aborted.abort(new Error('gone'))
    await expect(fetch(`${base}/echo`, { signal: aborted.signal })).rejects.toThrow('gone')
  })

  it('fails as fetch does: a refused connection rejects, a cut-off body errors', async () => {
    await expect(fetch('http://127.0.0.1:9/', { method: 'POST' })).rejects.toBeInstanceOf(TypeError)
    await expect(fetch('ftp://127.0.0.1/')).rejects.toThrow(/protocol/)
    const cut = await fetch(`${base}/cut`)
    await expect(cut.text()).rejects.toThrow()
  })

  it('rejects an answer the Fetch standard refuses (status 600) with a TypeError, without throwing elsewhere', async () => {
    const raw = createTcpServer((socket) =>
      socket.once('data', () => socket.end('HTTP/1.1 600 Odd\r\ncontent-length: 2\r\n\r\nok')),
    )
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve))
    const port = (raw.address() as AddressInfo).port
    const uncaught: unknown[] = []
    const record = (error: unknown) => uncaught.push(error)
    process.on('uncaughtException', record)
    try {
      const answer = fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}' })
      await expect(answer).rejects.toBeInstanceOf(TypeError)
      await expect(answer).rejects.toThrow('fetch failed')
      const later = await fetch(`${base}/echo`, { method: 'POST', body: 'still works' })
      expect((await later.json()).body).toBe('still works')
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(uncaught).toEqual([])
    } finally {
      process.off('uncaughtException', record)
      raw.close()
    }
  })
})
