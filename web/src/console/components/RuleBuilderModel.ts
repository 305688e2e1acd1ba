/**
 * The rule builder's working model: the catalog the server answers at GET /api/v1/rules/catalog,
 * editable trees of condition groups and conditions, editable actions, their conversion from and to
 * the rule definition JSON, and the problem paths (the server's 422 `loc`) of every control.
 */
import type { InjectionKey, Ref } from 'vue'
import { ApiError } from '@/shared/api/client'

export interface CatalogField {
  path: string
  type: FieldType
  group: string
  choices: string[]
  ordered: boolean
  changeable: boolean
  settable: boolean
  reference: string | null
  label_key: string
}
export interface CatalogDynamicField { prefix: string; type: FieldType; group: string; settable: boolean; label_key: string }
export interface CatalogParam {
  name: string
  type: 'text' | 'template' | 'enum' | 'bool' | 'json' | 'field' | 'reference' | 'references' | 'channels'
  required: boolean
  choices: string[]
  reference: string | null
  default: unknown
  label_key: string
}
export interface CatalogAction { type: string; label_key: string; params: CatalogParam[] }
export interface Catalog {
  kinds: string[]
  events: string[]
  field_groups: string[]
  fields: CatalogField[]
  dynamic_fields: CatalogDynamicField[]
  operators: string[]
  operators_by_type: Record<string, string[]>
  ordered_operators: string[]
  change_operators: string[]
  no_value_operators: string[]
  list_operators: string[]
  time_anchors: { field: string; unit: 'hours' | 'percent' }[]
  actions: CatalogAction[]
  notify_channels: string[]
  severities: string[]
  template_variables: string[]
  limits: { max_depth: number; max_conditions: number; max_group_size: number; max_actions: number }
  references: { users: string; teams: string; roles: string; entry_points: string; routing_policies: string | null }
}
export type FieldType = 'enum' | 'string' | 'text' | 'tags' | 'number' | 'bool' | 'any'

/** An option of a reference picker (a user, team, role, entry point or routing policy). */
export interface RefOption { value: string; label: string }
export type RefOptions = Record<string, RefOption[]>

export interface ConditionNode {
  uid: number
  kind: 'condition'
  /** A catalog path, or a dynamic prefix (`fields.`, `customer.`) with `key` naming the field. */
  field: string
  key: string
  op: string
  value: unknown
}
export interface GroupNode {
  uid: number
  kind: 'group'
  mode: 'all' | 'any'
  negated: boolean
  children: RuleNode[]
}
export type RuleNode = ConditionNode | GroupNode
export interface ActionItem { uid: number; type: string; params: Record<string, unknown> }

type Json = Record<string, unknown>

let nextUid = 1
export function uid(): number {
  return nextUid++
}

export const DYNAMIC_PREFIXES = ['fields.', 'customer.'] as const

export function emptyGroup(mode: 'all' | 'any' = 'all'): GroupNode {
  return { uid: uid(), kind: 'group', mode, negated: false, children: [] }
}

