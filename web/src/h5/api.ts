/**
 * The anonymous customer-facing API the H5 pages use: an entry point's form, its submission (with
 * photos), and the private progress page behind a signed token. No session, no CSRF: these routes
 * take no cookies. Errors become `ApiError` like everywhere else.
 */
import { ApiError, type Schemas } from '@/shared/api/client'

export interface FormContact {
  name?: string
  phone?: string
  email?: string
}

export interface Submission {
  description: string
  title?: string
  contact: FormContact
  fields?: Record<string, unknown>
  source?: string
  /** From mini-program login, when a mini-program opens the form (?identity_token=): who the customer is. */
  identity_token?: string
}

// Responses as the server's OpenAPI schema describes them (regenerated with `npm run gen:api`).
export type FormField = Schemas['FormField']
export type FormDefinition = Schemas['FormDefinition']
export type SubmissionReceipt = Schemas['SubmissionReceipt']
export type ProgressAttachment = Schemas['ProgressAttachment']
export type ProgressMessage = Schemas['ProgressMessage']
export type Progress = Schemas['Progress']
export type Rating = Schemas['RatingOut']

/** Contact the entry point requires (`contact_required`): nothing, a phone number, or either. */
export type ContactRule = 'none' | 'phone' | 'phone_or_email'

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  let response: Response
  try {
    response = await fetch(path, { credentials: 'omit', ...init })
  } catch (error) {
    throw new ApiError(0, { detail: error instanceof Error ? error.message : String(error) })
  }
  const body: unknown = await response.json().catch(() => ({}))
  if (!response.ok) throw new ApiError(response.status, (body ?? {}) as Record<string, never>)
  return body as T
}

const json = (value: unknown): RequestInit & { headers: Record<string, string> } => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(value),
})

export function fetchForm(publicKey: string): Promise<FormDefinition> {
  return call(`/api/v1/public/forms/${encodeURIComponent(publicKey)}`)
}

/** A random key for one filled-in form: a retry after a lost answer (or a double tap) sends the same
 * key, and the server answers with the ticket it already made. */
export function newSubmissionKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

/** JSON without photos; multipart (the JSON in `payload`, photos in repeated `files`) with them. */
export function submitForm(
  publicKey: string, submission: Submission, photos: File[], idempotencyKey: string,
): Promise<SubmissionReceipt> {
  const path = `/api/v1/public/forms/${encodeURIComponent(publicKey)}/submissions`
  if (photos.length === 0) {
    const request = json(submission)
    return call(path, { ...request, headers: { ...request.headers, 'Idempotency-Key': idempotencyKey } })
  }
  const form = new FormData()
  form.append('payload', JSON.stringify(submission))
  for (const photo of photos) form.append('files', photo, photo.name)
  return call(path, { method: 'POST', body: form, headers: { 'Idempotency-Key': idempotencyKey } })
}

export function fetchProgress(token: string): Promise<Progress> {
  return call(`/api/v1/public/progress/${encodeURIComponent(token)}`)
}

export function postMessage(token: string, text: string): Promise<ProgressMessage> {
  return call(`/api/v1/public/progress/${encodeURIComponent(token)}/messages`, json({ text }))
}

/** The customer's satisfaction rating (CSAT): 1–5 stars and an optional comment; the latest counts. */
export function postRating(token: string, rating: number, comment: string): Promise<Rating> {
  return call(`/api/v1/public/progress/${encodeURIComponent(token)}/rating`, json({ rating, comment }))
}
