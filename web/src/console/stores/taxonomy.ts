import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { intelligenceApi, type TaxonomyCategory } from '../intelligenceApi'

/**
 * The tenant's category taxonomy (`GET /api/v1/intelligence/categories`), loaded once per page load:
 * tickets store a category's key, the console shows its name in the UI's language. A key the
 * taxonomy does not have (an imported or since-removed category) is shown as it is (decision 0054).
 */
export const useTaxonomy = defineStore('taxonomy', () => {
  const categories = ref<TaxonomyCategory[]>([])
  let loading: Promise<void> | null = null
  let loaded = false

  const byKey = computed(() => new Map(categories.value.map((category) => [category.key, category])))

  async function fetchAll(): Promise<void> {
    categories.value = (await intelligenceApi.categories()).items
    loaded = true
  }

  /** Loads the taxonomy unless it is loaded; a failure leaves it empty (keys are shown as they are). */
  function load(): Promise<void> {
    if (loaded) return Promise.resolve()
    loading ??= fetchAll()
      .catch(() => undefined)
      .finally(() => {
        loading = null
      })
    return loading
  }

  /** Forget the loaded taxonomy (after an admin saved a new one). */
  function invalidate(): void {
    loaded = false
  }

  function has(key: string | null | undefined): boolean {
    return Boolean(key) && byKey.value.has(key as string)
  }

  /** The category's name in the UI's language (zh-CN, else English), or the key when unknown. */
  function name(key: string | null | undefined, locale: string): string {
    if (!key) return ''
    const found = byKey.value.get(key)
    if (!found) return key
    return locale.startsWith('zh') ? found.names['zh-CN'] : found.names.en
  }

  return { categories, load, invalidate, has, name }
})
