import { writeSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { parseAuditLine } from '../chain.js'
import type { AuditEntry, AuditHead, AuditSink, JsonlSinkOptions } from '../types.js'

const NEWLINE = 0x0a

/**
 * The embedded default sink: one JSON line per record or checkpoint, appended to a file. On open
 * it cuts a torn last line (a write a crash interrupted) and continues the chain from the last
 * intact record; a failed write is cut back off, so the file never holds half a batch.
 *
 * @example
 * ```ts
 * const trail = createAuditTrail({ sink: jsonlSink({ path: 'audit.jsonl', fsync: 'always' }) })
 * ```
 */
export function jsonlSink(options: JsonlSinkOptions): AuditSink {
  if (!options || typeof options.path !== 'string' || options.path === '') {
    throw new TypeError('jsonlSink: path must be a non-empty string')
  }
  const fsync = options.fsync ?? 'batch'
  if (fsync !== 'always' && fsync !== 'batch' && fsync !== 'never') {
    throw new TypeError('jsonlSink: fsync must be "always", "batch" or "never"')
  }
  const interval = options.fsyncIntervalMs ?? 200
  if (!Number.isFinite(interval) || interval < 1)
    throw new TypeError('jsonlSink: fsyncIntervalMs must be >= 1')
  const path = options.path
  let fh: FileHandle | undefined
  let size = 0
  let syncTimer: ReturnType<typeof setTimeout> | undefined
  let syncing: Promise<void> | undefined
  let syncError: unknown

  function scheduleSync(): void {
    if (syncTimer !== undefined) return
    syncTimer = setTimeout(() => {
      syncTimer = undefined
      syncing = fh
        ?.datasync()
        .catch((error: unknown) => {
          syncError = error
        })
        .finally(() => (syncing = undefined))
    }, interval)
    syncTimer.unref()
  }

  return {
    kind: 'jsonl',
    durable: fsync === 'always',
    async open() {
      fh = await open(path, 'a+', options.mode ?? 0o640)
      size = (await fh.stat()).size
      const { head, intactSize } = await recover(fh, size)
      if (intactSize !== size) {
        await fh.truncate(intactSize)
        await fh.datasync()
        size = intactSize
      }
      return head
    },
    async write(entries: AuditEntry[]) {
      if (!fh) throw new Error('jsonlSink: not open')
      if (syncError !== undefined) {
        const error = syncError
        syncError = undefined
        throw error
      }
      let text = ''
      for (const e of entries) text += `${e.line}\n`
      const bytes = Buffer.from(text, 'utf8')
      try {
        let offset = 0
        if (fsync === 'always') {
          while (offset < bytes.length)
            offset += (await fh.write(bytes, offset, bytes.length - offset)).bytesWritten
          await fh.datasync()
        } else {
          // A write of one group to the page cache costs ~10 µs on the event loop, and several
          // times that in CPU through the thread pool. It is never issued while our own sync runs,
          // because a page under writeback can make the write wait for the disk.
          if (syncing) await syncing
          while (offset < bytes.length)
            offset += writeSync(fh.fd, bytes, offset, bytes.length - offset)
        }
      } catch (error) {
        await fh.truncate(size).catch(() => undefined)
        throw error
      }
      size += bytes.length
      if (fsync === 'batch') scheduleSync()
    },
    async close() {
      if (syncTimer !== undefined) clearTimeout(syncTimer)
      syncTimer = undefined
      const handle = fh
      fh = undefined
      if (!handle) return
      await syncing
      if (fsync !== 'never') await handle.datasync().catch(() => undefined)
      await handle.close()
    },
  }
}

/**
 * Reads backwards from the end: the size up to the last newline (a torn tail is cut) and the
 * last record, which must be intact.
 */
async function recover(
  fh: FileHandle,
  size: number,
): Promise<{ head: AuditHead | undefined; intactSize: number }> {
  if (size === 0) return { head: undefined, intactSize: 0 }
  let window = Math.min(size, 64 * 1024)
  for (;;) {
    const start = size - window
    const buf = Buffer.alloc(window)
    await fh.read(buf, 0, window, start)
    const lastNewline = buf.lastIndexOf(NEWLINE)
    if (lastNewline === -1 && start === 0) return { head: undefined, intactSize: 0 }
    if (lastNewline !== -1) {
      const intactSize = start + lastNewline + 1
      const text = buf.subarray(0, lastNewline).toString('utf8')
      const lines = text.split('\n')
      // The first line of a window that does not start the file may be partial.
      const complete = start === 0 ? lines : lines.slice(1)
      let checkpointed = false
      for (let i = complete.length - 1; i >= 0; i--) {
        const line = complete[i]!
        if (line === '') continue
        const entry = parseAuditLine(line)
        if (entry.type === 'checkpoint') {
          checkpointed = true
          continue
        }
        if (entry.type === 'invalid') {
          throw new Error(
            `audit log: line ending at byte ${intactSize} is damaged (${entry.reason}); verify the file`,
          )
        }
        return {
          head: { seq: entry.record.seq, hash: entry.record.hash, checkpointed },
          intactSize,
        }
      }
      if (start === 0) return { head: undefined, intactSize }
    }
    if (window === size) return { head: undefined, intactSize: 0 }
    window = Math.min(size, window * 4)
  }
}
