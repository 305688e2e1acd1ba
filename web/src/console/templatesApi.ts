/**
 * Calls to the ticket templates API (`/api/v1/templates…`) with local types that mirror the server's
 * response models (src/huiliu/ticket_templates/schemas.py) until the generated client includes them.
 * Problem+json errors become `ApiError`; per-field problems carry `errors: [{field, code?, message}]`.
 */
import { ApiError, requestJson } from '@/shared/api/client'

export const FIELD_TYPES = [
  'text',
  'textarea',
  'number',
  'money',
  'select',
  'multi_select',
  'cascade',
  'date',
  'datetime',
  'phone',
  'email',
  'image',
  'file',
  'signature',
  'location',
  'customer_ref',
  'order_ref',
] as const
export type FieldType = (typeof FIELD_TYPES)[number]
export const OPTION_TYPES: readonly FieldType[] = ['select', 'multi_select', 'cascade']
export const LENGTH_TYPES: readonly FieldType[] = ['text', 'textarea', 'phone', 'email', 'order_ref']
export const RANGE_TYPES: readonly FieldType[] = ['number', 'money', 'date', 'datetime']
export const COUNT_TYPES: readonly FieldType[] = ['multi_select', 'image', 'file']
export const PATTERN_TYPES: readonly FieldType[] = ['text', 'textarea', 'order_ref']
export const SCENARIOS = ['presales', 'sales', 'aftersales', 'complaint', 'custom'] as const
export type Scenario = (typeof SCENARIOS)[number]
export const CONDITION_OPS = ['eq', 'ne', 'in', 'not_in', 'contains', 'gt', 'gte', 'lt', 'lte', 'empty', 'not_empty'] as const
export type ConditionOp = (typeof CONDITION_OPS)[number]
export const CHANNELS = ['h5_form', 'web', 'api', 'console', 'wechat_mp', 'wecom_app', 'wecom_kf', 'email'] as const

export interface LocalText {
  'zh-CN'?: string
  en?: string
}

export interface FieldOption {
  value: string
  label: LocalText
  children?: FieldOption[]
}

export interface ConditionTest {
  field: string
  op: ConditionOp
  value?: unknown
}

export type Condition = { all: ConditionTest[] } | { any: ConditionTest[] }

export interface FieldValidation {
  min_length?: number
  max_length?: number
  min?: number | string
  max?: number | string
  pattern?: string
}

export interface TemplateField {
  key: string
  type: FieldType
  label: LocalText
  required?: boolean
  default?: unknown
  help?: LocalText
  validation?: FieldValidation
  options?: FieldOption[]
  visible_when?: Condition | null
  required_when?: Condition | null
  channels?: string[]
  roles?: Record<string, 'read_only' | 'hidden'>
}

export interface TemplateDefaults {
  priority?: 'urgent' | 'high' | 'normal' | 'low' | null
  team_id?: string | null
  tags?: string[]
  category?: string | null
}

export interface TemplateSummary {
  id: string
  key: string
  name: string
  scenario: Scenario
  status: 'draft' | 'published' | 'archived'
  current_version: number | null
  field_count: number
  has_draft_changes: boolean
  preset_key: string | null
  updated_at: string
}

export interface Template extends Omit<TemplateSummary, 'field_count'> {
  description: string
  fields: TemplateField[]
  defaults: TemplateDefaults
  workflow_id: string | null
  sla_policy_id: string | null
  current_version_id: string | null
  created_at: string
}

export interface TemplateVersion {
  id: string
  template_id: string
  version: number
  name: string
  scenario: Scenario
  fields: TemplateField[]
  defaults: TemplateDefaults
  workflow_id: string | null
  sla_policy_id: string | null
  published_by_id: string | null
  created_at: string
}

export interface Preset {
  key: string
  name: string
  description: string
  scenario: Scenario
  industry: string
  field_count: number
  installed_template_id: string | null
}

export interface FieldProblem {
  field: string
  code?: string
  message: string
  messages?: LocalText
}

export interface Checked {
  ok: boolean
  values: Record<string, unknown>
  errors: FieldProblem[]
  visible: string[]
}

export interface TemplateInput {
  key?: string
  name?: string
  description?: string
  scenario?: Scenario
  fields?: TemplateField[]
  defaults?: TemplateDefaults
  workflow_id?: string | null
  sla_policy_id?: string | null
}

const BASE = '/api/v1/templates'

