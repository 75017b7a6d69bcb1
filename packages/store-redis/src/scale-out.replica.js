// One gate replica for scale-out.test.ts: built packages, shared state in the Redis at REDIS_URL.
import { Redis } from 'ioredis'
import { createGate } from '@modelgate/core'
import { toFetchModule } from '@modelgate/edge'
import { serveNode } from '@modelgate/edge/node'
import { rateLimit } from '@modelgate/access'
import { decrypt, encrypt } from '@modelgate/crypto'
import { TokenVault } from '@modelgate/mask'
import { doublingBackend } from '@modelgate/testkit/fixtures'
import { createRedisStores } from '../dist/index.js'

const { REDIS_URL, REPLICA, DIR_KEY, VAULT_KEY } = process.env
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
redis.on('error', () => undefined)
const stores = createRedisStores(redis, { prefix: 'scale:', timeoutMs: 500 })
const vault = new TokenVault({ key: VAULT_KEY, store: stores.vault })

const replicaHeader = async function replicaHeader(ctx, next) {
  ctx.headers.set('x-replica', REPLICA)
  await next()
}

// The vault's two operations as routes the gate serves, with the plugin onion around them.
const vaultRoutes = [
  {
    name: 'vault-tokenize',
    methods: ['POST'],
    path: '/vault/tokenize',
    operation: 'custom',
    async terminal(ctx) {
      const { value } = await ctx.json()
      ctx.body = { token: await vault.tokenize(value, { type: 'EMAIL_ADDRESS', tenant: 'acme' }) }
    },
  },
  {
    name: 'vault-detokenize',
    methods: ['POST'],
    path: '/vault/detokenize',
    operation: 'custom',
    async terminal(ctx) {
      const { token } = await ctx.json()
      ctx.body = { value: (await vault.detokenize(token, { tenant: 'acme' })) ?? null }
    },
  },
]

const gate = createGate({
  models: [{ name: 'm', backend: doublingBackend() }],
  routes: vaultRoutes,
  plugins: [
    replicaHeader,
    rateLimit({
      rules: [
        {
          by: (ctx) => ctx.requestHeaders.get('x-client') ?? undefined,
          capacity: 10,
          refillPerSecond: 0.001,
        },
      ],
      store: stores.rateLimits,
    }),
    decrypt({
      keys: [{ kty: 'oct', k: DIR_KEY, kid: 'gate-dir', alg: 'dir' }],
      replay: { store: stores.replay },
      required: false,
    }),
    // An encrypted request is answered sealed to the key it names (rjwk), or not at all.
    encrypt(),
  ],
})
await gate.ready()
const server = await serveNode(toFetchModule(gate), { port: 0 })
process.stdout.write(`listening ${server.port}\n`)
process.once('SIGTERM', async () => {
  await server.close()
  await gate.close()
  redis.disconnect()
})
