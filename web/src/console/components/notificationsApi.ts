/**
 * Calls to the notifications API (`/api/v1/notifications…`, `/api/v1/notification-channels`) with local
 * types that mirror the server's response models (src/huiliu/notifications/schemas.py) until the
 * generated client includes them. Requests carry the session cookie and the CSRF header; problem+json
 * errors become `ApiError`.
 */
import { requestJson } from '@/shared/api/client'

export const CHANNELS = ['in_app', 'email', 'sms', 'wecom', 'dingtalk', 'feishu'] as const
export type Channel = (typeof CHANNELS)[number]
export const EVENTS = ['*', 'rule', 'sla_tier'] as const
export type NotificationEvent = (typeof EVENTS)[number]
// Live events that concern the bell: a new inbox item (from the worker) and a rule or SLA tier
// that just notified (the inbox item follows as soon as the worker delivers it).
export const LIVE_NOTIFICATION = 'notification.created'
export const LIVE_NOTIFIED = 'ticket.notified'

export interface InboxItem {
  id: string
  ticket_id: string | null
  severity: 'info' | 'warning' | 'critical' | string
  title: string
  body: string
  link: string | null
  read_at: string | null
  created_at: string
}

export interface InboxPage {
  items: InboxItem[]
  next_cursor: string | null
  unread: number
}

export interface Preferences {
  event_channels: Partial<Record<NotificationEvent, Channel[]>>
  quiet_start: string | null
  quiet_end: string | null
  timezone: string
  phone: string | null
  digest_minutes: number | null
}

const call = requestJson

const BASE = '/api/v1/notifications'

export const notificationsApi = {
  list: (params: { unreadOnly?: boolean; cursor?: string | null; limit?: number } = {}) => {
    const query = new URLSearchParams()
    if (params.unreadOnly) query.set('unread_only', 'true')
    if (params.cursor) query.set('cursor', params.cursor)
    query.set('limit', String(params.limit ?? 25))
    return call<InboxPage>('GET', `${BASE}?${query.toString()}`)
  },
  unreadCount: () => call<{ unread: number }>('GET', `${BASE}/unread-count`).then((r) => r.unread),
  markRead: (id: string) => call<InboxItem>('POST', `${BASE}/${id}:read`),
  markAllRead: () => call<{ marked: number }>('POST', `${BASE}:read-all`).then((r) => r.marked),
  // What a ticket's customer was told (受理 / 处理中 / 已解决); anyone who can see the ticket.
  customerNotices: (ticketId: string) => call<CustomerNotice[]>('GET', `/api/v1/tickets/${ticketId}/customer-notices`),
  preferences: () => call<Preferences>('GET', `${BASE}/preferences`),
  savePreferences: (body: Preferences) => call<Preferences>('PUT', `${BASE}/preferences`, body),
}

/** The console route of a notification's link (links are absolute URLs to this console). */
export function routeOf(item: InboxItem): string | null {
  return item.ticket_id ? `/tickets/${item.ticket_id}` : null
}

export interface Delivery {
  id: string
  notification_id: string
  ticket_id: string | null
  recipient_id: string | null
  channel: string
  provider_channel_id: string | null
  digest_id: string | null
  severity: string
  state: 'pending' | 'delivered' | 'dead' | 'digested' | 'duplicate' | string
  attempts: number
  not_before: string | null
  provider_message_id: string | null
  last_error: string | null
  delivered_at: string | null
  created_at: string
  updated_at: string
}

export interface DeliveryPage {
  items: Delivery[]
  next_cursor: string | null
}

export interface NotificationTemplate {
  id: string
  event: string
  channel: string
  locale: string
  title: string
  body: string
  is_active: boolean
  created_at: string
  updated_at: string
}

export interface TemplateList {
  items: NotificationTemplate[]
  variables: Record<string, string>
  defaults: Record<string, { title: string; body: string }>
  // Shipped customer notices: event (customer.accepted …) → locale → wording.
  customer_defaults: Record<string, Record<string, { title: string; body: string }>>
}

// Customer notices (受理 / 处理中 / 已解决) and the template events that word them.
export const CUSTOMER_MOMENTS = ['accepted', 'in_progress', 'resolved'] as const
export type CustomerMoment = (typeof CUSTOMER_MOMENTS)[number]
export const CUSTOMER_EVENT_PREFIX = 'customer.'

