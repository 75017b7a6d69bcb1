import type { FeatureSchemaDefinition } from '@modelgate/core'
import { PURPOSES } from './data.js'

/**
 * The feature schema of the `credit` model: how a loan application (a KServe V1 record) becomes
 * the 14 columns of the model's `features` input, and which fields carry personal data.
 *
 * Numeric fields go in as raw values (the model standardises them itself, see `train.ts`).
 * `years_employed`, `credit_history_years` and `delinquencies` may be omitted or `null` and then
 * count as 0; every other model field is required. The personal fields are passthrough: never a
 * model input, but declared, typed and tagged so masking, audit and explanation plugins can find
 * them. `outputNames` makes V1 predictions read `{"default_probability": 0.12}`.
 *
 * `gate.json` carries the same definition for `modelgate serve`.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * const gate = createGate({ models: [{ name: 'credit', backend, schema: creditSchema }] })
 * ```
 */
export const creditSchema: FeatureSchemaDefinition = {
  input: 'features',
  datatype: 'FP32',
  unknownFields: 'reject',
  features: [
    {
      name: 'income',
      type: 'numeric',
      min: 0,
      max: 10_000_000,
      description: 'Yearly gross income, USD',
    },
    {
      name: 'debt_to_income',
      type: 'numeric',
      min: 0,
      max: 5,
      description:
        'Debt-to-income ratio: monthly debt payments over monthly income, before this loan',
    },
    { name: 'age', type: 'numeric', min: 18, max: 120, description: 'Age in years' },
    {
      name: 'years_employed',
      type: 'numeric',
      min: 0,
      max: 80,
      missing: 0,
      description: 'Years employed: with the current employer; 0 when not employed',
    },
    {
      name: 'credit_history_years',
      type: 'numeric',
      min: 0,
      max: 100,
      missing: 0,
      description: 'Credit history: years since the first credit account; 0 for a thin file',
    },
    {
      name: 'delinquencies',
      type: 'numeric',
      min: 0,
      max: 100,
      missing: 0,
      description: 'Late payments: 30+ days late, in the last seven years',
    },
    {
      name: 'loan_amount',
      type: 'numeric',
      min: 100,
      max: 10_000_000,
      description: 'Loan amount, USD',
    },
    {
      name: 'purpose',
      type: 'categorical',
      categories: [...PURPOSES],
      encoding: 'one_hot',
      unknown: 'reject',
      description: 'Loan purpose',
    },
    {
      name: 'applicant_id',
      type: 'passthrough',
      valueType: 'string',
      description: 'Application reference',
    },
    {
      name: 'name',
      type: 'passthrough',
      valueType: 'string',
      pii: 'PERSON',
      description: "Applicant's full name",
    },
    {
      name: 'email',
      type: 'passthrough',
      valueType: 'string',
      pii: 'EMAIL_ADDRESS',
      description: 'E-mail address',
    },
    {
      name: 'phone',
      type: 'passthrough',
      valueType: 'string',
      pii: 'PHONE_NUMBER',
      description: 'Phone number',
    },
    {
      name: 'ssn',
      type: 'passthrough',
      valueType: 'string',
      pii: 'US_SSN',
      description: 'Social Security number',
    },
    {
      name: 'card_number',
      type: 'passthrough',
      valueType: 'string',
      pii: 'CREDIT_CARD',
      description: 'Card number',
    },
    {
      name: 'note',
      type: 'passthrough',
      valueType: 'string',
      text: true,
      description: "Loan officer's note: free text that may contain personal data",
    },
  ],
  outputNames: { default_probability: ['default_probability'] },
}

/**
 * Name of the model's input tensor: the 14 feature columns of {@link creditSchema}, FP32 `[-1, 14]`.
 *
 * @example
 * ```ts
 * createTfjsBackend({ path, inputNames: [MODEL_INPUT], outputNames: [MODEL_OUTPUT] })
 * ```
 */
export const MODEL_INPUT = 'features'

/**
 * Name of the model's single output: the probability of default, shape `[-1, 1]`.
 *
 * @example
 * ```ts
 * response.outputs.find((o) => o.name === MODEL_OUTPUT)
 * ```
 */
export const MODEL_OUTPUT = 'default_probability'
