export { nodeFetch, type NodeFetchOptions } from './fetch.js'
