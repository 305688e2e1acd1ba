import { createRouter, createWebHistory } from 'vue-router'

// Customer-facing pages: the form behind an entry point's QR code (/h5/f/<public key>?src=<source>),
// its confirmation, the private progress page (/h5/p/<signed token>) and the tenant's public help
// centre (/h5/help/<tenant slug>). Any other address gets the not-found page.
export const router = createRouter({
  history: createWebHistory('/h5/'),
  routes: [
    { path: '/f/:key', name: 'form', component: () => import('./pages/FormPage.vue') },
    { path: '/f/:key/done', name: 'submitted', component: () => import('./pages/SubmittedPage.vue') },
    { path: '/p/:token', name: 'progress', component: () => import('./pages/ProgressPage.vue') },
    { path: '/help/:slug', name: 'help', component: () => import('./pages/HelpCenterPage.vue') },
    { path: '/help/:slug/a/:id', name: 'help-article', component: () => import('./pages/HelpArticlePage.vue') },
    { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('./pages/NotFoundPage.vue') },
  ],
})
