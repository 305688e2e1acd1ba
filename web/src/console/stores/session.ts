import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { ApiError, api, hasSession, unwrap, type Me } from '@/shared/api/client'
import { isLocale, storeLocale, type Locale } from '@/shared/i18n'
import { i18n } from '../i18n'

export const useSession = defineStore('session', () => {
  const me = ref<Me | null>(null)
  const loaded = ref(false)

  const permissions = computed(() => new Set(me.value?.permissions ?? []))
  function can(permission: string): boolean {
    return permissions.value.has(permission)
  }

  function applyLocale(locale: Locale): void {
    i18n.global.locale.value = locale
    storeLocale(locale)
  }

  /** Who is logged in, or null. Without the session's CSRF cookie there is no session to ask about. */
  async function load(): Promise<Me | null> {
    if (!hasSession()) {
      me.value = null
      loaded.value = true
      return null
    }
    try {
      me.value = await unwrap(api.GET('/api/v1/auth/me'))
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error
      me.value = null
    }
    loaded.value = true
    return me.value
  }

  async function login(email: string, password: string): Promise<Me | null> {
    await unwrap(api.POST('/api/v1/auth/login', { body: { email, password } }))
    const user = await load()
    // The profile's language follows the user from browser to browser.
    if (user?.locale && isLocale(user.locale)) applyLocale(user.locale)
    return user
  }

  async function logout(): Promise<void> {
    await unwrap(api.POST('/api/v1/auth/logout'))
    me.value = null
  }

  /** Switch the UI language now, remember it in this browser and in the user's profile. */
  async function setLocale(locale: Locale): Promise<void> {
    applyLocale(locale)
    if (me.value) {
      me.value = await unwrap(api.PATCH('/api/v1/auth/me', { body: { locale } }))
    }
  }

  async function updateName(name: string): Promise<void> {
    me.value = await unwrap(api.PATCH('/api/v1/auth/me', { body: { name } }))
  }

  function forget(): void {
    me.value = null
  }

  return { me, loaded, can, load, login, logout, setLocale, updateName, forget }
})
