import { createRouter, createWebHistory } from 'vue-router'

// The customer-facing pages (intake forms from QR codes, progress) register their routes here; any
// address without one gets the not-found page.
export const router = createRouter({
  history: createWebHistory('/h5/'),
  routes: [{ path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('./pages/NotFoundPage.vue') }],
})
