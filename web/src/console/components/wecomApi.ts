/**
 * WeCom login, UserID bindings and the chat sidebar (`/api/v1/auth/wecom/*`, `/api/v1/wecom/{id}/sidebar/*`)
 * with local types mirroring the server's models (src/huiliu/channels/wecom/login.py and sidebar.py)
 * until the generated client includes them.
 */
import { requestJson } from '@/shared/api/client'

export interface WecomLoginOption {
  entry_point_id: string
  name: string
  start_url: string
}

export interface WecomBinding {
  id: string
  name: string
  email: string
  is_active: boolean
  wecom_userid: string | null
}

export interface JsSdkSignature {
  timestamp: number
  nonce_str: string
  signature: string
}

export interface JsSdkConfig {
  corp_id: string
  agent_id: string
  config: JsSdkSignature
  agent_config: JsSdkSignature
}

export interface SidebarContact {
  external_userid: string
  customer_id: string | null
}

export interface ChatTicket {
  ticket_id: string
  ticket_number: number
  outcome: 'created' | 'threaded' | 'folded' | 'alarm' | 'repeat'
  customer_id: string | null
}

/** What the login page shows when WeCom login ended without a session (`?wecom_error=`). */
export const WECOM_LOGIN_ERRORS = ['denied', 'platform', 'not-member', 'not-bound'] as const

const sidebar = (id: string) => `/api/v1/wecom/${encodeURIComponent(id)}/sidebar`

export const wecomApi = {
  logins: (tenant: string) =>
    requestJson<WecomLoginOption[]>('GET', `/api/v1/auth/wecom/logins?tenant=${encodeURIComponent(tenant)}`),
  bindings: () => requestJson<WecomBinding[]>('GET', '/api/v1/auth/wecom/bindings'),
  bind: (userId: string, wecomUserid: string | null) =>
    requestJson<WecomBinding>('PUT', `/api/v1/auth/wecom/bindings/${encodeURIComponent(userId)}`, { wecom_userid: wecomUserid }),
  jsSdk: (entryPointId: string, url: string) => requestJson<JsSdkConfig>('POST', `${sidebar(entryPointId)}/js-sdk`, { url }),
  contact: (entryPointId: string, externalUserid: string) =>
    requestJson<SidebarContact>('GET', `${sidebar(entryPointId)}/contacts/${encodeURIComponent(externalUserid)}`),
  createTicket: (entryPointId: string, body: { external_userid: string; title: string; description: string; priority: string }) =>
    requestJson<ChatTicket>('POST', `${sidebar(entryPointId)}/tickets`, body),
}

/** The start URL of a WeCom login that comes back to `next` (a path of this site). */
export function wecomStartUrl(entryPointId: string, next: string): string {
  return `/api/v1/auth/wecom/${encodeURIComponent(entryPointId)}/start?next=${encodeURIComponent(next)}`
}
