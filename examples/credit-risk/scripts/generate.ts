import { mkdir, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { generateApplications } from '@modelgate/example-credit-risk'

const rows = Number(process.env.ROWS ?? 1500)
const seed = Number(process.env.SEED ?? 2024)
const dir = fileURLToPath(new URL('../../data/', import.meta.url))
const file = `${dir}applications.jsonl`

const applications = generateApplications(rows, seed)
await mkdir(dir, { recursive: true })
await writeFile(file, applications.map((a) => JSON.stringify(a)).join('\n') + '\n')
const defaults = applications.filter((a) => a.default === 1).length
process.stdout.write(`${file}: ${rows} applications (seed ${seed}), ${defaults} defaults\n`)
