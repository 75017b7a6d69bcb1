/**
 * Parses rows for explanation: a JSON array of arrays (null = missing), a JSON array of objects
 * keyed by feature name (ordered by `featureNames` when given), or CSV with a header row (empty,
 * `NA` or `NaN` cells are missing).
 *
 * @example
 * ```ts
 * const { rows, names } = parseRows('a,b\n1,2\n3,\n', 'rows.csv')
 * ```
 */
export function parseRows(
  text: string,
  file: string,
  featureNames?: string[],
): { rows: Array<Array<number | null>>; names?: string[] } {
  const trimmed = text.trim()
  if (file.toLowerCase().endsWith('.csv') || !/^[[{]/.test(trimmed)) {
    const lines = trimmed.split(/\r?\n/).filter((l) => l.trim() !== '')
    const header = lines[0]!.split(',').map((h) => h.trim().replace(/^"|"$/g, ''))
    const order = featureNames
      ? featureNames.map((n) => header.indexOf(n))
      : header.map((_, i) => i)
    if (order.some((i) => i < 0))
      throw new TypeError(`${file}: the header lacks some model features`)
    const rows = lines.slice(1).map((line, r) => {
      const cells = line.split(',')
      return order.map((i) => {
        const c = (cells[i] ?? '').trim()
        if (c === '' || c === 'NA' || c === 'NaN' || c === 'null') return null
        const v = Number(c)
        if (!Number.isFinite(v))
          throw new TypeError(`${file}: row ${r + 1} has a non-numeric value`)
        return v
      })
    })
    return { rows, names: order.map((i) => header[i]!) }
  }
  const doc = JSON.parse(trimmed) as unknown
  if (!Array.isArray(doc) || doc.length === 0)
    throw new TypeError(`${file}: expected a non-empty JSON array`)
  if (Array.isArray(doc[0])) return { rows: doc as Array<Array<number | null>> }
  const names = featureNames ?? Object.keys(doc[0] as object)
  return {
    rows: (doc as Array<Record<string, number | null>>).map((o) => names.map((n) => o[n] ?? null)),
    names,
  }
}
