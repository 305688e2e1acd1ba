import { defineStore } from 'pinia'
import { ref } from 'vue'
import { LiveStream, type LiveHandler } from '@/shared/live'

/** The tab's one live connection; pages subscribe while they are shown. */
export const useLive = defineStore('live', () => {
  const stream = new LiveStream()
  const connected = ref(false)
  stream.onConnection((open) => {
    connected.value = open
  })

  function start(): void {
    stream.open()
  }

  function stop(): void {
    stream.close()
  }

  function subscribe(handler: LiveHandler): () => void {
    return stream.subscribe(handler)
  }

  return { connected, start, stop, subscribe }
})
