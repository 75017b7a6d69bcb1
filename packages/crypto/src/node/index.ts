export { createCa, issueCertificate } from './pki/index.js'
export type { CaOptions, CertificateBundle, IssueOptions } from '../types.js'
