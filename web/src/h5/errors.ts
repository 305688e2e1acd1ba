import { ApiError, errorMessage } from '@/shared/api/client'

type Translate = (key: string, values?: Record<string, unknown>) => string

/** A customer-friendly sentence for a failed request (no status codes, no English server text where
 * a translated one exists). */
export function friendlyError(error: unknown, t: Translate): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return t('errors.network')
    if (error.status === 429) return t('errors.tooFrequent')
    if (error.status === 413) return t('errors.tooLarge')
    if (error.status === 415) return t('errors.badFile')
    if (error.status === 422 || error.status === 400) return t('errors.invalid', { message: error.message })
  }
  if (error instanceof TypeError) return t('errors.network')
  return t('errors.generic', { message: errorMessage(error) })
}

/** Mainland mobile numbers, with or without +86 / 0086 and spaces or dashes: 138 0013 8000. */
export function isMobile(value: string): boolean {
  const digits = value.replace(/[\s-]/g, '').replace(/^(\+86|0086)/, '')
  return /^1[3-9]\d{9}$/.test(digits)
}

export function isEmail(value: string): boolean {
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value.trim())
}

/** The in-app route of a progress URL the server gave. The server builds it on its public base URL,
 * which may differ from the address this page was opened at (a proxy, a LAN address): the page
 * itself is the same app, so it navigates by path. Null when the URL is not a progress page. */
export function progressRoute(progressUrl: string): string | null {
  try {
    const url = new URL(progressUrl, window.location.origin)
    const match = /\/h5(\/p\/[^/]+)$/.exec(url.pathname)
    return match ? match[1] : null
  } catch {
    return null
  }
}
