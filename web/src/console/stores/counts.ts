/**
 * How many tickets each queue holds: GET /api/v1/tickets/count with the view's filters. The server
 * stops counting at COUNT_CAP, so a badge reads "10000+" beyond it and stays cheap at any size.
 */
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { api, unwrap } from '@/shared/api/client'
import { listQuery, useViews } from './views'

export const COUNT_CAP = 10000

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
          const result = await unwrap(
            api.GET('/api/v1/tickets/count', {
              params: { query: { ...listQuery(view.filters), cap: COUNT_CAP } },
            }),
          )
          const label = result.exact ? String(result.count) : `${result.count}+`
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
