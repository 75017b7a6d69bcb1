import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type TestRedis } from '../../../store-redis/src/redis-server.test-util.js'
import { bin, buildCli, root, run, type Run } from '../test/cli.js'
import { BatchQueue } from './batch.js'
import { queueTarget } from './connection.js'

// Three `modelgate worker` processes on a real redis-server (append-only file, so it can be
// restarted mid-batch), explaining an XGBoost model with permutation SHAP: a random method,
// seeded per row, so a chunk explained with the wrong seed or twice would show.
const TENANT = 'acme'
const model = join(root, 'packages/backend-trees/fixtures/xgb-binary.json')
const explainArgs = [
  'explain',
  '--model',
  model,
  '--data',
  'rows.json',
  '--background',
  'bg.json',
  '--method',
  'permutation_shap',
  '--seed',
  '11',
]

interface WorkerProcess {
  child: ChildProcess
  name: string
  stderr: () => string
}

let dir: string
let redis: TestRedis
let batches: BatchQueue
const workers: WorkerProcess[] = []

function startWorker(): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    // A short lock: a killed worker's chunk is found stalled within seconds, not minutes.
    [bin, 'worker', ...on(), '--concurrency', '1', '--lock-ms', '1500'],
    { cwd: dir },
  )
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start: ${stderr}`)), 20_000)
    child.stderr!.on('data', () => {
      const m = /^modelgate worker (\S+) on /m.exec(stderr)
      if (!m) return
      clearTimeout(timer)
      resolve({ child, name: m[1]!, stderr: () => stderr })
    })
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${stderr}`)))
  })
}

/** Lines `chunk <batch>-<index> done: … (…, start <n>)` of every worker, for one batch. */
function doneLines(batch: string): Array<{ index: number; start: number; worker: string }> {
  return workers.flatMap((w) =>
    [
      ...w.stderr().matchAll(new RegExp(`^chunk ${batch}-(\\d+) done: .*start (\\d+)\\)$`, 'gm')),
    ].map((m) => ({ index: Number(m[1]), start: Number(m[2]), worker: w.name })),
  )
}

/** `--queue <url> --tenant <tenant>` of the test's Redis. */
const on = (tenant = TENANT) => ['--queue', redis.url, '--tenant', tenant]

/** Keys of a batch left in Redis. */
async function keysOf(id: string, tenant = TENANT): Promise<string[]> {
  const client = new Redis(redis.url)
  const keys = await client.keys(`modelgate:${tenant}:*`)
  client.disconnect()
  return keys.filter((k) => k.includes(id))
}

const batchId = (r: Run) => /^batch (\S+): \d+ rows in/m.exec(r.stderr)?.[1]

async function explanation(file: string) {
  const text = await readFile(join(dir, file), 'utf8')
  const e = JSON.parse(text) as Record<string, unknown>
  const { stats, ...rest } = e
  return { rest, keys: Object.keys(e), stats, text }
}

async function expectSameAsLocal(file: string) {
  const local = await explanation('local.json')
  const queued = await explanation(file)
  expect(queued.rest).toEqual(local.rest)
  expect(queued.keys).toEqual(local.keys)
  expect((queued.rest.values as unknown[]).length).toBe(160)
}

beforeAll(async () => {
  await buildCli()
  dir = await mkdtemp(join(tmpdir(), 'modelgate-queue-'))
  const cases = JSON.parse(
    await readFile(join(root, 'packages/backend-trees/fixtures/xgb-binary.cases.json'), 'utf8'),
  ) as { rows: number[][] }
  // 160 distinct rows: the 25 fixture rows shifted a little on each pass.
  const rows = Array.from({ length: 160 }, (_, i) =>
    cases.rows[i % 25]!.map((v, j) => v + 0.01 * Math.floor(i / 25) * (j + 1)),
  )
  await writeFile(join(dir, 'rows.json'), JSON.stringify(rows))
  await writeFile(join(dir, 'bg.json'), JSON.stringify(cases.rows.slice(0, 10)))
  const poison = rows.map((r) => [...r])
  poison[37] = [1, 2]
  await writeFile(join(dir, 'poison.json'), JSON.stringify(poison))
  redis = await startRedis({ persistent: true })
  const [local, ...started] = await Promise.all([
    run([...explainArgs, '--out', 'local.json'], { cwd: dir }),
    startWorker(),
    startWorker(),
    startWorker(),
  ])
  expect(local.code, local.stderr).toBe(0)
  workers.push(...started)
  batches = await BatchQueue.open(await queueTarget({ queue: redis.url, tenant: TENANT }))
}, 180_000)

