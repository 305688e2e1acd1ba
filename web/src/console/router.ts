import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { setUnauthorizedHandler } from '@/shared/api/client'
import { useSession } from './stores/session'

const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('./pages/LoginPage.vue'), meta: { public: true } },
  {
    path: '/',
    component: () => import('./layouts/ConsoleLayout.vue'),
    children: [
      { path: '', redirect: { name: 'queue', params: { view: 'mine' } } },
      { path: 'queues/:view', name: 'queue', component: () => import('./pages/QueuePage.vue') },
      { path: 'tickets/:id', name: 'ticket', component: () => import('./pages/TicketPage.vue') },
      { path: 'customers', name: 'customers', component: () => import('./pages/CustomersPage.vue') },
      { path: 'customers/:id', name: 'customer', component: () => import('./pages/CustomerPage.vue') },
      { path: 'intake/entry-points', name: 'entry-points', component: () => import('./pages/EntryPointsPage.vue') },
      { path: 'intake/entry-points/:id', name: 'entry-point', component: () => import('./pages/EntryPointDetailPage.vue') },
      { path: 'intake/imports', name: 'imports', component: () => import('./pages/ImportsPage.vue') },
      { path: 'intake/wechat', name: 'tencent-channels', component: () => import('./pages/TencentChannelPage.vue') },
      { path: 'settings/users', name: 'users', component: () => import('./pages/UsersPage.vue') },
      { path: 'settings/teams', name: 'teams', component: () => import('./pages/TeamsPage.vue') },
      { path: 'settings/roles', name: 'roles', component: () => import('./pages/RolesPage.vue') },
      { path: 'settings/rules', name: 'rules', component: () => import('./pages/RulesPage.vue') },
      { path: 'settings/routing', name: 'routing-policies', component: () => import('./pages/RoutingPoliciesPage.vue') },
      { path: 'settings/agents', name: 'agents', component: () => import('./pages/AgentsPage.vue') },
      { path: 'settings/sla-calendars', name: 'sla-calendars', component: () => import('./pages/SlaCalendarsPage.vue') },
      { path: 'settings/sla-policies', name: 'sla-policies', component: () => import('./pages/SlaPoliciesPage.vue') },
      { path: 'settings/sla-preview', name: 'sla-preview', component: () => import('./pages/SlaPreviewPage.vue') },
      { path: 'sla/breaching-soon', name: 'breaching-soon', component: () => import('./pages/BreachingSoonPage.vue') },
      { path: 'settings/profile', name: 'profile', component: () => import('./pages/ProfilePage.vue') },
      { path: 'notifications', name: 'notifications', component: () => import('./pages/NotificationsPage.vue') },
      { path: 'settings/notifications', name: 'notification-preferences', component: () => import('./pages/NotificationPreferencesPage.vue') },
      { path: ':pathMatch(.*)*', name: 'not-found', component: () => import('./pages/NotFoundPage.vue') },
    ],
  },
]

export const router = createRouter({ history: createWebHistory(import.meta.env.BASE_URL), routes })

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  const session = useSession()
  if (!session.me) await session.load()
  if (!session.me) return { name: 'login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} }
  return true
})

setUnauthorizedHandler(() => {
  const session = useSession()
  session.forget()
  const current = router.currentRoute.value
  if (!current.meta.public) void router.replace({ name: 'login', query: { next: current.fullPath } })
})
