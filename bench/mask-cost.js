// Cost of masking work, each figure against a baseline measured in the same run:
// 1. phone-heavy text (numbers that used to need libphonenumber's slow path: `+44 020 …`, `+800 …`,
//    national numbers of other regions): MiB per CPU second of the detector, against
//    libphonenumber's own `parsePhoneNumberFromString(…).isValid()` on the same candidates;
// 2. `modelgate mask detect` and `mask apply` on a 10 MiB JSONL file (child processes, CPU time
//    from their own process.cpuUsage at exit), against a child process that detects (or applies
//    the policy to) the same texts in-process: both start cold, so JIT and start-up are alike;
//    the warm in-process time is reported beside them;
// 3. the Chinese evaluation set from independent generators (packages/mask/eval/zh-generate.mjs).
// Usage: npx tsc -b && node bench/mask-cost.js → prints a table, writes bench/mask-cost-results.json.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { createDetector } from '../packages/mask/dist/index.js'
import { generateZh, scoreZh } from '../packages/mask/eval/zh-generate.mjs'
import { loadEval } from '../packages/mask/eval/score.mjs'

// libphonenumber-js is a dependency of @modelgate/mask, resolved from that package.
const { parsePhoneNumberFromString } = createRequire(
  new URL('../packages/mask/package.json', import.meta.url),
)('libphonenumber-js/max')

const ROUNDS = Number(process.env.ROUNDS ?? 3)
const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const results = { date: new Date().toISOString(), node: process.version }

// --- 1. phone-heavy text
let seed = 11
const rnd = (n) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n)
const d = (n) => Array.from({ length: n }, () => rnd(10)).join('')
const LINES = [
  () => `call +44 020 ${d(4)} ${d(4)} or the desk on +44 (0)20 ${d(4)} ${d(4)}`,
  () => `freephone +800 ${d(4)} ${d(4)}, fax +49 030 ${d(6)}`,
  () => `Mobile: +33 06 ${d(2)} ${d(2)} ${d(2)} ${d(2)}; office +39 06 ${d(4)} ${d(4)}`,
  () =>
    `reach me at +61 04${d(2)} ${d(3)} ${d(3)} or +1 (${2 + rnd(8)}${d(2)}) ${2 + rnd(8)}${d(2)}-${d(4)}`,
  () => `Phone +81 090-${d(4)}-${d(4)}, +86 1${3 + rnd(6)}${d(1)} ${d(4)} ${d(4)}`,
]
let phoneText = ''
while (phoneText.length < 1 << 20) phoneText += LINES[rnd(LINES.length)]() + '\n'
const phoneDocs = phoneText.match(/[^]{1,16384}(?:\n|$)/g)
const phoneMiB = Buffer.byteLength(phoneText) / 1048576
const PHONE_CANDIDATE = /\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{1,8}){1,5}/g
const candidates = phoneText.match(PHONE_CANDIDATE)
const phoneRuns = { modelgate: [], patternsOnly: [], libphonenumber: [] }
for (let r = 0; r < ROUNDS + 1; r++) {
  let c0 = cpuMs()
  const detector = createDetector()
  let found = 0
  for (const doc of phoneDocs) found += detector.detect(doc).length
  const mg = phoneMiB / ((cpuMs() - c0) / 1000)
  c0 = cpuMs()
  const patterns = createDetector({ ner: false })
  for (const doc of phoneDocs) patterns.detect(doc)
  const po = phoneMiB / ((cpuMs() - c0) / 1000)
  c0 = cpuMs()
  let valid = 0
  for (const c of candidates) if (parsePhoneNumberFromString(c, 'US')?.isValid()) valid++
  const lib = phoneMiB / ((cpuMs() - c0) / 1000)
  if (r === 0) continue // warm-up
  phoneRuns.modelgate.push(mg)
  phoneRuns.patternsOnly.push(po)
  phoneRuns.libphonenumber.push(lib)
  results.phoneCandidates = candidates.length
  results.phoneValid = valid
  results.phoneSpans = found
}
results.phoneHeavy = {
  mib: phoneMiB,
  modelgateMibPerSecond: median(phoneRuns.modelgate),
  patternsOnlyMibPerSecond: median(phoneRuns.patternsOnly),
  libphonenumberMibPerSecond: median(phoneRuns.libphonenumber),
  ratio: median(phoneRuns.modelgate.map((x, i) => x / phoneRuns.libphonenumber[i])),
  runs: phoneRuns,
}

// --- 2. the CLI on a 10 MiB JSONL file
const dir = mkdtempSync(join(tmpdir(), 'mask-cost-'))
const texts = loadEval().map((r) => r.text)
let jsonl = ''
for (let i = 0; jsonl.length < 10 << 20; i++) {
  const t = texts[i % texts.length].replace(/\d/g, (c) =>
    String((+c + Math.floor(i / texts.length)) % 10),
  )
  jsonl += JSON.stringify({ id: i, text: t }) + '\n'
}
const input = join(dir, 'in.jsonl')
writeFileSync(input, jsonl)
writeFileSync(join(dir, 'policy.json'), JSON.stringify({ entities: { '*': { op: 'replace' } } }))
const bin = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url))
const maskDist = fileURLToPath(new URL('../packages/mask/dist/index.js', import.meta.url))
// A child reports its own CPU time at exit (stderr's last line).
const withCpu = `process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('\\ncpu ' + (u.user + u.system) / 1000 + '\\n') });`
function child(script, args = []) {
  const t0 = performance.now()
  const run = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', withCpu + script, ...args],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    },
  )
  if (run.status !== 0) throw new Error(run.stderr)
  return { cpu: Number(/cpu ([\d.]+)\s*$/.exec(run.stderr)[1]), wall: performance.now() - t0 }
}
const cliScript = (sub, extra) =>
  `process.argv = [process.argv[0], 'modelgate', 'mask', '${sub}', '--in', ${JSON.stringify(input)}, '--out', ${JSON.stringify(join(dir, 'out.jsonl'))}${extra}]; await import(${JSON.stringify(bin)})`
