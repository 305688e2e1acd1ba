import { renameSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, URL } from 'node:url'
import { defineConfig, type Plugin } from 'vite'
import vue from '@vitejs/plugin-vue'

// One project, two apps. `vite build` builds the agent console (index.html) into
// src/huiliu/static/console; `vite build --mode h5` builds the mobile H5 pages (h5.html) into
// src/huiliu/static/h5, where the API serves them under /h5/.
const staticDir = (name: string) => fileURLToPath(new URL(`../src/huiliu/static/${name}`, import.meta.url))
const apiTarget = process.env.HUILIU_API_URL ?? 'http://127.0.0.1:8000'

/** The H5 entry is h5.html in the source tree but index.html in its own build directory. */
function h5AsIndex(): Plugin {
  return {
    name: 'huiliu-h5-as-index',
    writeBundle(options) {
      const dir = options.dir ?? staticDir('h5')
      renameSync(join(dir, 'h5.html'), join(dir, 'index.html'))
    },
  }
}

/** In the dev server, /h5/... serves the H5 entry, as the API does in production. */
function h5DevFallback(): Plugin {
  return {
    name: 'huiliu-h5-dev-fallback',
    configureServer(server) {
      server.middlewares.use((req, _res, next) => {
        if (req.url && /^\/h5(\/|$)/.test(req.url) && !/\.[a-z0-9]+(\?|$)/i.test(req.url)) {
          req.url = '/h5.html'
        }
        next()
      })
    },
  }
}

export default defineConfig(({ mode }) => {
  const h5 = mode === 'h5'
  return {
    base: h5 ? '/h5/' : '/',
    plugins: [vue(), h5 ? h5AsIndex() : h5DevFallback()],
    resolve: {
      alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
    },
    server: {
      host: '127.0.0.1',
      port: 5173,
      proxy: {
        // The stream is a long-lived response; the proxy passes it through unbuffered.
        '/api': { target: apiTarget, changeOrigin: false },
      },
    },
    build: {
      outDir: staticDir(h5 ? 'h5' : 'console'),
      emptyOutDir: true,
      chunkSizeWarningLimit: 1500,
      rollupOptions: {
        input: fileURLToPath(new URL(h5 ? './h5.html' : './index.html', import.meta.url)),
      },
    },
  }
})
