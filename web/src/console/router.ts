import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { setUnauthorizedHandler } from '@/shared/api/client'
import { useSession } from './stores/session'

const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('./pages/LoginPage.vue'), meta: { public: true } },
  // The WeCom chat sidebar: no layout; it logs in through WeCom itself, so the guard leaves it alone.
  { path: '/wecom-sidebar/:entryPointId', name: 'wecom-sidebar', component: () => import('./pages/WecomSidebarPage.vue'), meta: { public: true } },
  {
    path: '/',
    component: () => import('./layouts/ConsoleLayout.vue'),
    children: [
      { path: '', redirect: { name: 'queue', params: { view: 'mine' } } },
      { path: 'queues/:view', name: 'queue', component: () => import('./pages/QueuePage.vue') },
      { path: 'tickets/:id', name: 'ticket', component: () => import('./pages/TicketPage.vue') },
      { path: 'dashboard', name: 'dashboard', component: () => import('./pages/DashboardPage.vue') },
      { path: 'dashboard/me', name: 'my-dashboard', component: () => import('./pages/MyDashboardPage.vue') },
      { path: 'staffing', name: 'staffing', component: () => import('./pages/StaffingPage.vue') },
      { path: 'settings/analytics-alerts', name: 'analytics-alerts', component: () => import('./pages/AlertRulesPage.vue') },
      { path: 'kb', name: 'kb', component: () => import('./pages/KnowledgeBasePage.vue') },
      { path: 'kb/articles/new', name: 'kb-article-new', component: () => import('./pages/ArticleEditorPage.vue') },
      { path: 'kb/articles/:id', name: 'kb-article', component: () => import('./pages/ArticleEditorPage.vue') },
      { path: 'kb/quick-replies', name: 'kb-quick-replies', component: () => import('./pages/QuickRepliesPage.vue') },
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
      { path: 'settings/templates', name: 'templates', component: () => import('./pages/TemplatesPage.vue') },
      { path: 'settings/templates/new', name: 'template-new', component: () => import('./pages/TemplateDesignerPage.vue') },
      { path: 'settings/templates/:id', name: 'template-designer', component: () => import('./pages/TemplateDesignerPage.vue') },
      { path: 'triage', name: 'triage', component: () => import('./pages/TriagePage.vue') },
      { path: 'settings/intelligence', name: 'intelligence', component: () => import('./pages/IntelligencePage.vue') },
      { path: 'sla/breaching-soon', name: 'breaching-soon', component: () => import('./pages/BreachingSoonPage.vue') },
      { path: 'settings/workflows', name: 'workflows', component: () => import('./pages/WorkflowsPage.vue') },
      { path: 'settings/workflows/:id', name: 'workflow-designer', component: () => import('./pages/WorkflowDesignerPage.vue') },
      { path: 'approvals', name: 'approvals', component: () => import('./pages/ApprovalsInboxPage.vue') },
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
