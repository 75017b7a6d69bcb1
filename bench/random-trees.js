// Random test material for the benchmarks: a seeded generator, Gaussian rows and random XGBoost
// save_model documents (full trees of a given depth with Gaussian thresholds).

/** A seeded linear congruential generator: `() => [0, 1)`. */
export function lcg(seed) {
  let s = seed >>> 0
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296
}

/** A standard normal draw (Box–Muller) from `rnd`. */
export const gauss = (rnd) =>
  Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd())

/** `n` rows of `w` standard normal values, seeded. */
export const gaussRows = (n, w, seed) => {
  const rnd = lcg(seed)
  return Array.from({ length: n }, () => Array.from({ length: w }, () => gauss(rnd)))
}

/** A random XGBoost save_model document: full trees of `depth`, Gaussian thresholds. */
export function randomXgb({ features, trees, depth, seed }) {
  const rnd = lcg(seed)
  const list = []
  for (let t = 0; t < trees; t++) {
    const T = {
      left_children: [],
      right_children: [],
      split_indices: [],
      split_conditions: [],
      default_left: [],
      sum_hessian: [],
      split_type: [],
    }
    const build = (d, cover) => {
      const id = T.left_children.length
      T.left_children.push(-1)
      T.right_children.push(-1)
      T.split_indices.push(0)
      T.split_conditions.push(0)
      T.default_left.push(rnd() < 0.5 ? 1 : 0)
      T.sum_hessian.push(cover)
      T.split_type.push(0)
      if (d === depth) return ((T.split_conditions[id] = Math.fround(gauss(rnd) * 0.3)), id)
      T.split_indices[id] = Math.floor(rnd() * features)
      T.split_conditions[id] = Math.fround(gauss(rnd))
      const f = 0.2 + 0.6 * rnd()
      T.left_children[id] = build(d + 1, cover * f)
      T.right_children[id] = build(d + 1, cover * (1 - f))
      return id
    }
    build(0, 1000)
    list.push(T)
  }
  return {
    learner: {
      learner_model_param: {
        base_score: '5E-1',
        num_class: '0',
        num_feature: String(features),
        num_target: '1',
      },
      objective: { name: 'binary:logistic' },
      gradient_booster: { name: 'gbtree', model: { trees: list, tree_info: list.map(() => 0) } },
    },
  }
}
