/**
 * Calls to the analytics API (`/api/v1/analytics/…`) with local types that mirror the server's response
 * models (src/huiliu/analytics/schemas.py). Every view takes the same filters (`DashboardFilters`);
 * list filters repeat their query parameter.
 */
import { requestJson } from '@/shared/api/client'

export interface DashboardFilters {
  start: string
  end: string
  team_id?: string[]
  agent_id?: string[]
  channel?: string[]
  priority?: string[]
  category?: string[]
  scenario?: string[]
  region?: string[]
  entry_point_id?: string[]
  customer_level?: string[]
}

export interface Card { value: number | null; previous: number | null; change: number | null }
export interface Summary {
  period: { start: string; end: string; previous_start: string; previous_end: string }
  cards: Record<string, Card>
  aging: Record<string, number>
  csat_distribution: Record<string, number>
  as_of: string | null
}
export interface Point { bucket_start: string; value: number | null; count: number }
export interface Series { metric: string; granularity: string; points: Point[] }
export interface Heatmap { cells: number[][]; max: number }
export interface RegionRow {
  region: string; province: string; volume: number; first_response_median: number | null
  sla_compliance: number | null; csat_avg: number | null
}
export interface FunnelStage { stage: string; count: number; drop_off: number | null; median_minutes: number | null }
export interface AgentRow {
  agent_id: string; name: string; handled: number; resolved: number; handle_minutes_median: number | null
  sla_compliance: number | null; csat_avg: number | null; transfers: number; open_now: number
}
export interface ProblemRow {
  category: string | null; count: number; previous: number; change: number | null
  reopen_rate: number | null; keywords: { term: string; count: number }[]
}
export interface BreakdownRow {
  key: string | null; label: string | null; volume: number; resolved: number
  first_response_median: number | null; sla_compliance: number | null; csat_avg: number | null
}
export interface DrillTicket {
  id: string; number: number; title: string; status: string; priority: string; category: string | null
  channel: string; created_at: string; first_response_minutes: number | null; resolution_minutes: number | null
  csat: number | null
}
export interface DrillCell { hour_of_week?: number; cell_region?: string; open_only?: boolean }
export interface Personal { summary: Summary; volume: Point[]; resolved: Point[] }
export interface TeamOption { id: string; name: string }

function query(filters: DashboardFilters, extra: Record<string, string | number | boolean | undefined> = {}): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(filters)) {
    if (Array.isArray(value)) value.filter((v) => v !== '').forEach((v) => params.append(name, v))
    else if (value) params.set(name, value)
  }
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) params.set(name, String(value))
  return params.toString()
}

const base = '/api/v1/analytics'

export const analyticsApi = {
  summary: (f: DashboardFilters) => requestJson<Summary>('GET', `${base}/summary?${query(f)}`),
  series: (f: DashboardFilters, metric: string, granularity: 'hour' | 'day' = 'day') =>
    requestJson<Series>('GET', `${base}/series?${query(f, { metric, granularity })}`),
  heatmap: (f: DashboardFilters) => requestJson<Heatmap>('GET', `${base}/heatmap?${query(f)}`),
  regions: (f: DashboardFilters) => requestJson<{ items: RegionRow[] }>('GET', `${base}/regions?${query(f)}`),
  funnel: (f: DashboardFilters) => requestJson<{ stages: FunnelStage[] }>('GET', `${base}/funnel?${query(f)}`),
  leaderboard: (f: DashboardFilters) => requestJson<{ items: AgentRow[] }>('GET', `${base}/leaderboard?${query(f)}`),
  problems: (f: DashboardFilters) => requestJson<{ items: ProblemRow[] }>('GET', `${base}/problems?${query(f)}`),
  breakdown: (f: DashboardFilters, by: string) =>
    requestJson<{ by: string; items: BreakdownRow[] }>('GET', `${base}/breakdown?${query(f, { by })}`),
  drill: (f: DashboardFilters, cell: DrillCell, limit = 50) =>
    requestJson<{ total: number; items: DrillTicket[] }>('GET', `${base}/drill?${query(f, { ...cell, limit })}`),
  me: (f: DashboardFilters) => requestJson<Personal>('GET', `${base}/me?${query(f)}`),
  teams: () => requestJson<{ items: TeamOption[] }>('GET', '/api/v1/teams'),
}

