/**
 * Calls to the analytics alerts, weekly reports, staffing and export routes
 * (`/api/v1/analytics/alerts…`, `/api/v1/analytics/reports…`, `/api/v1/analytics/staffing`,
 * `/api/v1/analytics/exports/…`) with local types mirroring the server's response models
 * (src/huiliu/analytics/alerts/api.py, staffing_api.py) until the generated client includes them.
 */
import { requestJson } from '@/shared/api/client'

export const ALERT_METRICS = [
  'volume', 'resolved', 'backlog', 'first_response_median', 'first_response_p90', 'resolution_median',
  'resolution_p90', 'sla_compliance', 'csat_avg', 'reopen_rate', 'fcr_rate',
] as const
export type AlertMetric = (typeof ALERT_METRICS)[number]
export const RATE_METRICS: readonly string[] = ['sla_compliance', 'reopen_rate', 'fcr_rate']
export const CONDITION_KINDS = ['threshold', 'consecutive_days_below', 'spike'] as const
export type ConditionKind = (typeof CONDITION_KINDS)[number]
export const OPERATORS = ['gt', 'ge', 'lt', 'le'] as const
export const ALERT_CHANNELS = ['in_app', 'email', 'sms', 'wecom', 'dingtalk', 'feishu'] as const
export const SEVERITIES = ['info', 'warning', 'critical'] as const

export interface Condition {
  kind: ConditionKind
  op?: string
  value?: number
  window_hours?: number
  standard?: number
  days?: number
  direction?: string
  z?: number
  weeks?: number
  min_value?: number
  handle_seconds?: number
}

export type Dimensions = Partial<Record<'team_ids' | 'agent_ids' | 'channels' | 'entry_point_ids' | 'scenarios' | 'categories' | 'priorities' | 'customer_levels' | 'regions', string[]>>

export interface AlertRuleWrite {
  name: string
  metric: AlertMetric
  filters: Dimensions
  condition: Condition
  recipients: { users: string[]; roles: string[] }
  channels: string[]
  severity: string
  cooldown_hours: number
  enabled: boolean
}

export interface AlertRule extends AlertRuleWrite {
  id: string
  incident_open: boolean
  last_evaluated_bucket: string | null
  last_fired_at: string | null
  created_at: string
  updated_at: string
}

export interface AlertFiring {
  id: string
  rule_id: string
  bucket_start: string
  value: number | null
  baseline: number | null
  message: string
  suggestion: string
  link: string
  details: Record<string, unknown>
  recipients: string[]
  notification_id: string | null
  created_at: string
}

export interface AlertPreview {
  bucket_start: string
  breached: boolean
  value: number | null
  baseline: number | null
  details: Record<string, unknown>
  message: string | null
  suggestion: string | null
}

export interface ReportWrite {
  name: string
  recipients: string[]
  weekday: number
  hour: number
  timezone: string
  filters: Dimensions
  enabled: boolean
}

export interface ScheduledReport extends ReportWrite {
  id: string
  last_period_start: string | null
  last_sent_at: string | null
  last_status: 'sent' | 'failed' | null
  last_error: string | null
  created_at: string
  updated_at: string
}

export interface ReportSent {
  period_start: string
  recipients: number
  sent: boolean
  error: string | null
}

export interface StaffingHour {
  hour_start: string
  forecast: number
  samples: number
  recommended: number
  scheduled: number
  rostered: number
  gap: number
  rostered_service_level: number | null
}

export interface StaffingParams {
  days: number
  weeks: number
  handle_seconds: number
  service_level: number
  target_seconds: number
  shrinkage: number
  max_occupancy: number
}

export interface StaffingPlan {
  start: string
  params: StaffingParams
  filters: Dimensions
  hours: StaffingHour[]
  summary: {
    forecast_total: number
    history_total: number
    peak_hour: string | null
    peak_forecast: number
    peak_scheduled: number
    understaffed_hours: number
    largest_gap: number
  }
}

const ALERTS = '/api/v1/analytics/alerts'
const REPORTS = '/api/v1/analytics/reports'

export const analyticsAlertsApi = {
  listRules: () => requestJson<{ items: AlertRule[] }>('GET', `${ALERTS}/rules`).then((r) => r.items),
  createRule: (body: AlertRuleWrite) => requestJson<AlertRule>('POST', `${ALERTS}/rules`, body),
  replaceRule: (id: string, body: AlertRuleWrite) => requestJson<AlertRule>('PUT', `${ALERTS}/rules/${id}`, body),
  deleteRule: (id: string) => requestJson<void>('DELETE', `${ALERTS}/rules/${id}`),
  previewRule: (body: AlertRuleWrite) => requestJson<AlertPreview>('POST', `${ALERTS}/rules:preview`, body),
  firings: (ruleId?: string) =>
    requestJson<{ items: AlertFiring[] }>('GET', `${ALERTS}/firings${ruleId ? `?rule_id=${ruleId}` : ''}`).then((r) => r.items),
  listReports: () => requestJson<{ items: ScheduledReport[] }>('GET', REPORTS).then((r) => r.items),
  createReport: (body: ReportWrite) => requestJson<ScheduledReport>('POST', REPORTS, body),
  replaceReport: (id: string, body: ReportWrite) => requestJson<ScheduledReport>('PUT', `${REPORTS}/${id}`, body),
  deleteReport: (id: string) => requestJson<void>('DELETE', `${REPORTS}/${id}`),
  sendReport: (id: string) => requestJson<ReportSent>('POST', `${REPORTS}/${id}:send`),
  staffing: (params: Partial<StaffingParams> & { team_ids?: string }) => {
    const query = new URLSearchParams()
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== '') query.set(key, String(value))
    }
    return requestJson<StaffingPlan>('GET', `/api/v1/analytics/staffing?${query.toString()}`)
  },
}

/** The export URLs (plain links: the browser downloads them with the session cookie). */
export function exportUrl(kind: 'tickets' | 'series', format: 'csv' | 'xlsx', params: Record<string, string> = {}): string {
  const query = new URLSearchParams(params).toString()
  return `/api/v1/analytics/exports/${kind}.${format}${query ? `?${query}` : ''}`
}
