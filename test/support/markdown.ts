/** A fenced code block of a Markdown file. */
export interface FencedBlock {
  /** The language after the fence (`ts`, `sh`, …), `''` when none. */
  lang: string
  /** What follows the language on the fence line (`file=server.mjs`, `install`, …). */
  meta: string
  text: string
  /** 1-based line of the opening fence. */
  line: number
  /** The `## ` heading the block sits under, `''` before the first. */
  section: string
}

/**
 * The fenced blocks of a Markdown text, in order. Fences may be indented (inside list items); the
 * indentation of the opening fence is removed from every line of the block.
 */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const blocks: FencedBlock[] = []
  const lines = markdown.split('\n')
  let section = ''
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.startsWith('## ')) section = line.slice(3).trim()
    const open = /^( *)```([\w-]*)\s*(.*)$/.exec(line)
    if (!open) continue
    const indent = open[1]!.length
    const start = i + 1
    const body: string[] = []
    while (++i < lines.length && lines[i]!.trim() !== '```') body.push(lines[i]!.slice(indent))
    blocks.push({
      lang: open[2]!,
      meta: open[3]!.trim(),
      text: body.join('\n'),
      line: start,
      section,
    })
  }
  return blocks
}

/** The words of an `npm install …` line: the package specs, without the command and flags. */
export function npmInstallSpecs(command: string): string[] | undefined {
  const words = command.trim().split(/\s+/)
  if (words[0] !== 'npm' || !['install', 'i', 'add'].includes(words[1]!)) return undefined
  return words.slice(2).filter((w) => !w.startsWith('-'))
}
