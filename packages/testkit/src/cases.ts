import type { CheckedResponse, ConformanceCase } from './types.js'

/**
 * Two rows of the `mlp.onnx` fixture's reference inputs (from `mlp.expected.json`); the
 * reference outputs for them are {@link MLP_REFERENCE}.
 *
 * @example
 * ```ts
 * const body = { inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 4], data: MLP_ROWS }] }
 * ```
 */
export const MLP_ROWS: readonly (readonly number[])[] = Object.freeze([
  Object.freeze([-0.3565046489238739, 0.4302608370780945, -0.8671474456787109, 1.8618426322937012]),
  Object.freeze([0.5028489828109741, -0.7230961918830872, -0.4693262577056885, 0.6902729868888855]),
])

/**
 * The numpy reference outputs of `mlp.onnx` for {@link MLP_ROWS}.
 *
 * @example
 * ```ts
 * expect(probabilities[0]).toBeCloseTo(MLP_REFERENCE.probabilities[0][0], 5)
 * ```
 */
export const MLP_REFERENCE = Object.freeze({
  probabilities: [
    [0.412744402885437, 0.587255597114563],
    [0.3628006875514984, 0.637199342250824],
  ],
  label: [1, 1],
})

const JSON_TYPE = { 'content-type': 'application/json' }
const flat = MLP_ROWS.flat()

class CheckFailed extends Error {}

function fail(message: string): never {
  throw new CheckFailed(message)
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function same(actual: unknown, expected: unknown, what: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    fail(
      `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)?.slice(0, 200)}`,
    )
  }
}

function jsonResponse(r: CheckedResponse): Record<string, any> {
  if (!r.contentType?.startsWith('application/json'))
    fail(`content-type is ${r.contentType}, not JSON`)
  if (!isObject(r.body)) fail('body is not a JSON object')
  return r.body
}

/** An error body `{"error": "...", "code": code}` whose message matches. */
function error(code: string, message?: RegExp) {
  return (r: CheckedResponse): void => {
    const body = jsonResponse(r)
    if (typeof body.error !== 'string' || body.error === '')
      fail('"error" is not a non-empty string')
    same(body.code, code, 'error code')
    if (message && !message.test(body.error))
      fail(`error message ${JSON.stringify(body.error)} does not match ${message}`)
    if (/\bat .+:\d+:\d+/.test(body.error)) fail('error message holds a stack trace')
  }
}

function mlpOutputs(rows: number, only?: 'label' | 'probabilities') {
  return (r: CheckedResponse): Record<string, any> => {
    const body = jsonResponse(r)
    same(body.model_name, 'mlp', 'model_name')
    if (!Array.isArray(body.outputs)) fail('"outputs" is not an array')
    const names = body.outputs.map((o: any) => o.name).sort()
    same(names, only ? [only] : ['label', 'probabilities'], 'output names')
    const probs = body.outputs.find((o: any) => o.name === 'probabilities')
    const label = body.outputs.find((o: any) => o.name === 'label')
    if (probs) {
      same(probs.datatype, 'FP32', 'probabilities datatype')
      same(probs.shape, [rows, 2], 'probabilities shape')
      if (probs.data.length !== rows * 2) fail('probabilities: wrong number of values')
      for (let i = 0; i < rows; i++) {
        const [p0, p1] = [probs.data[2 * i], probs.data[2 * i + 1]]
        if (typeof p0 !== 'number' || typeof p1 !== 'number') fail('probabilities are not numbers')
        if (Math.abs(p0 + p1 - 1) > 1e-5) fail(`probabilities of row ${i} do not sum to 1`)
      }
    }
    if (label) {
      same(label.datatype, 'INT64', 'label datatype')
      same(label.shape, [rows], 'label shape')
      for (const v of label.data)
        if (typeof v !== 'number' || !Number.isInteger(v)) fail('label is not a JSON integer')
      if (probs) {
        label.data.forEach((v: number, i: number) => {
          const argmax = probs.data[2 * i + 1] > probs.data[2 * i] ? 1 : 0
          if (v !== argmax) fail(`label of row ${i} is not the argmax of its probabilities`)
        })
      }
    }
    return body
  }
}

