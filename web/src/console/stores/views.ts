/**
 * Ticket queues: the built-in views every agent has, plus custom views an agent saves. Custom views
 * live in this browser's localStorage (per user) until the server stores saved views.
 */
import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import type { Status } from '@/shared/api/client'
import { useSession } from './session'

export const UNRESOLVED: Status[] = ['new', 'open', 'pending', 'on_hold']
export const SORTS = ['-created_at', 'created_at', '-updated_at', 'updated_at'] as const
export type Sort = (typeof SORTS)[number]

export interface QueueFilters {
  status?: Status[]
  priority?: string[]
  /** a user id, "me" or "none" */
  assignee_id?: string
  /** a team id or "none" */
  team_id?: string
  channel?: string
  tag?: string
  q?: string
}

export interface QueueView {
  key: string
  builtin: boolean
  /** i18n key of a built-in view's name; custom views carry their own name */
  labelKey?: string
  name?: string
  filters: QueueFilters
  sort: Sort
  /** Why the view has no list yet (its data comes with a later feature); no request is made. */
  unavailableKey?: string
}

const CUSTOM_PREFIX = 'custom-'

function storageKey(userId: string): string {
  return `huiliu.views.${userId}`
}

function readCustom(userId: string): QueueView[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(storageKey(userId)) ?? '[]')
    if (!Array.isArray(parsed)) return []
    return parsed.filter(
      (view): view is QueueView =>
        typeof view === 'object' && view !== null && typeof view.key === 'string' && typeof view.name === 'string',
    )
  } catch {
    return []
  }
}

export const useViews = defineStore('views', () => {
  const session = useSession()
  const custom = ref<QueueView[]>([])

  watch(
    () => session.me?.id,
    (userId) => {
      custom.value = userId ? readCustom(userId) : []
    },
    { immediate: true },
  )

  const builtin = computed<QueueView[]>(() => {
    const teamId = session.me?.team_id ?? undefined
    return [
      { key: 'mine', builtin: true, labelKey: 'views.mine', filters: { assignee_id: 'me', status: UNRESOLVED }, sort: '-updated_at' },
      { key: 'unassigned', builtin: true, labelKey: 'views.unassigned', filters: { assignee_id: 'none', status: ['new', 'open'] }, sort: '-created_at' },
      teamId
        ? { key: 'team', builtin: true, labelKey: 'views.team', filters: { team_id: teamId }, sort: '-updated_at' }
        : { key: 'team', builtin: true, labelKey: 'views.team', filters: {}, sort: '-updated_at', unavailableKey: 'views.noTeam' },
      { key: 'open', builtin: true, labelKey: 'views.open', filters: { status: UNRESOLVED }, sort: '-created_at' },
      { key: 'pending', builtin: true, labelKey: 'views.pending', filters: { status: ['pending'] }, sort: '-updated_at' },
      { key: 'breaching', builtin: true, labelKey: 'views.breaching', filters: {}, sort: '-created_at', unavailableKey: 'views.breachingLater' },
      { key: 'resolved', builtin: true, labelKey: 'views.resolved', filters: { status: ['resolved'] }, sort: '-updated_at' },
    ]
  })

  const all = computed(() => [...builtin.value, ...custom.value])

  function find(key: string): QueueView | undefined {
    return all.value.find((view) => view.key === key)
  }

  function persist(): void {
    const userId = session.me?.id
    if (userId) localStorage.setItem(storageKey(userId), JSON.stringify(custom.value))
  }

  function save(name: string, filters: QueueFilters, sort: Sort, key?: string): QueueView {
    const view: QueueView = {
      key: key ?? `${CUSTOM_PREFIX}${Date.now().toString(36)}`,
      builtin: false,
      name,
      filters: { ...filters },
      sort,
    }
    const index = custom.value.findIndex((existing) => existing.key === view.key)
    if (index >= 0) custom.value.splice(index, 1, view)
    else custom.value.push(view)
    persist()
    return view
  }

  function remove(key: string): void {
    custom.value = custom.value.filter((view) => view.key !== key)
    persist()
  }

  return { builtin, custom, all, find, save, remove }
})

/** The list endpoint's query for a view's filters. */
export function listQuery(filters: QueueFilters) {
  return {
    status: filters.status?.length ? filters.status.join(',') : undefined,
    priority: filters.priority?.length ? filters.priority.join(',') : undefined,
    assignee_id: filters.assignee_id || undefined,
    team_id: filters.team_id || undefined,
    channel: filters.channel || undefined,
    tag: filters.tag || undefined,
    q: filters.q || undefined,
  }
}
