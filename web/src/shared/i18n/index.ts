/** UI language: zh-CN by default, English on request; the choice lives in localStorage (and, for
 * console users, in their profile so it follows them to another browser). */
export const LOCALES = ['zh-CN', 'en'] as const
export type Locale = (typeof LOCALES)[number]
export const DEFAULT_LOCALE: Locale = 'zh-CN'
const STORAGE_KEY = 'huiliu.locale'

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value)
}

export function storedLocale(): Locale {
  const value = localStorage.getItem(STORAGE_KEY)
  return isLocale(value) ? value : DEFAULT_LOCALE
}

export function storeLocale(locale: Locale): void {
  localStorage.setItem(STORAGE_KEY, locale)
  document.documentElement.lang = locale
}

/** Call before createI18n: the stored language, also set on <html lang>. */
export function initialLocale(): Locale {
  const locale = storedLocale()
  document.documentElement.lang = locale
  return locale
}
