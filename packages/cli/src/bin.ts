#!/usr/bin/env node
import { invocationDir, runCli } from './cli.js'

process.chdir(invocationDir())
process.exit(await runCli(process.argv.slice(2)))
