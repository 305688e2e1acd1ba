/**
 * The one typed API client. Types come from `schema.d.ts`, generated from the server's OpenAPI
 * schema by `npm run gen:api` (never edited by hand). Requests carry the session cookie; unsafe
 * methods also carry the CSRF double-submit header. Errors (RFC 9457 problem+json) become `ApiError`.
 */
import createClient, { type Middleware } from 'openapi-fetch'
import type { components, paths } from './schema'

export type Schemas = components['schemas']
export type Me = Schemas['MeOut']
export type TicketSummary = Schemas['TicketSummary']
export type TicketDetail = Schemas['TicketDetail']
export type TicketOut = Schemas['TicketOut']
// Derived, not named: another package's schema may also be called TimelineEntry (OpenAPI then qualifies both).
export type TimelineEntry = TicketDetail['timeline'][number]
export type MessageOut = Schemas['MessageOut']
export type EventOut = Schemas['EventOut']
export type LinkOut = Schemas['LinkOut']
export type Status = Schemas['Status']
export type Priority = Schemas['Priority']
export type UserOut = Schemas['UserOut']
export type TeamOut = Schemas['TeamOut']
export type RoleOut = Schemas['RoleOut']
export type PermissionOut = Schemas['PermissionOut']
export type CustomerOut = Schemas['CustomerOut']
export type CustomerDetail = Schemas['CustomerDetail']
export type AttachmentCreated = Schemas['AttachmentCreated']

export const CSRF_COOKIE = 'huiliu_csrf'
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export function readCookie(name: string): string | null {
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=')
    if (key === name) return decodeURIComponent(rest.join('='))
  }
  return null
}

/** Whether the browser holds a console session (the readable CSRF cookie is set with it). */
export function hasSession(): boolean {
  return readCookie(CSRF_COOKIE) !== null
}

export function csrfHeaders(method: string): Record<string, string> {
  if (SAFE_METHODS.has(method.toUpperCase())) return {}
  const token = readCookie(CSRF_COOKIE)
  return token ? { 'X-CSRF-Token': token } : {}
}

interface Problem {
  type?: string
  title?: string
  status?: number
  detail?: string
  errors?: { loc?: string[]; msg?: string }[]
}

/** A failed request, with the problem+json body turned into one readable message. */
export class ApiError extends Error {
  readonly status: number
  readonly problem: Problem

  constructor(status: number, problem: Problem) {
    super(problemMessage(status, problem))
    this.name = 'ApiError'
    this.status = status
    this.problem = problem
  }
}

export function problemMessage(status: number, problem: Problem): string {
  if (problem.errors && problem.errors.length > 0) {
    return problem.errors
      .map((error) => {
        const field = (error.loc ?? []).filter((part) => part !== 'body').join('.')
        return field ? `${field}: ${error.msg ?? ''}` : (error.msg ?? '')
      })
      .join('; ')
  }
  return problem.detail || problem.title || `HTTP ${status}`
}

type UnauthorizedHandler = () => void
let onUnauthorized: UnauthorizedHandler | null = null

/** The app decides what a 401 means (back to the login page); the client only reports it. */
export function setUnauthorizedHandler(handler: UnauthorizedHandler): void {
  onUnauthorized = handler
}

const session: Middleware = {
  onRequest({ request }) {
    for (const [name, value] of Object.entries(csrfHeaders(request.method))) {
      request.headers.set(name, value)
    }
    return request
  },
  onResponse({ response, request }) {
    if (response.status === 401 && !request.url.endsWith('/api/v1/auth/login')) {
      onUnauthorized?.()
    }
    return response
  },
}

export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' })
api.use(session)

interface FetchResult<T> {
  data?: T
  error?: unknown
  response: Response
}

/** The data of a successful call; an `ApiError` otherwise. */
export async function unwrap<T>(call: Promise<FetchResult<T>>): Promise<T> {
  const { data, error, response } = await call
  if (!response.ok) {
    throw new ApiError(response.status, (error as Problem | undefined) ?? {})
  }
  return data as T
}

/**
 * A JSON request outside the typed client (pages whose endpoints carry local types): session cookie,
 * CSRF header, a 401 reported like the typed client's; 204 answers `undefined`; a problem+json
 * answer throws `ApiError`.
 */
export async function requestJson<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...csrfHeaders(method) }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const response = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (response.status === 204) return undefined as T
  const data: unknown = await response.json().catch(() => ({}))
  if (!response.ok) {
    if (response.status === 401) onUnauthorized?.()
    throw new ApiError(response.status, data as Problem)
  }
  return data as T
}

/** Upload one file (multipart field "file"); the id goes into a reply's attachment_ids. */
export async function uploadAttachment(file: File, ticketId?: string): Promise<AttachmentCreated> {
  const form = new FormData()
  form.append('file', file, file.name)
  if (ticketId) form.append('ticket_id', ticketId)
  const response = await fetch('/api/v1/attachments', {
    method: 'POST',
    body: form,
    credentials: 'same-origin',
    headers: csrfHeaders('POST'),
  })
  const body: unknown = await response.json().catch(() => ({}))
  if (!response.ok) {
    if (response.status === 401) onUnauthorized?.()
    throw new ApiError(response.status, body as Problem)
  }
  return body as AttachmentCreated
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
