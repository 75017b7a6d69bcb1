import type { BatchStatus } from './batch.js'

/**
 * The progress of a queued batch on stderr: a bar redrawn in place on a terminal (rows, rows/s,
 * ETA, failed chunks), else a plain line every `everyMs` (default 10 s) and when the state
 * changes. The rate is over the last 30 s of samples.
 *
 * @example
 * ```ts
 * const show = batchProgress(process.stderr)
 * await batches.watch(id, (s) => show.update(s))
 * show.done()
 * ```
 */
export function batchProgress(
  stream: Pick<NodeJS.WriteStream, 'write' | 'isTTY' | 'columns'>,
  options: { everyMs?: number; now?: () => number } = {},
) {
  const now = options.now ?? Date.now
  const samples: Array<[number, number]> = []
  let drawn = false
  let lastLine = 0
  let lastState = ''
  return {
    update(s: BatchStatus) {
      const t = now()
      samples.push([t, s.rowsDone])
      while (samples.length > 2 && t - samples[0]![0] > 30_000) samples.shift()
      const [t0, r0] = samples[0]!
      const rate = t > t0 ? ((s.rowsDone - r0) * 1000) / (t - t0) : 0
      const left = s.rows - s.rowsDone
      const eta = rate > 0 ? formatSeconds(left / rate) : '?'
      const failed = s.failed > 0 ? `  ${s.failed} failed chunk${s.failed === 1 ? '' : 's'}` : ''
      const figures = `${s.rowsDone}/${s.rows} rows  ${rate.toFixed(1)} rows/s  ETA ${eta}${failed}`
      if (stream.isTTY) {
        const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - figures.length - 4))
        const filled = s.rows > 0 ? Math.round((width * s.rowsDone) / s.rows) : width
        stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${figures}\x1b[K`)
        drawn = true
        return
      }
      if (t - lastLine < (options.everyMs ?? 10_000) && s.state === lastState) return
      lastLine = t
      lastState = s.state
      stream.write(`batch ${s.id} ${s.state}: ${figures}, ${s.running} chunks running\n`)
    },
    done() {
      if (drawn) stream.write('\n')
    },
  }
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?'
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}
