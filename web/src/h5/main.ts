import { createApp } from 'vue'
import { createPinia } from 'pinia'
import { ConfigProvider, Empty, NavBar } from 'vant'
import 'vant/lib/index.css'
import App from './App.vue'
import { i18n } from './i18n'
import { router } from './router'

const app = createApp(App)
app.use(createPinia())
app.use(i18n)
app.use(router)
app.use(ConfigProvider).use(NavBar).use(Empty)
app.mount('#app')
