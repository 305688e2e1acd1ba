/**
 * Calls to the SLA API (`/api/v1/sla/...`) with local types that mirror the server's response models
 * (src/huiliu/sla/schemas.py) until the generated client includes them. Requests carry the session
 * cookie and the CSRF header; problem+json errors become `ApiError`.
 */
import { requestJson } from '@/shared/api/client'

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const
export type Weekday = (typeof WEEKDAYS)[number]
export const METRICS = ['first_response', 'next_response', 'resolution'] as const
export type Metric = (typeof METRICS)[number]
export const PRIORITIES = ['urgent', 'high', 'normal', 'low'] as const
export type PriorityName = (typeof PRIORITIES)[number]
export const CONDITION_FIELDS = ['priority', 'customer_level', 'category', 'channel'] as const
export const CONDITION_OPS = ['is', 'is_not', 'in', 'not_in'] as const

export interface CalendarInput {
  name: string
  timezone: string
  hours: Partial<Record<Weekday, [string, string][]>>
  holidays: string[]
  workdays: string[]
  cn_statutory: boolean
  is_default: boolean
}

export interface StoredCalendar extends CalendarInput {
  id: string
  preset_key: string | null
  created_at: string
  updated_at: string
}

export type DayKind = 'workday' | 'weekend' | 'holiday' | 'makeup_workday'

export interface MonthDay {
  date: string
  weekday: Weekday
  kind: DayKind
  source: string
  periods: [string, string][]
  name: string | null
  weekly_only: boolean
}

export interface MonthView {
  calendar_id: string
  month: string
  timezone: string
  days: MonthDay[]
}

export interface Condition {
  field: (typeof CONDITION_FIELDS)[number]
  op: (typeof CONDITION_OPS)[number]
  value: string | string[]
}

export interface Tier {
  percent: number
  actions: Record<string, unknown>[]
}

export type Targets = Partial<Record<PriorityName, Partial<Record<Metric, number>>>>

export interface PolicyInput {
  name: string
  description: string
  position?: number | null
  active: boolean
  calendar_id: string | null
  conditions: Condition[]
  targets: Targets
  tiers: Tier[]
}

export interface SlaPolicy extends PolicyInput {
  id: string
  position: number
  preset_key: string | null
  created_at: string
  updated_at: string
}

export interface MetricState {
  metric: Metric
  target_minutes: number
  used_minutes: number
  percent_used: number
  due_at: string | null
  active: boolean
  running: boolean
  breached: boolean
  breached_at: string | null
  stopped_at: string | null
  fired: number[]
}

export interface TicketSla {
  ticket_id: string
  policy_id: string | null
  policy_name: string
  priority: string
  paused: boolean
  now: string
  next_due_at: string | null
  first_response_met: boolean | null
  resolution_met: boolean | null
  next_response_breaches: number
  metrics: MetricState[]
}

export interface BreachingItem {
  ticket_id: string
  number: number
  title: string
  status: string
  priority: string
  team_id: string | null
  assignee_id: string | null
  policy_name: string
  metric: Metric | null
  due_at: string
  overdue: boolean
  minutes_left: number
}

const call = requestJson

const BASE = '/api/v1/sla'

export const slaApi = {
  calendars: () => call<{ items: StoredCalendar[] }>('GET', `${BASE}/calendars`).then((r) => r.items),
  createCalendar: (body: CalendarInput) => call<StoredCalendar>('POST', `${BASE}/calendars`, body),
  replaceCalendar: (id: string, body: CalendarInput) => call<StoredCalendar>('PUT', `${BASE}/calendars/${id}`, body),
  deleteCalendar: (id: string) => call<void>('DELETE', `${BASE}/calendars/${id}`),
  month: (id: string, month: string) =>
    call<MonthView>('GET', `${BASE}/calendars/${id}/month?month=${encodeURIComponent(month)}`),
  policies: () => call<{ items: SlaPolicy[] }>('GET', `${BASE}/policies`).then((r) => r.items),
  createPolicy: (body: PolicyInput) => call<SlaPolicy>('POST', `${BASE}/policies`, body),
  replacePolicy: (id: string, body: PolicyInput) => call<SlaPolicy>('PUT', `${BASE}/policies/${id}`, body),
  deletePolicy: (id: string) => call<void>('DELETE', `${BASE}/policies/${id}`),
  reorder: (ids: string[]) => call<{ items: SlaPolicy[] }>('POST', `${BASE}/policies:reorder`, { ids }).then((r) => r.items),
  presets: () => call<{ installed: string[] }>('POST', `${BASE}/presets`),
  /** undefined (204) when no SLA policy covers the ticket. */
  ticket: (ticketId: string) => call<TicketSla | undefined>('GET', `${BASE}/tickets/${ticketId}`),
  breachingSoon: (withinMinutes: number, includeOverdue: boolean) =>
    call<{ now: string; until: string; items: BreachingItem[] }>(
      'GET',
      `${BASE}/breaching-soon?within_minutes=${withinMinutes}&include_overdue=${includeOverdue}`,
    ).then((r) => r.items),
}
