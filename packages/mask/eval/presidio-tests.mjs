// Runs the parametrised rows of Microsoft Presidio's recognizer tests
// (presidio-analyzer/tests/test_*_recognizer.py) against a detector. The rows are read at run time
// from a copy of Presidio's repository and never copied here:
//   MODELGATE_PRESIDIO_REPO=/path/to/presidio (a work tree or a bare git directory),
//   default /work/.mirror/microsoft+presidio/repo.
// The test files are parsed with Python's own `ast` module (python3 from the system), so rows are
// read exactly as pytest would see them. Standalone: node packages/mask/eval/presidio-tests.mjs
//
// A row passes exactly when the detector's spans of the row's entity type are exactly the expected
// (start, end) positions, as many as expected (scores are not compared: Presidio's are its own);
// it passes by overlap when the counts agree and each expected span overlaps a found one. A row
// that lists no positions but expects results (`("2400:c401::5054:ff:fe1b:b031", 1, (), ())`)
// checks only their number, as its pytest function does. Rows of types the detector does not
// claim are not run. Phone rows with a `leniency` other than Presidio's default (1) are left out.
//
// Each row runs in the configuration that matches the Presidio one it was written for: Presidio's
// default score threshold (0, see PRESIDIO_THRESHOLD) unless THRESHOLD is set; the phone rows with
// the regions Presidio's PhoneRecognizer reads numbers in by default (PRESIDIO_PHONE_REGIONS); and
// with `overlapping: true` (OVERLAPPING=off turns it off), because Presidio's AnalyzerEngine
// returns the result of every recognizer, overlapping ones of other types included, and each test
// runs its recognizer alone: a nine-digit row that expects US_PASSPORT passes there although the
// same digits are a bank account number candidate too. Without it the detector's non-overlapping
// spans keep only the highest-scoring type of such a value.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const DEFAULT_REPO = '/work/.mirror/microsoft+presidio/repo'

/**
 * Presidio's default configuration reports every result (AnalyzerEngine's default score
 * threshold is 0), and its recognizer tests check what a recognizer returns, low scores included
 * (`5/21` at 0.1). Rows are therefore run with the detector's threshold at 0 by default
 * (THRESHOLD=0.5 runs them at modelgate's own default).
 */
export const PRESIDIO_THRESHOLD = 0

/**
 * The regions Presidio's PhoneRecognizer reads numbers without a country code in by default
 * (DEFAULT_SUPPORTED_REGIONS `US, UK, DE, FR, IL, IN, CA, BR`; `UK` is not a region code of
 * phonenumbers, so it reads none, and is left out here).
 */
export const PRESIDIO_PHONE_REGIONS = ['US', 'DE', 'FR', 'IL', 'IN', 'CA', 'BR']

/**
 * A row's detection in the configuration of the Presidio test it comes from: `make(options)` is
 * `createDetector`; returns `(text, row) => spans`.
 */
export function presidioDetection(
  make,
  { ner = true, threshold = PRESIDIO_THRESHOLD, overlapping = true } = {},
) {
  const base = make({ ner, threshold })
  const phone = make({ ner, threshold, phoneRegions: PRESIDIO_PHONE_REGIONS })
  return (text, row) =>
    (row?.file === 'test_phone_recognizer.py' ? phone : base).detect(text, { overlapping })
}

const EXTRACT = String.raw`
import ast, json, os, subprocess, sys
repo = sys.argv[1]
tree_dir = os.path.join(repo, 'presidio-analyzer', 'tests')
def listing():
    if os.path.isdir(tree_dir):
        return sorted(f for f in os.listdir(tree_dir)), lambda f: open(os.path.join(tree_dir, f), encoding='utf8').read()
    git_dir = os.path.join(repo, '.git') if os.path.isdir(os.path.join(repo, '.git')) else repo
    names = subprocess.run(['git', '--git-dir', git_dir, 'ls-tree', '--name-only', 'HEAD', 'presidio-analyzer/tests/'], capture_output=True, text=True, check=True).stdout.split()
    show = lambda f: subprocess.run(['git', '--git-dir', git_dir, 'show', 'HEAD:presidio-analyzer/tests/' + f], capture_output=True, text=True, check=True).stdout
    return sorted(os.path.basename(n) for n in names), show
files, read = listing()
out = {'rows': [], 'unparsed': []}
for f in files:
    if not (f.startswith('test_') and f.endswith('_recognizer.py')):
        continue
    tree = ast.parse(read(f))
    module_entities = None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == 'entities':
            for sub in ast.walk(node):
                if isinstance(sub, ast.Return):
                    try:
                        module_entities = ast.literal_eval(sub.value)
                    except Exception:
                        pass
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for dec in node.decorator_list:
            if not (isinstance(dec, ast.Call) and getattr(dec.func, 'attr', '') == 'parametrize'):
                continue
            try:
                names = [n.strip() for n in ast.literal_eval(dec.args[0]).split(',')]
                rows = ast.literal_eval(dec.args[1])
            except Exception as e:
                out['unparsed'].append({'file': f, 'test': node.name, 'reason': str(e)[:80]})
                continue
            if 'text' not in names:
                continue
            for row in rows:
                if not isinstance(row, (tuple, list)) or len(row) != len(names):
                    out['unparsed'].append({'file': f, 'test': node.name, 'reason': 'row shape'})
                    continue
                out['rows'].append({'file': f, 'test': node.name, 'args': dict(zip(names, row)), 'moduleEntities': module_entities})
print(json.dumps(out))
`

/**
 * Reads every parametrised row, or `{ skip: reason }`.
 * @returns {{ rows: Array<{file: string, test: string, text: string, types: string[], positions: Array<[number, number]>}>, unusable: Array<object>, source: string } | { skip: string }}
 */
