import type { Tensor, TensorData } from '@modelgate/core'

const encoder = new TextEncoder()

/** Rows of a batch: the shared first dimension of every input, or undefined when they differ. */
export function batchRows(inputs: Tensor[]): number | undefined {
  const rows = inputs[0]?.shape[0]
  if (rows === undefined || inputs.some((t) => t.shape.length === 0 || t.shape[0] !== rows))
    return undefined
  return rows
}

export function byteSize(inputs: Tensor[]): number {
  let total = 0
  for (const t of inputs) {
    if (Array.isArray(t.data)) for (const s of t.data) total += encoder.encode(s).byteLength
    else total += t.data.byteLength
  }
  return total
}

function rowWidth(t: Tensor): number {
  return t.shape.slice(1).reduce((a, b) => a * b, 1)
}

/** The given rows of every tensor, in order. */
export function takeRows(inputs: Tensor[], rows: number[]): Tensor[] {
  return inputs.map((t) => {
    const width = rowWidth(t)
    const data = emptyLike(t.data, rows.length * width)
    rows.forEach((r, i) => copy(t.data, r * width, data, i * width, width))
    const { parameters, ...rest } = t
    return {
      ...rest,
      ...(parameters ? { parameters } : {}),
      shape: [rows.length, ...t.shape.slice(1)],
      data,
    }
  })
}

/**
 * Copies the rows of `patch` (answers for `rows`, in order) over the matching rows of `base`.
 * Returns undefined when `patch` does not fit (missing output, other datatype or row width).
 */
export function mergeRows(base: Tensor[], patch: Tensor[], rows: number[]): Tensor[] | undefined {
  const merged: Tensor[] = []
  for (const t of base) {
    const p = patch.find((c) => c.name === t.name)
    const width = rowWidth(t)
    if (!p || p.datatype !== t.datatype || rowWidth(p) !== width || p.shape[0] !== rows.length)
      return undefined
    const data = emptyLike(t.data, t.data.length)
    copy(t.data, 0, data, 0, t.data.length)
    rows.forEach((r, i) => copy(p.data, i * width, data, r * width, width))
    merged.push({ ...t, data })
  }
  return merged
}

function emptyLike(data: TensorData, length: number): TensorData {
  if (Array.isArray(data)) return new Array<string>(length).fill('')
  const Ctor = data.constructor as new (n: number) => Exclude<TensorData, string[]>
  return new Ctor(length)
}

function copy(from: TensorData, start: number, to: TensorData, at: number, count: number): void {
  if (Array.isArray(from) || Array.isArray(to)) {
    for (let i = 0; i < count; i++) (to as unknown[])[at + i] = (from as unknown[])[start + i]
    return
  }
  ;(to as Float32Array).set((from as Float32Array).subarray(start, start + count), at)
}
