export { RedisStore, createRedisStores } from './store.js'
export type { RedisStoreOptions, RedisStores, RedisLike } from './types.js'
