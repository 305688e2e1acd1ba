import { onBeforeUnmount, onMounted, ref } from 'vue'

/** Keys typed into a field are text, not shortcuts. */
function isEditable(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false
  const tag = target.tagName
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable
}

export type ShortcutMap = Record<string, (event: KeyboardEvent) => void>

/** Single-key shortcuts while the calling component is mounted. */
export function useShortcuts(map: ShortcutMap): void {
  const onKey = (event: KeyboardEvent) => {
    if (event.ctrlKey || event.metaKey || event.altKey || isEditable(event.target)) return
    if (document.querySelector('.el-overlay:not([style*="display: none"]) .el-dialog, .el-message-box')) return
    const handler = map[event.key]
    if (handler) {
      event.preventDefault()
      handler(event)
    }
  }
  onMounted(() => window.addEventListener('keydown', onKey))
  onBeforeUnmount(() => window.removeEventListener('keydown', onKey))
}

/** The help dialog's visibility, shared by the layout (which owns "?") and the header button. */
export const shortcutHelpOpen = ref(false)
