/**
 * How many tickets each queue holds. There is no count endpoint yet, so each view asks the list
 * endpoint for up to COUNT_LIMIT rows: the exact number below that, "100+" at or above it.
 */
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { api, unwrap } from '@/shared/api/client'
import { listQuery, useViews } from './views'

export const COUNT_LIMIT = 100

export const useQueueCounts = defineStore('queueCounts', () => {
  const counts = ref<Record<string, string>>({})
  let timer: ReturnType<typeof setTimeout> | null = null
  let generation = 0

  async function refresh(): Promise<void> {
    const views = useViews()
    const mine = ++generation
    const results = await Promise.all(
      views.all
        .filter((view) => !view.unavailableKey)
        .map(async (view) => {
          const page = await unwrap(
            api.GET('/api/v1/tickets', {
              params: { query: { ...listQuery(view.filters), limit: COUNT_LIMIT, sort: view.sort } },
            }),
          )
          const label = page.next_cursor ? `${COUNT_LIMIT}+` : String(page.items.length)
          return [view.key, label] as const
        }),
    )
    // A slower, older refresh must not overwrite a newer one.
    if (mine === generation) counts.value = Object.fromEntries(results)
  }

  /** Coalesce bursts of live events (a bulk action sends many) into one refresh. */
  function refreshSoon(delayMs = 500): void {
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = null
      void refresh().catch(() => undefined)
    }, delayMs)
  }

  return { counts, refresh, refreshSoon }
})