export function loadPresidioRows(env = process.env) {
  const repo = env.MODELGATE_PRESIDIO_REPO ?? DEFAULT_REPO
  if (!existsSync(repo)) {
    return { skip: `Presidio's repository not found at ${repo} (set MODELGATE_PRESIDIO_REPO)` }
  }
  let raw
  try {
    raw = JSON.parse(
      execFileSync('python3', ['-c', EXTRACT, repo], { encoding: 'utf8', maxBuffer: 64 << 20 }),
    )
  } catch (e) {
    return { skip: `cannot read Presidio's test rows (python3 and git needed): ${e.message}` }
  }
  const rows = []
  const unusable = [...raw.unparsed]
  for (const r of raw.rows) {
    const a = r.args
    const positions = a.expected_positions ?? a.expected_res
    const count = a.expected_len ?? (Array.isArray(positions) ? positions.length : undefined)
    if (typeof a.text !== 'string' || !Array.isArray(positions) || typeof count !== 'number') {
      unusable.push({ file: r.file, test: r.test, reason: 'no positions' })
      continue
    }
    if (a.leniency !== undefined && a.leniency !== 1) continue
    let types
    if (Array.isArray(a.entities)) types = [...new Set(a.entities)]
    else if (typeof a.entity_num === 'number' && r.moduleEntities)
      types = [r.moduleEntities[a.entity_num]]
    else if (typeof a.expected_entity === 'string') types = [a.expected_entity]
    else if (Array.isArray(r.moduleEntities)) types = r.moduleEntities
    if (!types || types.length === 0) {
      unusable.push({ file: r.file, test: r.test, reason: 'no entity type' })
      continue
    }
    rows.push({
      file: r.file,
      test: r.test,
      text: a.text,
      types,
      count,
      positions: positions.map((p) => [p[0], p[1]]),
    })
  }
  return { rows, unusable, source: join(repo, 'presidio-analyzer/tests') }
}

/**
 * Runs the rows whose types the detector claims (`claimed`) and scores them per type.
 */
export function runPresidioRows(data, detect, claimed) {
  const claim = new Set(claimed)
  const per = {}
  const failures = []
  for (const row of data.rows) {
    if (!row.types.every((t) => claim.has(t))) continue
    const type = row.types.length === 1 ? row.types[0] : row.types.join('+')
    const want = new Set(row.types)
    const found = detect(row.text, row)
      .filter((s) => want.has(s.type))
      .map((s) => [s.start, s.end])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    const expected = [...row.positions].sort((a, b) => a[0] - b[0] || a[1] - b[1])
    // No positions listed: the row checks the number of results only.
    const countOnly = expected.length === 0
    const exact =
      found.length === row.count &&
      (countOnly ||
        (expected.length === row.count &&
          expected.every((p, i) => found[i][0] === p[0] && found[i][1] === p[1])))
    const overlap =
      found.length === row.count &&
      expected.every((p) => found.some((f) => f[0] < p[1] && p[0] < f[1]))
    const c = (per[type] ??= { rows: 0, exact: 0, overlap: 0 })
    c.rows++
    if (exact) c.exact++
    if (overlap) c.overlap++
    if (!exact) failures.push({ type, file: row.file, text: row.text, expected, found })
  }
  const total = Object.values(per).reduce(
    (t, c) => ({ rows: t.rows + c.rows, exact: t.exact + c.exact, overlap: t.overlap + c.overlap }),
    { rows: 0, exact: 0, overlap: 0 },
  )
  return { per, total, failures }
}

export function printPresidioRows(result, label = 'modelgate') {
  const pct = (a, b) => ((100 * a) / Math.max(1, b)).toFixed(1)
  console.log(`\nPresidio recognizer test rows (presidio-analyzer/tests), ${label}`)
  console.log(
    'type'.padEnd(30) + 'rows'.padStart(6) + 'exact %'.padStart(10) + 'overlap %'.padStart(11),
  )
  for (const [t, c] of Object.entries(result.per).sort()) {
    console.log(
      t.padEnd(30) +
        String(c.rows).padStart(6) +
        pct(c.exact, c.rows).padStart(10) +
        pct(c.overlap, c.rows).padStart(11),
    )
  }
  const c = result.total
  console.log(
    'all'.padEnd(30) +
      String(c.rows).padStart(6) +
      pct(c.exact, c.rows).padStart(10) +
      pct(c.overlap, c.rows).padStart(11),
  )
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { createDetector } = await import('../dist/index.js')
  const data = loadPresidioRows()
  if (data.skip) {
    console.log(`skipped: ${data.skip}`)
    process.exit(0)
  }
  const ner = process.env.NER !== 'off'
  const threshold = Number(process.env.THRESHOLD ?? PRESIDIO_THRESHOLD)
  const overlapping = process.env.OVERLAPPING !== 'off'
  const detect = presidioDetection(createDetector, { ner, threshold, overlapping })
  const result = runPresidioRows(data, detect, createDetector({ ner }).entities)
  printPresidioRows(
    result,
    `ner ${ner ? 'on' : 'off'}, threshold ${threshold}, overlapping ${overlapping ? 'on' : 'off'}`,
  )
  if (process.env.FAILURES) {
    for (const f of result.failures.filter(
      (x) => process.env.FAILURES === 'all' || x.type === process.env.FAILURES,
    ))
      console.log(
        f.type,
        JSON.stringify(f.text),
        'expected',
        JSON.stringify(f.expected),
        'found',
        JSON.stringify(f.found),
      )
  }
}
