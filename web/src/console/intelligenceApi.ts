/**
 * Calls to the classification-on-tickets API (`/api/v1/triage`, `/api/v1/tickets/{id}/classification`,
 * `/api/v1/intelligence/settings`, `/api/v1/intelligence/categories`, `/api/v1/intelligence/model`) with local types that mirror the
 * server's responses (src/huiliu/intelligence/triage_api.py) until the generated client includes them.
 */
import { requestJson } from '@/shared/api/client'

export const TRIAGE_TARGETS = ['scenario', 'category', 'priority'] as const
export type TriageTarget = (typeof TRIAGE_TARGETS)[number]
export const SCENARIOS = ['presales', 'sales', 'aftersales', 'complaint'] as const
export const PRIORITIES = ['urgent', 'high', 'normal', 'low'] as const

/** [label, probability], best first. */
export type Guess = [string, number]

export interface Classification {
  ticket_id: string
  /** The category is null when nothing in the tenant's taxonomy scored. */
  labels: Record<string, string | null>
  confidence: Record<string, number>
  guesses: Record<string, Guess[]>
  low: string[]
  model_version: string
  needs_triage: boolean
  triaged_by: string | null
  triaged_at: string | null
  created_at: string
}

export interface TriageTicket {
  id: string
  number: number
  title: string
  status: string
  priority: string
  scenario: string | null
  category: string | null
  created_at: string
}

export interface TriageItem extends Classification {
  ticket: TriageTicket
}

export interface TriageDecision {
  scenario?: string
  category?: string
  priority?: string
}

/** One entry of the tenant's category taxonomy: the key tickets store, and display names. */
export interface TaxonomyCategory {
  key: string
  names: { 'zh-CN': string; en: string }
}

export interface ClassificationSettings {
  enabled: boolean
  thresholds: Record<TriageTarget, number>
  urgent_confidence: number
  categories: TaxonomyCategory[]
}

export interface Headline {
  macro_f1: number
  urgent_recall: number
  scenario_macro_f1: number
  category_macro_f1: number
  priority_macro_f1: number
}

export interface TenantCard {
  trained_at: string
  seed: number
  promoted: boolean
  reason: string
  baseline: Headline
  candidate: Headline
  data: { shipped_examples: number; corrections: number; train_examples: number; held_out_examples: number }
  model_version: string | null
}

export interface ModelCards {
  shipped: {
    trained_at: string
    examples: number
    dataset: string
    seed: number
    sklearn_version: string
    metrics: Record<string, unknown>
  }
  tenant: TenantCard | null
  serving: 'tenant' | 'shipped'
}

/** `POST /api/v1/classify`: what the classifier says about a text, and the entities found in it. */
export interface ClassifyResult {
  scenario: string
  category: string | null
  priority: string
  sentiment: string
  confidence: { scenario: number; category: number; priority: number; sentiment: number }
  entities: Record<string, string[]>
}

export const intelligenceApi = {
  classify: (text: string) => requestJson<ClassifyResult>('POST', '/api/v1/classify', { text }),
  triage: (limit = 100) => requestJson<{ items: TriageItem[] }>('GET', `/api/v1/triage?limit=${limit}`),
  decide: (ticketId: string, decision: TriageDecision) =>
    requestJson<Classification>('POST', `/api/v1/triage/${ticketId}`, decision),
  ticketClassification: (ticketId: string) =>
    // undefined (204) when the ticket was not classified.
    requestJson<Classification | undefined>('GET', `/api/v1/tickets/${ticketId}/classification`),
  settings: () => requestJson<ClassificationSettings>('GET', '/api/v1/intelligence/settings'),
  saveSettings: (settings: ClassificationSettings) =>
    requestJson<ClassificationSettings>('PUT', '/api/v1/intelligence/settings', settings),
  models: () => requestJson<ModelCards>('GET', '/api/v1/intelligence/model'),
  categories: () => requestJson<{ items: TaxonomyCategory[] }>('GET', '/api/v1/intelligence/categories'),
}

/** A category's display name in the UI's language (zh-CN, else English), or its key when unknown. */
export function categoryName(categories: TaxonomyCategory[], key: string | null | undefined, locale: string): string {
  if (!key) return ''
  const found = categories.find((category) => category.key === key)
  if (!found) return key
  return locale.startsWith('zh') ? found.names['zh-CN'] : found.names.en
}

export function percent(value: number | undefined): string {
  return value === undefined ? '' : `${Math.round(value * 100)}%`
}