export interface TenantPolicy {
  quiet_start: string | null
  quiet_end: string | null
  timezone: string
  customer_notices: Record<CustomerMoment, boolean>
}

export interface CustomerNotice {
  id: string
  ticket_id: string
  moment: CustomerMoment
  channel: 'wechat' | 'email' | 'sms' | 'progress_page' | string
  title: string
  body: string
  state: string
  last_error: string | null
  created_at: string
  delivered_at: string | null
}

export const adminApi = {
  deliveries: (params: { state?: string | null; cursor?: string | null } = {}) => {
    const query = new URLSearchParams({ limit: '50' })
    if (params.state) query.set('state', params.state)
    if (params.cursor) query.set('cursor', params.cursor)
    return call<DeliveryPage>('GET', `${BASE}/deliveries?${query.toString()}`)
  },
  retry: (id: string) => call<Delivery>('POST', `${BASE}/deliveries/${id}:retry`),
  templates: () => call<TemplateList>('GET', '/api/v1/notification-templates'),
  createTemplate: (body: Omit<NotificationTemplate, 'id' | 'created_at' | 'updated_at'>) =>
    call<NotificationTemplate>('POST', '/api/v1/notification-templates', body),
  updateTemplate: (id: string, body: Partial<Pick<NotificationTemplate, 'title' | 'body' | 'is_active'>>) =>
    call<NotificationTemplate>('PATCH', `/api/v1/notification-templates/${id}`, body),
  deleteTemplate: (id: string) => call<void>('DELETE', `/api/v1/notification-templates/${id}`),
  preview: (title: string, body: string) =>
    call<{ title: string; body: string }>('POST', '/api/v1/notification-templates:preview', { title, body }),
  policy: () => call<TenantPolicy>('GET', `${BASE}/policy`),
  savePolicy: (body: TenantPolicy) => call<TenantPolicy>('PUT', `${BASE}/policy`, body),
}

export const PROVIDER_KINDS = ['dingtalk', 'feishu', 'wecom', 'aliyun_sms', 'tencent_sms', 'email'] as const
export type ProviderKind = (typeof PROVIDER_KINDS)[number]

/** The settings of each provider kind (src/huiliu/notifications/channel_settings.py): `secret` ones are
 * write-only, `required` ones must be set. */
export const PROVIDER_FIELDS: Record<ProviderKind, { name: string; secret?: boolean; required?: boolean; number?: boolean }[]> = {
  dingtalk: [{ name: 'access_token', secret: true, required: true }, { name: 'secret', secret: true }, { name: 'base_url' }],
  feishu: [{ name: 'token', secret: true, required: true }, { name: 'secret', secret: true }, { name: 'base_url' }],
  wecom: [{ name: 'key', secret: true, required: true }, { name: 'base_url' }],
  aliyun_sms: [
    { name: 'access_key_id', required: true }, { name: 'access_key_secret', secret: true, required: true },
    { name: 'sign_name', required: true }, { name: 'template_code', required: true }, { name: 'region' }, { name: 'base_url' },
  ],
  tencent_sms: [
    { name: 'secret_id', required: true }, { name: 'secret_key', secret: true, required: true },
    { name: 'sdk_app_id', required: true }, { name: 'sign_name', required: true }, { name: 'template_id', required: true },
    { name: 'region' }, { name: 'base_url' },
  ],
  email: [
    { name: 'host', required: true }, { name: 'port', number: true }, { name: 'security' }, { name: 'username' },
    { name: 'password', secret: true }, { name: 'from_address', required: true }, { name: 'from_name' },
  ],
}

export interface ProviderChannel {
  id: string
  name: string
  kind: ProviderKind
  config: Record<string, unknown>
  secret_hints: Record<string, string>
  is_active: boolean
  created_at: string
  updated_at: string
}

export const channelsApi = {
  list: () => call<{ items: ProviderChannel[] }>('GET', '/api/v1/notification-channels').then((r) => r.items),
  create: (body: { name: string; kind: ProviderKind; config: Record<string, unknown>; secrets: Record<string, string>; is_active: boolean }) =>
    call<ProviderChannel>('POST', '/api/v1/notification-channels', body),
  update: (id: string, body: { name?: string; config?: Record<string, unknown>; secrets?: Record<string, string>; is_active?: boolean }) =>
    call<ProviderChannel>('PATCH', `/api/v1/notification-channels/${id}`, body),
  remove: (id: string) => call<void>('DELETE', `/api/v1/notification-channels/${id}`),
}