function infer(
  model: string,
  body: unknown,
  extra: Partial<ConformanceCase> = {},
): Omit<ConformanceCase, 'name' | 'status'> {
  return {
    method: 'POST',
    path: `/v2/models/${model}/infer`,
    headers: JSON_TYPE,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...extra,
  }
}

const features = (data: unknown, shape: unknown = [2, 4], datatype: unknown = 'FP32') => ({
  inputs: [{ name: 'features', datatype, shape, data }],
})

const multiIo = {
  inputs: [
    { name: 'a', datatype: 'FP32', shape: [2, 3], data: [0.5, -2, 1.25, -0.5, 0, 3] },
    { name: 'b', datatype: 'INT64', shape: [2, 3], data: [1, 1, -2, 0, 0, -4] },
  ],
}

function multiIoWith(b: unknown[]) {
  return { inputs: [multiIo.inputs[0], { ...multiIo.inputs[1], data: b }] }
}

/** Yields `total` bytes of `[0,0,0,…` in 64 KiB chunks, reusing one buffer. */
function hugeArray(total: number): () => AsyncIterable<Uint8Array> {
  return async function* () {
    const chunk = new TextEncoder().encode('0,'.repeat(32 * 1024))
    yield new TextEncoder().encode('{"inputs":[')
    for (let sent = 0; sent < total; sent += chunk.byteLength) yield chunk
  }
}

const FORTY_MB = 40 * 1024 * 1024
/** Every bad input is refused within this bound unless a case sets its own. */
const BAD_INPUT_MS = 2000

/**
 * The protocol conformance cases (DESIGN §2) for a gate serving `mlp` (version `1`, from
 * `fixtures/mlp.onnx`) and `multi_io` (`fixtures/multi_io.onnx`) with default limits and no
 * plugins. Valid requests come first, then bad inputs, each with its expected 4xx JSON error and
 * answered within 2 s, and a valid request last to show the server keeps serving.
 *
 * @example
 * ```ts
 * for (const c of conformanceCases) console.log(c.method, c.path, '→', c.status)
 * ```
 */