export function newCondition(field = 'title', op = 'contains', value: unknown = []): ConditionNode {
  return { uid: uid(), kind: 'condition', field, key: '', op, value }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function splitPath(path: string, catalog: Catalog): { field: string; key: string } {
  if (catalog.fields.some((item) => item.path === path)) return { field: path, key: '' }
  const prefix = DYNAMIC_PREFIXES.find((item) => path.startsWith(item))
  return prefix ? { field: prefix, key: path.slice(prefix.length) } : { field: path, key: '' }
}

/** A definition's condition tree as builder nodes; `{"not": x}` becomes a negated group. */
export function toNode(data: unknown, catalog: Catalog): RuleNode {
  if (!isObject(data)) return emptyGroup()
  if ('not' in data) {
    const inner = toNode(data.not, catalog)
    if (inner.kind === 'group' && !inner.negated) return { ...inner, negated: true }
    return { uid: uid(), kind: 'group', mode: 'all', negated: true, children: [inner] }
  }
  for (const mode of ['all', 'any'] as const) {
    if (mode in data) {
      const items = Array.isArray(data[mode]) ? (data[mode] as unknown[]) : []
      return { uid: uid(), kind: 'group', mode, negated: false, children: items.map((item) => toNode(item, catalog)) }
    }
  }
  const { field, key } = splitPath(String(data.field ?? ''), catalog)
  return { uid: uid(), kind: 'condition', field, key, op: String(data.op ?? ''), value: data.value ?? null }
}

/** The root group of a definition's conditions (a bare condition is wrapped in an "all" group). */
export function toRoot(data: unknown, catalog: Catalog): GroupNode {
  const node = toNode(data ?? { all: [] }, catalog)
  return node.kind === 'group' ? node : { ...emptyGroup(), children: [node] }
}

export function fieldPath(node: ConditionNode): string {
  return (DYNAMIC_PREFIXES as readonly string[]).includes(node.field) ? `${node.field}${node.key.trim()}` : node.field
}

/** Builder nodes back to the definition JSON the server reads. */
export function fromNode(node: RuleNode, catalog: Catalog): Json {
  if (node.kind === 'condition') {
    const out: Json = { field: fieldPath(node), op: node.op }
    if (!catalog.no_value_operators.includes(node.op)) out.value = node.value
    return out
  }
  const group = { [node.mode]: node.children.map((child) => fromNode(child, catalog)) }
  return node.negated ? { not: group } : group
}

/** Where a group's children sit in the server's `loc` (`conditions.not.any`). */
export function groupItemsPath(path: string, group: GroupNode): string {
  return `${path}${group.negated ? '.not' : ''}.${group.mode}`
}

export function toActions(data: unknown): ActionItem[] {
  if (!Array.isArray(data)) return []
  return data.filter(isObject).map((item) => {
    const { type, ...params } = item
    return { uid: uid(), type: String(type ?? ''), params }
  })
}

/**
 * Actions as definitions. Parameters left empty are left out so the server applies its defaults,
 * except a set_field value: empty there means "clear the field" (null).
 */
export function fromActions(actions: ActionItem[]): Json[] {
  return actions.map((action) => {
    const out: Json = { type: action.type }
    for (const [name, value] of Object.entries(action.params)) {
      const clears = action.type === 'set_field' && name === 'value'
      if (clears && (value === '' || value === null || value === undefined)) out[name] = null
      else if (value !== undefined && value !== null && value !== '') out[name] = value
    }
    return out
  })
}

/** Parameters a new action of this type starts with (the catalog's defaults). */
export function defaultParams(action: CatalogAction | undefined): Record<string, unknown> {
  const params: Record<string, unknown> = {}
  for (const param of action?.params ?? []) {
    if (param.default !== null && param.default !== undefined) {
      params[param.name] = Array.isArray(param.default) ? [...(param.default as unknown[])] : param.default
    }
  }
  return params
}

export function fieldSpec(catalog: Catalog, node: ConditionNode): CatalogField | CatalogDynamicField | undefined {
  return catalog.fields.find((item) => item.path === node.field) ?? catalog.dynamic_fields.find((item) => item.prefix === node.field)
}

/** Operators the field takes, in the catalog's order; `changed…` only for triggers and fields with a previous value. */
export function operatorsFor(catalog: Catalog, node: ConditionNode, kind: string): string[] {
  const spec = fieldSpec(catalog, node)
  if (!spec) return catalog.operators
  const allowed = new Set(catalog.operators_by_type[spec.type] ?? [])
  if ('ordered' in spec && spec.ordered) catalog.ordered_operators.forEach((op) => allowed.add(op))
  const changeable = !('changeable' in spec) || spec.changeable
  if (kind === 'automation' || !changeable) catalog.change_operators.forEach((op) => allowed.delete(op))
  return catalog.operators.filter((op) => allowed.has(op))
}

/** A sensible value when the field or operator changes, keeping what still fits. */
export function valueFor(catalog: Catalog, node: ConditionNode, previous: unknown): unknown {
  if (catalog.no_value_operators.includes(node.op)) return null
  const spec = fieldSpec(catalog, node)
  const type = spec?.type ?? 'any'
  const many = catalog.list_operators.includes(node.op) || ['contains', 'not_contains'].includes(node.op)
  if (many) {
    if (Array.isArray(previous)) return previous
    return previous === null || previous === undefined || previous === '' ? [] : [previous]
  }
  const single = Array.isArray(previous) ? previous[0] : previous
  if (type === 'number') return typeof single === 'number' ? single : 0
  if (type === 'bool') return typeof single === 'boolean' ? single : true
  // An enum starts with nothing chosen rather than a choice the user did not make.
  if (type === 'enum') return spec && 'choices' in spec && spec.choices.includes(String(single)) ? single : ''
  return single === null || single === undefined || typeof single === 'object' ? '' : single
}

/** The server's problems by path (`conditions.all.0.value`), for the controls to show next to them. */
export type ProblemMap = Map<string, string[]>

export function problemsAt(problems: ProblemMap, path: string): string[] {
  return problems.get(path) ?? []
}

/** Problems at a path and anything below it (`actions.0.channels.1` for the channels control). */
export function problemsUnder(problems: ProblemMap, path: string): string[] {
  const found: string[] = []
  for (const [key, messages] of problems) {
    if (key === path || key.startsWith(`${path}.`)) found.push(...messages)
  }
  return found
}

export interface BuilderContext {
  catalog: Ref<Catalog | null>
  options: Ref<RefOptions>
  problems: Ref<ProblemMap>
  kind: Ref<string>
}
export const BUILDER: InjectionKey<BuilderContext> = Symbol('rule-builder')

/** Known ticket channels, offered in the channel picker (other values can be typed). */
export const CHANNELS = ['web', 'h5_form', 'email', 'wechat_mp', 'wecom_app', 'wecom_kf', 'miniprogram', 'douyin', 'phone', 'api', 'webhook', 'console'] as const
export const SCENARIOS = ['presales', 'sales', 'aftersales', 'complaint'] as const

/** Whether JavaScript can read the pattern (the server checks it again with its own engine). */
export function patternProblem(source: unknown): string {
  if (typeof source !== 'string' || source === '') return ''
  try {
    new RegExp(source, 'u')
    return ''
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

/** GET a JSON document the typed client does not know yet (the catalog, routing policies). */
export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
  const body: unknown = await response.json().catch(() => ({}))
  if (!response.ok) throw new ApiError(response.status, body as ConstructorParameters<typeof ApiError>[1])
  return body as T
}