/** The period of the last `days` days ending at the next full hour (UTC ISO strings). */
export function lastDays(days: number, now: Date = new Date()): { start: string; end: string } {
  const end = new Date(now)
  end.setMinutes(0, 0, 0)
  end.setHours(end.getHours() + 1)
  const start = new Date(end.getTime() - days * 86_400_000)
  return { start: start.toISOString(), end: end.toISOString() }
}

/** Metrics a dashboard link can point at (the alert rules' metrics, `analytics.metrics.METRICS`). */
export const LINKABLE_METRICS = [
  'volume', 'resolved', 'backlog', 'first_response_median', 'first_response_p90', 'resolution_median',
  'resolution_p90', 'sla_compliance', 'csat_avg', 'reopen_rate', 'fcr_rate',
] as const

/**
 * What the dashboard's URL holds, so a view can be shared and alert notifications can open it: a preset
 * period (`days`) or a fixed one (`start`/`end`, ISO), the filters — in the alert link's names
 * (`team_ids`, `channels` … comma-joined, see analytics/alerts/service.py `dashboard_link`) — and the
 * `metric` to highlight.
 */
export interface DashboardView {
  days: number | null
  start: string | null
  end: string | null
  filters: Record<ViewFilter, string[]>
  metric: string | null
}
export const VIEW_FILTERS = {
  team_ids: 'team_id', agent_ids: 'agent_id', channels: 'channel', entry_point_ids: 'entry_point_id',
  scenarios: 'scenario', categories: 'category', priorities: 'priority', customer_levels: 'customer_level',
  regions: 'region',
} as const
export type ViewFilter = keyof typeof VIEW_FILTERS
export const DEFAULT_DAYS = 30
export const PRESET_DAYS = [1, 7, 30, 90]

type QueryValue = string | null | (string | null)[] | undefined

function values(raw: QueryValue): string[] {
  const list = Array.isArray(raw) ? raw : raw == null ? [] : [raw]
  return list.flatMap((v) => (v ?? '').split(',')).map((v) => v.trim()).filter((v) => v !== '')
}

function instant(raw: QueryValue): string | null {
  const text = values(raw)[0]
  if (!text) return null
  const parsed = new Date(text)
  return Number.isNaN(parsed.getTime()) ? null : parsed.toISOString()
}

export function emptyViewFilters(): Record<ViewFilter, string[]> {
  return Object.fromEntries(Object.keys(VIEW_FILTERS).map((k) => [k, []])) as unknown as Record<ViewFilter, string[]>
}

/** The view a dashboard URL names; anything malformed falls back to the default (last 30 days). */
export function viewFromQuery(query: Record<string, QueryValue>): DashboardView {
  const filters = emptyViewFilters()
  for (const key of Object.keys(VIEW_FILTERS) as ViewFilter[]) filters[key] = values(query[key])
  const metric = values(query.metric)[0] ?? null
  const start = instant(query.start)
  const end = instant(query.end)
  const fixed = start !== null && end !== null && start < end
  const days = Number(values(query.days)[0])
  return {
    days: fixed ? null : PRESET_DAYS.includes(days) ? days : DEFAULT_DAYS,
    start: fixed ? start : null,
    end: fixed ? end : null,
    filters,
    metric: metric && (LINKABLE_METRICS as readonly string[]).includes(metric) ? metric : null,
  }
}

/** The URL query of a view (defaults left out, so the plain dashboard stays `/dashboard`). */
export function viewToQuery(view: DashboardView): Record<string, string> {
  const query: Record<string, string> = {}
  if (view.metric) query.metric = view.metric
  if (view.start && view.end) {
    query.start = view.start
    query.end = view.end
  } else if (view.days && view.days !== DEFAULT_DAYS) {
    query.days = String(view.days)
  }
  for (const key of Object.keys(VIEW_FILTERS) as ViewFilter[]) {
    if (view.filters[key].length) query[key] = view.filters[key].join(',')
  }
  return query
}

/** The API filters of a view. */
export function viewFilters(view: DashboardView, now: Date = new Date()): DashboardFilters {
  const period = view.start && view.end ? { start: view.start, end: view.end } : lastDays(view.days ?? DEFAULT_DAYS, now)
  const out: DashboardFilters = { ...period }
  for (const [key, param] of Object.entries(VIEW_FILTERS) as [ViewFilter, keyof DashboardFilters][]) {
    ;(out as unknown as Record<string, string[]>)[param] = [...view.filters[key]]
  }
  return out
}
