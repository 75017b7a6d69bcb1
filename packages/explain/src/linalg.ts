/**
 * @internal Solves the symmetric system `A x = b` (n × n, row-major) by Gaussian elimination with
 * partial pivoting; a tiny ridge is added when the matrix is singular.
 */
export function solve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let attempt = 0; attempt < 2; attempt++) {
    const a = Float64Array.from(A)
    const x = Float64Array.from(b)
    if (attempt === 1) {
      let trace = 0
      for (let i = 0; i < n; i++) trace += A[i * n + i]!
      for (let i = 0; i < n; i++) a[i * n + i] += 1e-10 * (trace / n || 1)
    }
    let ok = true
    for (let c = 0; c < n && ok; c++) {
      let p = c
      for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]!) > Math.abs(a[p * n + c]!)) p = r
      if (Math.abs(a[p * n + c]!) < 1e-300) {
        ok = false
        break
      }
      if (p !== c) {
        for (let k = 0; k < n; k++) {
          const t = a[c * n + k]!
          a[c * n + k] = a[p * n + k]!
          a[p * n + k] = t
        }
        const t = x[c]!
        x[c] = x[p]!
        x[p] = t
      }
      for (let r = c + 1; r < n; r++) {
        const f = a[r * n + c]! / a[c * n + c]!
        if (f === 0) continue
        for (let k = c; k < n; k++) a[r * n + k] -= f * a[c * n + k]!
        x[r] -= f * x[c]!
      }
    }
    if (!ok) continue
    for (let r = n - 1; r >= 0; r--) {
      let s = x[r]!
      for (let k = r + 1; k < n; k++) s -= a[r * n + k]! * x[k]!
      x[r] = s / a[r * n + r]!
    }
    if (x.every(Number.isFinite)) return x
  }
  return new Float64Array(n)
}