export const templatesApi = {
  list: async (): Promise<TemplateSummary[]> =>
    (await requestJson<{ items: TemplateSummary[] }>('GET', BASE)).items,
  get: (id: string): Promise<Template> => requestJson('GET', `${BASE}/${id}`),
  create: (body: TemplateInput): Promise<Template> => requestJson('POST', BASE, body),
  update: (id: string, body: TemplateInput): Promise<Template> => requestJson('PATCH', `${BASE}/${id}`, body),
  publish: (id: string): Promise<TemplateVersion> => requestJson('POST', `${BASE}/${id}:publish`),
  archive: (id: string): Promise<Template> => requestJson('POST', `${BASE}/${id}:archive`),
  versions: async (id: string): Promise<TemplateVersion[]> =>
    (await requestJson<{ items: TemplateVersion[] }>('GET', `${BASE}/${id}/versions`)).items,
  versionById: (versionId: string): Promise<TemplateVersion> => requestJson('GET', `${BASE}/versions/${versionId}`),
  validate: (
    id: string,
    body: { values: Record<string, unknown>; channel?: string | null; role?: string | null; fields?: TemplateField[] },
  ): Promise<Checked> => requestJson('POST', `${BASE}/${id}:validate`, body),
  presets: async (): Promise<Preset[]> => (await requestJson<{ items: Preset[] }>('GET', `${BASE}/presets`)).items,
  installPreset: (key: string): Promise<Template> => requestJson('POST', `${BASE}/presets/${key}:install`),
}

/** The per-field problems of an API error (schema paths or field keys), else none. */
export function fieldProblems(error: unknown): FieldProblem[] {
  if (!(error instanceof ApiError)) return []
  const errors = (error.problem as { errors?: unknown }).errors
  if (!Array.isArray(errors)) return []
  return errors
    .filter((item): item is FieldProblem => typeof item === 'object' && item !== null && 'field' in item)
    .map((item) => ({ field: String(item.field), code: item.code, message: String(item.message ?? ''), messages: item.messages }))
}

/** A per-locale text in the UI's language, falling back to the other one. */
export function localText(text: LocalText | string | undefined | null, locale: string): string {
  if (!text) return ''
  if (typeof text === 'string') return text
  return (locale.startsWith('en') ? text.en || text['zh-CN'] : text['zh-CN'] || text.en) ?? ''
}

/** The condition's tests and mode, whatever form it came in. */
export function conditionParts(condition: Condition | null | undefined): { mode: 'all' | 'any'; tests: ConditionTest[] } {
  if (!condition) return { mode: 'all', tests: [] }
  if ('any' in condition) return { mode: 'any', tests: condition.any }
  return { mode: 'all', tests: condition.all }
}

function isEmpty(value: unknown): boolean {
  return value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0)
}

function compare(left: unknown, right: unknown): number | null {
  const a = Number(left)
  const b = Number(right)
  if (left !== '' && right !== '' && !Number.isNaN(a) && !Number.isNaN(b)) return a === b ? 0 : a < b ? -1 : 1
  if (typeof left === 'string' && typeof right === 'string') return left === right ? 0 : left < right ? -1 : 1
  return null
}

function holds(test: ConditionTest, values: Record<string, unknown>): boolean {
  const value = values[test.field]
  if (test.op === 'empty') return isEmpty(value)
  if (test.op === 'not_empty') return !isEmpty(value)
  if (isEmpty(value)) return test.op === 'ne' || test.op === 'not_in'
  const members = Array.isArray(value) ? value : [value]
  const same = (a: unknown, b: unknown): boolean => compare(a, b) === 0 || a === b
  switch (test.op) {
    case 'eq':
      return members.some((m) => same(m, test.value))
    case 'ne':
      return !members.some((m) => same(m, test.value))
    case 'in':
      return members.some((m) => ((test.value as unknown[]) ?? []).some((w) => same(m, w)))
    case 'not_in':
      return !members.some((m) => ((test.value as unknown[]) ?? []).some((w) => same(m, w)))
    case 'contains':
      return Array.isArray(value) ? members.some((m) => same(m, test.value)) : String(value).includes(String(test.value))
    default: {
      const order = compare(value, test.value)
      if (order === null) return false
      return { gt: order > 0, gte: order >= 0, lt: order < 0, lte: order <= 0 }[test.op] ?? false
    }
  }
}

/** The same condition language the server evaluates (src/huiliu/ticket_templates/domain/conditions.py). */
export function conditionHolds(condition: Condition | null | undefined, values: Record<string, unknown>): boolean {
  if (!condition) return true
  const { mode, tests } = conditionParts(condition)
  const results = tests.map((test) =>
    'all' in (test as object) || 'any' in (test as object)
      ? conditionHolds(test as unknown as Condition, values)
      : holds(test, values),
  )
  return mode === 'all' ? results.every(Boolean) : results.some(Boolean)
}

/** Keys of the fields shown for these values, top to bottom (hidden fields count as empty). */
export function visibleKeys(fields: TemplateField[], values: Record<string, unknown>, channel: string | null): string[] {
  const shown: Record<string, unknown> = {}
  const keys: string[] = []
  for (const field of fields) {
    if (channel && field.channels && field.channels.length && !field.channels.includes(channel)) continue
    if (!conditionHolds(field.visible_when, shown)) continue
    keys.push(field.key)
    shown[field.key] = values[field.key]
  }
  return keys
}

/** Whether a shown field must be filled for these values. */
export function isRequired(field: TemplateField, values: Record<string, unknown>): boolean {
  return Boolean(field.required) || (field.required_when ? conditionHolds(field.required_when, values) : false)
}
