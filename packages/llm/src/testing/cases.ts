import { random as mulberry } from '../attribution/methods.js'

/**
 * A retrieval question for prompt attributions whose answer is a known function of which
 * sentences are present: notes naming the contact of several projects (an e-mail address, a
 * phone number or a code), unrelated sentences and a remark about the asked project that holds
 * no contact, then the question, an unfinished sentence ("The contact of project Orion is").
 * Only the `deciding` sentence holds the answer: a model that continues the prompt can only
 * complete it with that contact when the sentence is present.
 *
 * @example
 * ```ts
 * const c = attributionCase(7)
 * c.sentences[c.deciding] // 'The contact of project Orion is ana.lopez@example.org.'
 * ```
 */
export interface AttributionCase {
  /** The notes, one sentence each, in prompt order. */
  sentences: string[]
  /** The unfinished sentence the model completes. */
  question: string
  /** Index in `sentences` of the one that holds the answer. */
  deciding: number
  /** The notes and the question joined by spaces. */
  prompt: string
}

const PROJECTS = [
  'Apollo',
  'Borealis',
  'Cobalt',
  'Dorado',
  'Ember',
  'Falcon',
  'Granite',
  'Harbor',
  'Juniper',
  'Kestrel',
  'Lumen',
  'Meridian',
  'Nimbus',
  'Orion',
  'Quartz',
  'Raven',
  'Sierra',
  'Tundra',
]
const FIRST = ['ana', 'john', 'maria', 'li', 'omar', 'sara', 'peter', 'emma', 'yuki', 'david']
const LAST = ['lopez', 'smith', 'garcia', 'chen', 'haddad', 'novak', 'berg', 'rossi', 'tanaka']
const FILLER = [
  'Meetings are held every Tuesday morning.',
  'The office moved to a new building last spring.',
  'Budgets are reviewed at the end of each quarter.',
  'The team uses a shared calendar for holidays.',
  'New members get a laptop on their first day.',
  'Reports are due on the first Monday of the month.',
  'The cafeteria closes at three in the afternoon.',
  'Parking is free for visitors on weekends.',
]

/**
 * A random {@link AttributionCase} of `min` to `max` sentences (default 4 to 16), the same for
 * the same seed.
 *
 * @example
 * ```ts
 * const c = attributionCase(1, { min: 6, max: 6 })
 * c.sentences.length // 6
 * ```
 */
export function attributionCase(
  seed: number,
  options: { min?: number; max?: number } = {},
): AttributionCase {
  const random = mulberry(seed * 2654435761)
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!
  const shuffle = <T>(list: readonly T[]) => {
    const out = [...list]
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[out[i], out[j]] = [out[j]!, out[i]!]
    }
    return out
  }
  const min = options.min ?? 4
  const max = options.max ?? 16
  const count = min + Math.floor(random() * (max - min + 1))
  const projects = shuffle(PROJECTS)
  const contact = () => {
    const kind = random()
    if (kind < 0.45) return `${pick(FIRST)}.${pick(LAST)}@example.org`
    if (kind < 0.8) return `+1 415-555-${String(1000 + Math.floor(random() * 9000))}`
    return `K-${String(1000 + Math.floor(random() * 9000))}`
  }
  const asked = projects[0]!
  const facts = Math.max(1, Math.min(projects.length - 1, Math.floor(count / 2)))
  const sentences = [`The contact of project ${asked} is ${contact()}.`]
  for (let i = 1; i < facts; i++)
    sentences.push(`The contact of project ${projects[i]} is ${contact()}.`)
  if (sentences.length < count) sentences.push(`Project ${asked} was reviewed by the board in May.`)
  const fillers = shuffle(FILLER)
  while (sentences.length < count)
    sentences.push(fillers[(sentences.length - facts) % fillers.length]!)
  const order = shuffle(sentences.map((_, i) => i))
  const shuffled = order.map((i) => sentences[i]!)
  const question = `The contact of project ${asked} is`
  return {
    sentences: shuffled,
    question,
    deciding: order.indexOf(0),
    prompt: `${shuffled.join(' ')} ${question}`,
  }
}
