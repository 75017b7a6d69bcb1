import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CliError, ConfigError } from '../errors.js'
import { importFunction, importPackage } from './modules.js'

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelgate-modules-'))
  await writeFile(join(dir, 'needs-peer.mjs'), "export { x } from 'modelgate-absent-peer/sub'\n")
  await writeFile(join(dir, 'broken.mjs'), "export { x } from './gone.mjs'\n")
})

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('importPackage and importFunction', () => {
  it('name the package that is not installed, and what to install', async () => {
    const error = await importPackage(
      () => import('modelgate-absent-package'),
      'modelgate-absent-package',
      'models[0].backend',
    ).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).message).toBe(
      'models[0].backend: needs the package modelgate-absent-package, which is not installed; ' +
        'add it with `npm install modelgate-absent-package`',
    )
  })

  it('name a package that an installed one imports (an optional peer), not the importer', async () => {
    const file = pathToFileURL(join(dir, 'needs-peer.mjs')).href
    const error = await importFunction(file, 'x', 'plugins[0].use').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).message).toBe(
      `plugins[0].use: needs the package modelgate-absent-peer (${file} needs it), which is not ` +
        'installed; add it with `npm install modelgate-absent-peer`',
    )
  })

  it('call a missing file inside a package a broken installation (exit 1)', async () => {
    const file = pathToFileURL(join(dir, 'broken.mjs')).href
    const error = await importFunction(file, 'x', 'plugins[0].use').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CliError)
    expect(error).not.toBeInstanceOf(ConfigError)
    expect((error as CliError).exitCode).toBe(1)
    expect((error as CliError).message).toMatch(/^plugins\[0\]\.use: cannot load file:.*gone\.mjs/)
  })
})