const inProcess = (apply) =>
  `import { readFileSync } from 'node:fs'; const m = await import(${JSON.stringify(maskDist)});` +
  `const recs = readFileSync(${JSON.stringify(input)}, 'utf8').split('\\n').filter(Boolean).map((l) => JSON.parse(l));` +
  (apply
    ? `const k = m.createMasker({ policy: { entities: { '*': { op: 'replace' } } } }); for (const r of recs) await k.applyPolicy(r);`
    : `const d = m.createDetector(); for (const r of recs) d.detect(r.text);`)
const cli = { detect: [], detectInProcess: [], apply: [], applyInProcess: [] }
for (let r = 0; r < ROUNDS; r++) {
  cli.detect.push(child(cliScript('detect', '')))
  cli.detectInProcess.push(child(inProcess(false)))
  cli.apply.push(
    child(cliScript('apply', `, '--policy', ${JSON.stringify(join(dir, 'policy.json'))}`)),
  )
  cli.applyInProcess.push(child(inProcess(true)))
}
// Warm in-process detection of the same texts (this process, after one pass).
const parsed = jsonl
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l).text)
const warmDetector = createDetector()
for (const t of parsed) warmDetector.detect(t)
const warm = []
for (let r = 0; r < ROUNDS; r++) {
  const c0 = cpuMs()
  const det = createDetector()
  for (const t of parsed) det.detect(t)
  warm.push(cpuMs() - c0)
}
rmSync(dir, { recursive: true, force: true })
const cliMiB = Buffer.byteLength(jsonl) / 1048576
const med = (xs, k) => median(xs.map((x) => x[k]))
results.cli = {
  mib: cliMiB,
  detectCpuMs: med(cli.detect, 'cpu'),
  detectInProcessCpuMs: med(cli.detectInProcess, 'cpu'),
  detectRatio: median(cli.detect.map((x, i) => x.cpu / cli.detectInProcess[i].cpu)),
  applyCpuMs: med(cli.apply, 'cpu'),
  applyInProcessCpuMs: med(cli.applyInProcess, 'cpu'),
  applyRatio: median(cli.apply.map((x, i) => x.cpu / cli.applyInProcess[i].cpu)),
  warmInProcessDetectCpuMs: median(warm),
  detectVsWarm: med(cli.detect, 'cpu') / median(warm),
  wallMs: Object.fromEntries(Object.entries(cli).map(([k, v]) => [k, med(v, 'wall')])),
  runs: cli,
}

// --- 3. Chinese
const zhRecords = generateZh({ seed: 20260101, count: 1200 })
const zhDetector = createDetector({
  entities: [
    'PERSON',
    'LOCATION',
    'STREET_ADDRESS',
    'CN_PHONE_NUMBER',
    'CN_RESIDENT_ID',
    'CREDIT_CARD',
  ],
})
results.chinese = scoreZh(zhRecords, (t) => zhDetector.detect(t))
results.chinese.texts = zhRecords.length

// --- report
const f = (x, n = 2) => x.toFixed(n)
const p = results.phoneHeavy
console.log(
  `\nphone-heavy text (${f(p.mib)} MiB, ${results.phoneCandidates} +-numbers; median of ${ROUNDS} rounds, MiB per CPU second)`,
)
console.log(`  modelgate detect             ${f(p.modelgateMibPerSecond)} MiB/s (default options)`)
console.log(`  modelgate, ner: false        ${f(p.patternsOnlyMibPerSecond)} MiB/s`)
console.log(
  `  libphonenumber isValid only  ${f(p.libphonenumberMibPerSecond)} MiB/s (same candidates)`,
)
console.log(`  ratio                        ${f(p.ratio, 1)}x`)
const c = results.cli
console.log(
  `\nCLI on a ${f(c.mib, 1)} MiB JSONL file (CPU ms of each process, cold start both; median of ${ROUNDS})`,
)
console.log(
  `  mask detect ${f(c.detectCpuMs, 0)} vs in-process ${f(c.detectInProcessCpuMs, 0)}: ${f(c.detectRatio)}x (vs warm in-process detection ${f(c.warmInProcessDetectCpuMs, 0)} ms: ${f(c.detectVsWarm)}x)`,
)
console.log(
  `  mask apply  ${f(c.applyCpuMs, 0)} vs in-process ${f(c.applyInProcessCpuMs, 0)}: ${f(c.applyRatio)}x`,
)
console.log(
  `\nChinese set (${zhRecords.length} texts from independent generators): overlap F1 / exact-offset F1`,
)
for (const [t, v] of Object.entries(results.chinese.entities))
  console.log(`  ${t.padEnd(16)} ${f(v.f1, 3)} / ${f(v.exactF1, 3)}`)
console.log(
  '  hard negatives flagged',
  Object.entries(results.chinese.negatives)
    .map(([k, v]) => `${k} ${f(100 * v.rate, 1)}%`)
    .join(', '),
)
const out = fileURLToPath(new URL('./mask-cost-results.json', import.meta.url))
writeFileSync(out, JSON.stringify(results, null, 2) + '\n')
console.log(`\nwrote ${out}`)