export const conformanceCases: readonly ConformanceCase[] = Object.freeze(
  withTimeBounds([
    {
      name: 'health live',
      method: 'GET',
      path: '/v2/health/live',
      status: 200,
      check: (r) => same(jsonResponse(r), { live: true }, 'body'),
    },
    {
      name: 'health ready',
      method: 'GET',
      path: '/v2/health/ready',
      status: 200,
      check: (r) => same(jsonResponse(r), { ready: true }, 'body'),
    },
    {
      name: 'HEAD on a GET route',
      method: 'HEAD',
      path: '/v2/health/live',
      status: 200,
      check: (r) => same(r.body, null, 'HEAD body'),
    },
    {
      name: 'server metadata',
      method: 'GET',
      path: '/v2',
      status: 200,
      check: (r) => {
        const body = jsonResponse(r)
        if (typeof body.name !== 'string' || typeof body.version !== 'string')
          fail('name and version must be strings')
        if (
          !Array.isArray(body.extensions) ||
          body.extensions.some((e: unknown) => typeof e !== 'string')
        ) {
          fail('"extensions" must be an array of strings')
        }
      },
    },
    ...(['/v2/models/mlp', '/v2/models/mlp/versions/1'] as const).map((path) => ({
      name: `model metadata ${path}`,
      method: 'GET',
      path,
      status: 200,
      check: (r: CheckedResponse) => {
        const body = jsonResponse(r)
        same(body.name, 'mlp', 'name')
        same(body.versions, ['1'], 'versions')
        if (typeof body.platform !== 'string') fail('platform must be a string')
        same(
          body.inputs?.map((t: any) => [t.name, t.datatype, t.shape.length, t.shape[1]]),
          [['features', 'FP32', 2, 4]],
          'inputs',
        )
        same(
          body.outputs?.map((t: any) => [t.name, t.datatype, t.shape.length]).sort(),
          [
            ['label', 'INT64', 1],
            ['probabilities', 'FP32', 2],
          ],
          'outputs',
        )
      },
    })),
    {
      name: 'model metadata of multi_io',
      method: 'GET',
      path: '/v2/models/multi_io',
      status: 200,
      check: (r) => {
        const body = jsonResponse(r)
        same(
          body.inputs?.map((t: any) => [t.name, t.datatype]),
          [
            ['a', 'FP32'],
            ['b', 'INT64'],
          ],
          'inputs',
        )
        same(
          body.outputs?.map((t: any) => [t.name, t.datatype]).sort(),
          [
            ['positive', 'BOOL'],
            ['sum', 'FP32'],
          ],
          'outputs',
        )
      },
    },
    {
      name: 'unknown model is 404',
      method: 'GET',
      path: '/v2/models/no-such-model',
      status: 404,
      check: error('model_not_found'),
    },
    {
      name: 'unknown version is 404',
      method: 'GET',
      path: '/v2/models/mlp/versions/999',
      status: 404,
      check: error('model_not_found'),
    },
    {
      name: 'model ready',
      method: 'GET',
      path: '/v2/models/mlp/ready',
      status: 200,
      check: (r) => same(jsonResponse(r), { name: 'mlp', ready: true }, 'body'),
    },
    {
      name: 'model version ready',
      method: 'GET',
      path: '/v2/models/mlp/versions/1/ready',
      status: 200,
      check: (r) => same(jsonResponse(r).ready, true, 'ready'),
    },
    {
      name: 'infer, flat data',
      ...infer('mlp', features(flat)),
      status: 200,
      check: mlpOutputs(2),
    },
    {
      name: 'infer, nested data',
      ...infer('mlp', features(MLP_ROWS)),
      status: 200,
      check: mlpOutputs(2),
    },
    {
      name: 'infer on a version',
      ...infer('mlp', features(flat)),
      path: '/v2/models/mlp/versions/1/infer',
      status: 200,
      check: (r) => same(mlpOutputs(2)(r).model_version, '1', 'model_version'),
    },
    {
      name: 'infer echoes the id',
      ...infer('mlp', { id: 'case-42', ...features(flat) }),
      status: 200,
      check: (r) => same(mlpOutputs(2)(r).id, 'case-42', 'id'),
    },
    {
      name: 'outputs filter to the INT64 label, as JSON numbers',
      ...infer('mlp', { ...features(flat), outputs: [{ name: 'label' }] }),
      status: 200,
      check: mlpOutputs(2, 'label'),
    },
    {
      name: 'outputs filter to probabilities',
      ...infer('mlp', { ...features(flat), outputs: [{ name: 'probabilities' }] }),
      status: 200,
      check: mlpOutputs(2, 'probabilities'),
    },
    {
      name: 'request and input parameters are accepted',
      ...infer('mlp', {
        parameters: { trace: true, priority: 1, tag: 'x' },
        inputs: [
          {
            name: 'features',
            datatype: 'FP32',
            shape: [2, 4],
            data: flat,
            parameters: { note: 'ok' },
          },
        ],
      }),
      status: 200,
      check: mlpOutputs(2),
    },
    {
      name: 'content-type with charset',
      ...infer('mlp', features(flat)),
      headers: { 'content-type': 'application/json; charset=utf-8' },
      status: 200,
      check: mlpOutputs(2),
    },
    {
      name: 'multi_io: INT64 input, BOOL output as true/false',
      ...infer('multi_io', multiIo),
      status: 200,
      check: (r) => {
        const body = jsonResponse(r)
        const byName = Object.fromEntries(body.outputs.map((o: any) => [o.name, o]))
        same(
          byName.sum,
          { name: 'sum', datatype: 'FP32', shape: [2, 3], data: [1.5, -1, -0.75, -0.5, 0, -1] },
          'sum',
        )
        same(
          byName.positive,
          {
            name: 'positive',
            datatype: 'BOOL',
            shape: [2, 3],
            data: [true, false, false, false, false, false],
          },
          'positive',
        )
      },
    },
    {
      name: 'V1 predict',
      method: 'POST',
      path: '/v1/models/mlp:predict',
      headers: JSON_TYPE,
      body: JSON.stringify({ instances: MLP_ROWS }),
      status: 200,
      check: (r) => {
        const body = jsonResponse(r)
        if (!Array.isArray(body.predictions) || body.predictions.length !== 2)
          fail('expected 2 predictions')
        for (const p of body.predictions) {
          if (!isObject(p) || !Array.isArray(p.probabilities) || p.probabilities.length !== 2)
            fail('prediction lacks probabilities')
          if (!Number.isInteger(p.label)) fail('prediction label is not an integer')
        }
      },
    },
    {
      name: 'V1 model status',
      method: 'GET',
      path: '/v1/models/mlp',
      status: 200,
      check: (r) => same(jsonResponse(r), { name: 'mlp', ready: true }, 'body'),
    },
    {
      name: 'malformed JSON',
      ...infer('mlp', '{"inputs": [{"name": "features",'),
      status: 400,
      check: error('invalid_json'),
    },
    { name: 'empty body', ...infer('mlp', ''), status: 400, check: error('invalid_json', /empty/) },
    {
      name: 'non-object body',
      ...infer('mlp', '[1, 2, 3]'),
      status: 400,
      check: error('bad_request', /object/),
    },
    {
      name: 'lower-case datatype fp32',
      ...infer('mlp', features(flat, [2, 4], 'fp32')),
      status: 400,
      check: error('bad_request', /case-sensitive/),
    },
    {
      name: 'unknown datatype',
      ...infer('mlp', features(flat, [2, 4], 'FP128')),
      status: 400,
      check: error('bad_request', /invalid datatype/),
    },
    {
      name: 'datatype that does not match the model',
      ...infer('mlp', features(flat, [2, 4], 'FP64')),
      status: 400,
      check: error('bad_request', /does not match/),
    },
    {
      name: 'wrong data length',
      ...infer('mlp', features(flat.slice(0, 7))),
      status: 400,
      check: error('bad_request', /needs 8 values/),
    },
    {
      name: 'nested data that does not match the shape',
      ...infer(
        'mlp',
        features([
          [1, 2, 3, 4],
          [5, 6, 7],
        ]),
      ),
      status: 400,
      check: error('bad_request', /does not match shape/),
    },
    {
      name: 'negative dims',
      ...infer('mlp', features(flat, [-2, 4])),
      status: 400,
      check: error('bad_request', /non-negative/),
    },
    {
      name: 'non-integer dims',
      ...infer('mlp', features(flat, [2.5, 4])),
      status: 400,
      check: error('bad_request', /integers/),
    },
    {
      name: 'shape rank mismatch',
      ...infer('mlp', features(flat, [8])),
      status: 400,
      check: error('bad_request', /dimensions/),
    },
    {
      name: 'fixed dimension mismatch',
      ...infer('mlp', features(flat, [4, 2])),
      status: 400,
      check: error('bad_request', /dimension 1/),
    },
    {
      name: 'strings in FP32 data',
      ...infer('mlp', features(flat.map(String))),
      status: 400,
      check: error('bad_request', /not a valid FP32/),
    },
    {
      name: 'INT64 value out of range',
      ...infer('multi_io', multiIoWith([1e20, 1, 1, 1, 1, 1])),
      status: 400,
      check: error('bad_request', /not a valid INT64/),
    },
    {
      name: 'non-integer INT64 value',
      ...infer('multi_io', multiIoWith([1.5, 1, 1, 1, 1, 1])),
      status: 400,
      check: error('bad_request', /not a valid INT64/),
    },
    {
      name: 'boolean in INT64 data',
      ...infer('multi_io', multiIoWith([true, 1, 1, 1, 1, 1])),
      status: 400,
      check: error('bad_request', /not a valid INT64/),
    },
    {
      name: 'missing input',
      ...infer('multi_io', { inputs: [multiIo.inputs[0]] }),
      status: 400,
      check: error('bad_request', /missing input "b"/),
    },
    {
      name: 'unknown input',
      ...infer('mlp', {
        inputs: [
          ...features(flat).inputs,
          { name: 'extra', datatype: 'FP32', shape: [1], data: [1] },
        ],
      }),
      status: 400,
      check: error('bad_request', /unknown input "extra"/),
    },
    {
      name: 'duplicate input',
      ...infer('mlp', { inputs: [...features(flat).inputs, ...features(flat).inputs] }),
      status: 400,
      check: error('bad_request', /given twice/),
    },
    {
      name: 'unknown output',
      ...infer('mlp', { ...features(flat), outputs: [{ name: 'logits' }] }),
      status: 400,
      check: error('bad_request', /unknown output "logits"/),
    },
    {
      name: 'empty inputs',
      ...infer('mlp', { inputs: [] }),
      status: 400,
      check: error('bad_request', /non-empty/),
    },
    {
      name: '100k-deep nesting',
      ...infer('mlp', `{"inputs":${'['.repeat(100_000)}${']'.repeat(100_000)}}`),
      status: 400,
      check: error('json_too_deep'),
      maxMs: 2000,
    },
    {
      name: '__proto__ key',
      ...infer(
        'mlp',
        `{"__proto__":{"polluted":true},"inputs":${JSON.stringify(features(flat).inputs)}}`,
      ),
      status: 400,
      check: error('forbidden_key'),
    },
    {
      name: 'constructor key',
      ...infer(
        'mlp',
        `{"inputs":[{"constructor":{"prototype":{}},"name":"features","datatype":"FP32","shape":[2,4],"data":${JSON.stringify(flat)}}]}`,
      ),
      status: 400,
      check: error('forbidden_key'),
    },
    {
      name: 'escaped __proto__ key',
      ...infer('mlp', `{"\\u005f_proto__":{"polluted":true},"inputs":[]}`),
      status: 400,
      check: error('forbidden_key'),
    },
    {
      name: '40 MB body with content-length',
      method: 'POST',
      path: '/v2/models/mlp/infer',
      headers: { ...JSON_TYPE, 'content-length': String(FORTY_MB + 11) },
      body: hugeArray(FORTY_MB),
      status: 413,
      maxMs: 2000,
      check: (r) => {
        error('payload_too_large')(r)
        same(r.headers.connection, 'close', 'connection header')
      },
    },
    {
      name: '40 MB streamed body without content-length',
      method: 'POST',
      path: '/v2/models/mlp/infer',
      headers: JSON_TYPE,
      body: hugeArray(FORTY_MB),
      status: 413,
      maxMs: 2000,
      check: error('payload_too_large'),
    },
    {
      name: 'invalid UTF-8',
      ...infer('mlp', ''),
      body: new Uint8Array([0x7b, 0x22, 0x69, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
      status: 400,
      check: error('invalid_json', /UTF-8/),
    },
    {
      name: 'unsupported content-type',
      ...infer('mlp', features(flat)),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      status: 415,
      check: error('unsupported_media_type'),
    },
    {
      name: 'GET on an infer route is 405 with Allow',
      method: 'GET',
      path: '/v2/models/mlp/infer',
      status: 405,
      check: (r) => {
        error('method_not_allowed')(r)
        same(r.headers.allow, 'POST', 'allow header')
      },
    },
    {
      name: 'DELETE on a GET route is 405 with Allow',
      method: 'DELETE',
      path: '/v2/health/live',
      status: 405,
      check: (r) => {
        error('method_not_allowed')(r)
        same(r.headers.allow, 'GET, HEAD', 'allow header')
      },
    },
    {
      name: 'unknown route',
      method: 'GET',
      path: '/v3/anything',
      status: 404,
      check: error('not_found'),
    },
    {
      name: 'unknown model sub-route',
      method: 'GET',
      path: '/v2/models/mlp/weights',
      status: 404,
      check: error('not_found'),
    },
    {
      name: 'infer on an unknown model',
      ...infer('no-such-model', features(flat)),
      status: 404,
      check: error('model_not_found'),
    },
    {
      name: 'V1 predict without instances',
      method: 'POST',
      path: '/v1/models/mlp:predict',
      headers: JSON_TYPE,
      body: '{"instances": []}',
      status: 400,
      check: error('bad_request', /instances/),
    },
    {
      name: 'V1 predict with rows of the wrong width',
      method: 'POST',
      path: '/v1/models/mlp:predict',
      headers: JSON_TYPE,
      body: '{"instances": [[1, 2, 3]]}',
      status: 400,
      check: error('bad_request'),
    },
    {
      name: 'still serving after bad inputs',
      ...infer('mlp', features(flat)),
      status: 200,
      check: mlpOutputs(2),
    },
  ]),
)

function withTimeBounds(cases: ConformanceCase[]): ConformanceCase[] {
  return cases.map((c) =>
    Object.freeze(c.status >= 400 && c.maxMs === undefined ? { ...c, maxMs: BAD_INPUT_MS } : c),
  )
}
