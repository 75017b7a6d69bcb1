/** The part of the onnxruntime API (common to -node and -web) this package uses. */
export interface OrtTensor {
  readonly type: string
  readonly dims: readonly number[]
  readonly data: unknown
  dispose?(): void
}

export interface OrtValueMetadata {
  readonly name: string
  readonly isTensor: boolean
  readonly type?: string
  readonly shape?: ReadonlyArray<number | string>
}

export interface OrtSession {
  readonly inputNames: readonly string[]
  readonly outputNames: readonly string[]
  readonly inputMetadata?: readonly OrtValueMetadata[]
  readonly outputMetadata?: readonly OrtValueMetadata[]
  run(
    feeds: Record<string, OrtTensor>,
    fetches?: readonly string[],
  ): Promise<Record<string, OrtTensor>>
  release(): Promise<void>
}

export interface OrtModule {
  InferenceSession: {
    create(model: string | Uint8Array, options?: Record<string, unknown>): Promise<OrtSession>
  }
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => OrtTensor
  env: { wasm?: { numThreads?: number } }
}

// Kept out of a string literal so that edge bundlers do not try to pull in the native addon.
const NODE_PACKAGE = ['onnxruntime', 'node'].join('-')

/** The package name each runtime needs. */
export const RUNTIME_PACKAGES = { node: NODE_PACKAGE, web: 'onnxruntime-web' } as const

/**
 * Imports an onnxruntime package on first use, so that a service installs only the one it runs.
 * A missing package becomes an error that says what to install.
 */
export async function importRuntime(
  specifier: string,
  load: (specifier: string) => Promise<unknown> = (s) => import(s),
): Promise<OrtModule> {
  let mod: unknown
  try {
    mod = await load(specifier)
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error(
        `backend-onnx: the "${specifier}" package is not installed; add it with \`npm install ${specifier}\``,
        { cause: error },
      )
    }
    throw new Error(`backend-onnx: cannot load "${specifier}": ${messageOf(error)}`, {
      cause: error,
    })
  }
  const candidate = mod as Partial<OrtModule> & { default?: Partial<OrtModule> }
  const ort = candidate.InferenceSession ? candidate : candidate.default
  if (!ort?.InferenceSession || !ort.Tensor) {
    throw new Error(`backend-onnx: "${specifier}" does not look like an onnxruntime package`)
  }
  return ort as OrtModule
}

export async function importWebRuntime(): Promise<OrtModule> {
  return importRuntime('onnxruntime-web', () => import('onnxruntime-web'))
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
