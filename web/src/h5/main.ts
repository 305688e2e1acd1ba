import { createApp } from 'vue'
import { createPinia } from 'pinia'
import {
  Button, Cell, CellGroup, ConfigProvider, Empty, Field, Form, Icon, Loading, NavBar, Rate, Tag, Toast, Uploader,
} from 'vant'
import 'vant/lib/index.css'
import App from './App.vue'
import { i18n } from './i18n'
import { router } from './router'

const app = createApp(App)
app.use(createPinia())
app.use(i18n)
app.use(router)
for (const component of [ConfigProvider, NavBar, Empty, Button, Cell, CellGroup, Field, Form, Icon, Loading, Rate, Tag, Toast, Uploader]) {
  app.use(component)
}
app.mount('#app')
