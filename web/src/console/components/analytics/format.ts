/** Number formatting shared by the dashboard components. */
type Translate = (key: string, values?: Record<string, unknown>) => string

export function formatPercent(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined) return '—'
  return `${(value * 100).toFixed(digits)}%`
}

export function formatMinutes(value: number | null | undefined, t: Translate): string {
  if (value === null || value === undefined) return '—'
  if (value >= 1440) return t('analytics.days', { n: (value / 1440).toFixed(1) })
  if (value >= 60) return t('analytics.hours', { n: (value / 60).toFixed(1) })
  return t('analytics.minutes', { n: Math.round(value) })
}

export function formatNumber(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined) return '—'
  return value.toFixed(digits)
}

/** "+12.5%" / "−3.0%" for a relative change, or "" when there is nothing to compare. */
export function formatChange(value: number | null | undefined): string {
  if (value === null || value === undefined) return ''
  const sign = value > 0 ? '+' : value < 0 ? '−' : '±'
  return `${sign}${Math.abs(value * 100).toFixed(1)}%`
}