afterAll(async () => {
  await batches?.close()
  await Promise.all(
    workers.map(
      (w) =>
        new Promise((resolve) => {
          if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve(null)
          w.child.once('exit', resolve)
          w.child.kill('SIGTERM')
        }),
    ),
  )
  await redis?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('explain --queue with three worker processes on a real Redis', () => {
  it('writes what a local run writes, with progress lines, and leaves no batch behind', async () => {
    const result = await run([...explainArgs, ...on(), '--chunk-size', '16', '--out', 'q1.json'], {
      cwd: dir,
      timeoutMs: 40_000,
    })
    expect(result.code, result.stderr).toBe(0)
    await expectSameAsLocal('q1.json')
    expect(result.stderr).toMatch(/^batch \S+ (running|done): \d+\/160 rows +[\d.]+ rows\/s +ETA/m)
    const id = batchId(result)!
    const done = doneLines(id)
    expect(done.map((d) => d.index).sort((a, b) => a - b)).toEqual([...Array(10).keys()])
    expect(new Set(done.map((d) => d.worker)).size).toBeGreaterThan(1)
    expect(await keysOf(id)).toEqual([])
    expect(await batches.status(id)).toBeUndefined()
  }, 45_000)

  it('kill -9 of a worker mid-chunk: the chunk runs again elsewhere, no row lost or doubled; resume re-attaches', async () => {
    const submitted = await run([...explainArgs, ...on(), '--chunk-size', '16', '--detach'], {
      cwd: dir,
    })
    expect(submitted.code, submitted.stderr).toBe(0)
    const id = submitted.stdout.trim()
    expect(batchId(submitted)).toBe(id)
    const follow = run(['jobs', 'resume', id, ...on(), '--out', 'q2.json'], {
      cwd: dir,
      timeoutMs: 45_000,
    })
    const victim = workers[0]!
    let killed: string | undefined
    for (let i = 0; i < 400 && !killed; i++) {
      const active = await batches.queue.getJobs(['active'])
      const mine = active.find((j) => j.id?.startsWith(`${id}-`) && j.processedBy === victim.name)
      if (mine) {
        victim.child.kill('SIGKILL')
        killed = mine.id
      } else await sleep(10)
    }
    expect(killed).toBeDefined()
    const result = await follow
    expect(result.code, result.stderr).toBe(0)
    await expectSameAsLocal('q2.json')
    const done = doneLines(id)
    // Every chunk finished exactly once, the killed one by another worker on its second start.
    expect(done.map((d) => d.index).sort((a, b) => a - b)).toEqual([...Array(10).keys()])
    const rerun = done.find((d) => `${id}-${d.index}` === killed)!
    expect(rerun.worker).not.toBe(victim.name)
    expect(rerun.start).toBe(2)
    workers[0] = await startWorker()
  }, 60_000)

  it('a Redis restart mid-batch: workers and the submitting command reconnect and the batch completes', async () => {
    const submit = run([...explainArgs, ...on(), '--chunk-size', '16', '--out', 'q3.json'], {
      cwd: dir,
      timeoutMs: 45_000,
    })
    let restarted = false
    for (let i = 0; i < 500 && !restarted; i++) {
      const [id] = (await batches.queue.getJobs(['waiting-children'])).map((j) => j.id!)
      const status = id ? await batches.status(id) : undefined
      if (status && status.processed >= 2 && status.pending >= 4) {
        await redis.restart()
        restarted = true
      } else await sleep(20)
    }
    expect(restarted).toBe(true)
    const result = await submit
    expect(result.code, result.stderr).toBe(0)
    await expectSameAsLocal('q3.json')
  }, 60_000)

  it('a poison chunk fails alone with its error recorded; the rest completes; cancel deletes the batch', async () => {
    const poison = explainArgs.map((a) => (a === 'rows.json' ? 'poison.json' : a))
    const local = await run(poison, { cwd: dir })
    expect(local.code).toBe(1)
    const result = await run([...poison, ...on(), '--chunk-size', '16', '--out', 'q4.json'], {
      cwd: dir,
      timeoutMs: 40_000,
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^chunk 2 \(rows 32-47\) failed: x\[5\] must have 6 values$/m)
    expect(result.stderr).toMatch(/1 of 10 chunks failed; the results of the others are kept/)
    const id = batchId(result)!
    const status = await run(['jobs', 'status', id, ...on(), '--json'], {
      cwd: dir,
    })
    expect(status.code, status.stderr).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({
      state: 'failed',
      processed: 9,
      failed: 1,
      pending: 0,
      failures: [{ index: 2, from: 32, to: 48, error: 'x[5] must have 6 values' }],
    })
    // The worker gave up at once: a bad row is not retried.
    expect(workers.map((w) => w.stderr()).join('')).toMatch(
      new RegExp(`^chunk ${id}-2 failed \\(attempt 1/3, for good\\)`, 'm'),
    )
    const cancel = await run(['jobs', 'cancel', id, ...on()], {
      cwd: dir,
    })
    expect(cancel.code, cancel.stderr).toBe(0)
    expect(cancel.stderr).toMatch(/cancelled and deleted/)
    expect(await keysOf(id)).toEqual([])
    const gone = await run(['jobs', 'status', id, ...on()], {
      cwd: dir,
    })
    expect(gone.code).toBe(1)
    expect(gone.stderr).toMatch(/unknown batch/)
  }, 45_000)

  it('--mask-policy masks rows before they are enqueued: jobs hold masked values, output = local masked run', async () => {
    const cases = JSON.parse(
      await readFile(join(root, 'packages/backend-trees/fixtures/xgb-binary.cases.json'), 'utf8'),
    ) as { rows: number[][] }
    const csv = ['a,b,c,d,e,f', ...cases.rows.map((r) => r.join(','))].join('\n')
    await writeFile(join(dir, 'named.csv'), csv)
    await writeFile(
      join(dir, 'policy.json'),
      JSON.stringify({ fields: { a: { op: 'generalize', size: 1 }, b: { op: 'redact' } } }),
    )
    const args = ['explain', '--model', model, '--data', 'named.csv', '--method', 'tree_shap']
    const masked = [...args, '--mask-policy', 'policy.json']
    const local = await run([...masked, '--out', 'masked-local.json'], { cwd: dir })
    expect(local.code, local.stderr).toBe(0)
    const e = JSON.parse(await readFile(join(dir, 'masked-local.json'), 'utf8')) as {
      data: number[][]
      stats: unknown
    }
    e.data.forEach((row, r) => {
      expect(row[0]).toBe(Math.floor(cases.rows[r]![0]!))
      expect(row[1]).toBe(0)
      expect(row.slice(2)).toEqual(cases.rows[r]!.slice(2))
    })
    // A tenant without workers: the chunk jobs wait in Redis, as enqueued.
    const quiet = await run([...masked, ...on('quiet'), '--chunk-size', '10', '--detach'], {
      cwd: dir,
    })
    expect(quiet.code, quiet.stderr).toBe(0)
    const id = quiet.stdout.trim()
    const client = new Redis(redis.url)
    const job = JSON.parse((await client.hget(`modelgate:quiet:${id}-1`, 'data'))!) as {
      offset: number
      rows: number[][]
    }
    expect(job.offset).toBe(10)
    expect(job.rows).toEqual(e.data.slice(10, 20))
    client.disconnect()
    const cancel = await run(['jobs', 'cancel', id, ...on('quiet')], {
      cwd: dir,
    })
    expect(cancel.code, cancel.stderr).toBe(0)
    const queued = await run(
      [...masked, ...on(), '--chunk-size', '10', '--out', 'masked-queued.json'],
      { cwd: dir, timeoutMs: 40_000 },
    )
    expect(queued.code, queued.stderr).toBe(0)
    const { stats: _a, ...q } = JSON.parse(await readFile(join(dir, 'masked-queued.json'), 'utf8'))
    const { stats: _b, ...l } = e
    expect(q).toEqual(l)
  }, 45_000)
})
