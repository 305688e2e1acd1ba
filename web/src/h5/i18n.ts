import { createI18n } from 'vue-i18n'
import { DEFAULT_LOCALE, initialLocale } from '@/shared/i18n'
import en from './locales/en'
import zhCN from './locales/zh-CN'

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: DEFAULT_LOCALE,
  messages: { 'zh-CN': zhCN, en },
})
