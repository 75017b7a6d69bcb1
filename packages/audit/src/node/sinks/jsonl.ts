import { writeSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { checkOptionKeys } from '@modelgate/core'
import { parseAuditLine } from '../../chain.js'
import { unref } from '../../trail.js'
import type { AuditEntry, AuditHead, AuditSink } from '../../types.js'
import type { JsonlSinkOptions } from '../types.js'

const NEWLINE = 0x0a
const CHUNK = 64 * 1024
const OPTIONS = { path: true, fsync: true, fsyncIntervalMs: true, mode: true } as const

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
  if (!options || typeof options !== 'object') throw new TypeError('jsonlSink: options required')
  checkOptionKeys('jsonlSink', options, OPTIONS)
  if (typeof options.path !== 'string' || options.path === '')
    throw new TypeError('jsonlSink: path must be a non-empty string')
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
    unref(syncTimer)
  }

  return {
    kind: 'jsonl',
    durable: fsync === 'always',
    async open(want) {
      const handle = await open(path, 'a+', options.mode ?? 0o640)
      try {
        size = (await handle.stat()).size
        const { head, intactSize } = await recover(handle, size, want?.lastCheckpoint === true)
        if (intactSize !== size) {
          await handle.truncate(intactSize)
          await handle.datasync()
          size = intactSize
        }
        fh = handle
        return head
      } catch (error) {
        await handle.close()
        throw error
      }
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
 * Reads backwards from the end: the size up to the last newline (a torn tail is cut), the last
 * record, which must be intact, and (when asked) the last checkpoint, which may lie further back.
 */
async function recover(
  fh: FileHandle,
  size: number,
  wantCheckpoint: boolean,
): Promise<{ head: AuditHead | undefined; intactSize: number }> {
  const end = await lastNewline(fh, size)
  if (end === -1) return { head: undefined, intactSize: 0 }
  const intactSize = end + 1
  let head: AuditHead | undefined
  let checkpointed = false
  let checkpoint: string | undefined
  for await (const line of linesBefore(fh, end)) {
    if (line === '') continue
    const entry = parseAuditLine(line)
    if (entry.type === 'checkpoint') {
      checkpoint ??= entry.jws
      if (!head) checkpointed = true
    } else if (!head) {
      if (entry.type === 'invalid') {
        throw new Error(
          `audit log: line ending at byte ${intactSize} is damaged (${entry.reason}); verify the file`,
        )
      }
      head = { seq: entry.record.seq, hash: entry.record.hash, checkpointed }
    }
    if (head && (checkpoint !== undefined || !wantCheckpoint)) break
  }
  if (head && checkpoint !== undefined && wantCheckpoint) head.checkpoint = checkpoint
  return { head, intactSize }
}

/** Offset of the file's last newline, -1 when it has none. */
async function lastNewline(fh: FileHandle, size: number): Promise<number> {
  for (let pos = size; pos > 0;) {
    const start = Math.max(0, pos - CHUNK)
    const buf = Buffer.alloc(pos - start)
    await fh.read(buf, 0, buf.length, start)
    const i = buf.lastIndexOf(NEWLINE)
    if (i !== -1) return start + i
    pos = start
  }
  return -1
}

/** The lines of the file's first `end` bytes, last first, read in chunks. */
async function* linesBefore(fh: FileHandle, end: number): AsyncGenerator<string> {
  let carry = Buffer.alloc(0)
  for (let pos = end; pos > 0;) {
    const start = Math.max(0, pos - CHUNK)
    const buf = Buffer.alloc(pos - start)
    await fh.read(buf, 0, buf.length, start)
    const data = carry.length > 0 ? Buffer.concat([buf, carry]) : buf
    let i = data.length
    for (
      let nl = data.lastIndexOf(NEWLINE, i - 1);
      nl !== -1;
      nl = data.lastIndexOf(NEWLINE, i - 1)
    ) {
      yield data.subarray(nl + 1, i).toString('utf8')
      i = nl
      if (i === 0) break
    }
    carry = data.subarray(0, i)
    pos = start
  }
  if (carry.length > 0) yield carry.toString('utf8')
}
