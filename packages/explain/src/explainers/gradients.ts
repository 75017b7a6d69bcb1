import type { IntegrationRule } from '../types.js'

/** @internal Nodes and weights of a quadrature rule on [0, 1]. */
export function quadrature(
  rule: IntegrationRule,
  n: number,
): { nodes: Float64Array; weights: Float64Array } {
  const nodes = new Float64Array(n)
  const weights = new Float64Array(n).fill(1 / n)
  if (rule === 'gauss_legendre') {
    for (let i = 0; i < n; i++) {
      let z = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5))
      let dp = 0
      for (let it = 0; it < 100; it++) {
        let p0 = 1
        let p1 = z
        for (let k = 2; k <= n; k++) [p0, p1] = [p1, ((2 * k - 1) * z * p1 - (k - 1) * p0) / k]
        if (n === 1) p1 = z
        dp = (n * (z * p1 - p0)) / (z * z - 1)
        const dz = p1 / dp
        z -= dz
        if (Math.abs(dz) < 1e-15) break
      }
      nodes[i] = (1 - z) / 2
      weights[i] = 1 / ((1 - z * z) * dp * dp)
    }
    return { nodes, weights }
  }
  for (let i = 0; i < n; i++) {
    if (rule === 'riemann_left') nodes[i] = i / n
    else if (rule === 'riemann_right') nodes[i] = (i + 1) / n
    else if (rule === 'riemann_middle') nodes[i] = (i + 0.5) / n
    else {
      nodes[i] = n === 1 ? 0.5 : i / (n - 1)
      weights[i] = n === 1 ? 1 : (i === 0 || i === n - 1 ? 0.5 : 1) / (n - 1)
    }
  }
  return { nodes, weights }
}

/**
 * @internal Integrated Gradients of output `k` for one row against one baseline with `steps`
 * quadrature points: attributions per column, in one batched gradient call.
 */
export async function integratedGradients(
  gradients: (x: Float64Array, rows: number, output: number) => Promise<Float64Array>,
  x: Float64Array,
  baseline: Float64Array,
  k: number,
  rule: IntegrationRule,
  steps: number,
): Promise<Float64Array> {
  const W = x.length
  const { nodes, weights } = quadrature(rule, steps)
  const path = new Float64Array(steps * W)
  for (let s = 0; s < steps; s++)
    for (let c = 0; c < W; c++) path[s * W + c] = baseline[c]! + nodes[s]! * (x[c]! - baseline[c]!)
  const g = await gradients(path, steps, k)
  const out = new Float64Array(W)
  for (let s = 0; s < steps; s++) for (let c = 0; c < W; c++) out[c] += weights[s]! * g[s * W + c]!
  for (let c = 0; c < W; c++) out[c] *= x[c]! - baseline[c]!
  return out
}
