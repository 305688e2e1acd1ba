import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api, unwrap, type TeamOut, type UserOut } from '@/shared/api/client'
import { useSession } from './session'

const USER_PAGE = 200

/** The tenant's people and teams, for names, the assignee picker and @mentions. */
export const useDirectory = defineStore('directory', () => {
  const users = ref<UserOut[]>([])
  const teams = ref<TeamOut[]>([])
  let loading: Promise<void> | null = null

  const userById = computed(() => new Map(users.value.map((user) => [user.id, user])))
  const teamById = computed(() => new Map(teams.value.map((team) => [team.id, team])))
  const activeUsers = computed(() => users.value.filter((user) => user.is_active))

  async function fetchAll(): Promise<void> {
    const session = useSession()
    const jobs: Promise<void>[] = []
    if (session.can('admin.users') || session.can('ticket.assign')) {
      jobs.push(
        (async () => {
          const collected: UserOut[] = []
          for (let offset = 0; ; offset += USER_PAGE) {
            const page = await unwrap(
              api.GET('/api/v1/users', { params: { query: { limit: USER_PAGE, offset } } }),
            )
            collected.push(...page.items)
            if (collected.length >= page.total || page.items.length === 0) break
          }
          users.value = collected
        })(),
      )
    }
    if (session.can('admin.teams') || session.can('ticket.assign')) {
      jobs.push(
        (async () => {
          teams.value = (await unwrap(api.GET('/api/v1/teams'))).items
        })(),
      )
    }
    await Promise.all(jobs)
  }

  function load(): Promise<void> {
    loading ??= fetchAll().finally(() => {
      loading = null
    })
    return loading
  }

  function userName(id: string | null | undefined): string {
    if (!id) return ''
    return userById.value.get(id)?.name ?? id.slice(0, 8)
  }

  function teamName(id: string | null | undefined): string {
    if (!id) return ''
    return teamById.value.get(id)?.name ?? id.slice(0, 8)
  }

  return { users, teams, activeUsers, userById, teamById, load, userName, teamName }
})
