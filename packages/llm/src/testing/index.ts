export { createStandIn } from './standin.js'
export type { StandIn, StandInCall, StandInOptions } from './standin.js'
export { NgramModel, END } from './ngram.js'
export type { NgramStep } from './ngram.js'
