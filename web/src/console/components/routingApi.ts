/**
 * Calls to the routing API (`/api/v1/routing/...`) with local types that mirror the server's
 * response models (src/huiliu/routing/schemas.py) until the generated client includes them. Requests
 * carry the session cookie and the CSRF header; problem+json errors become `ApiError`.
 */
import { requestJson } from '@/shared/api/client'

export const STRATEGIES = ['round_robin', 'least_loaded', 'skills', 'region', 'vip_senior', 'familiar_agent'] as const
export type Strategy = (typeof STRATEGIES)[number]
export const PICKS = ['least_loaded', 'round_robin'] as const
export type Pick = (typeof PICKS)[number]
export const FINALS = ['team_queue', 'unassigned'] as const
export type Final = (typeof FINALS)[number]
export const PRIORITIES = ['urgent', 'high', 'normal', 'low'] as const
export type PriorityName = (typeof PRIORITIES)[number]
export const PRESENCES = ['online', 'away', 'offline'] as const
export type Presence = (typeof PRESENCES)[number]
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const
export type Weekday = (typeof WEEKDAYS)[number]

export interface StepSpec {
  strategy: Strategy
  allow_away?: boolean
  team_only?: boolean
  load_weights?: Partial<Record<PriorityName, number>>
  familiarity_days?: number
  pick?: Pick
  vip_levels?: string[]
}

export interface PolicyDefinition extends StepSpec {
  fallback?: StepSpec[]
  final?: Final
  /** team_queue for a ticket without a team: queue it on this team */
  final_team?: string
  /** add an internal note when no agent is found (the routing_failed event is recorded anyway) */
  note_on_failure?: boolean
  /** SLA calendar whose holidays and make-up days the shifts follow (agents without their own) */
  calendar?: string
}

export interface RoutingPolicy {
  id: string
  name: string
  description: string
  definition: PolicyDefinition
  is_default: boolean
  active: boolean
  created_at: string
  updated_at: string
}

export interface PolicyInput {
  name?: string
  description?: string
  definition?: PolicyDefinition
  is_default?: boolean
  active?: boolean
}

export interface StepTrace {
  strategy: Strategy
  outcome: 'chosen' | 'no_candidate' | 'not_applicable'
  considered: number
  candidates: number
  excluded: Record<string, number>
  text: string
  params: Record<string, string | number>
}

export interface RoutingOutcome {
  ticket_id: string
  policy_id: string
  policy_name: string
  kind: 'assign' | 'team_queue' | 'unassigned'
  agent_id: string | null
  team_id: string | null
  reason: string
  code: string
  params: Record<string, string | number>
  fallback: boolean
  alert: boolean
  steps: StepTrace[]
  applied: boolean
}

export interface ShiftSpec {
  timezone: string
  /** left out: on shift all day, except on the calendar's holidays */
  hours?: Partial<Record<Weekday, [string, string][]>>
  /** SLA calendar: off on its holidays, the weekday shift on its make-up working days */
  calendar?: string
}

export interface Agent {
  user_id: string
  name: string
  email: string
  team_id: string | null
  is_active: boolean
  has_profile: boolean
  presence: Presence
  presence_changed_at: string | null
  skills: Record<string, number>
  regions: string[]
  senior: boolean
  capacity: number | null
  shift: 'always' | ShiftSpec
  last_assigned_at: string | null
  open_load: Partial<Record<PriorityName, number>>
  open_total: number
}

export interface AgentInput {
  presence?: Presence
  skills?: Record<string, number>
  regions?: string[]
  senior?: boolean
  capacity?: number | null
  shift?: 'always' | ShiftSpec | null
}

export interface PresenceState {
  user_id: string
  presence: Presence
  presence_changed_at: string | null
}

const call = requestJson

const BASE = '/api/v1/routing'

export const routingApi = {
  listPolicies: async (): Promise<RoutingPolicy[]> => (await call<{ items: RoutingPolicy[] }>('GET', `${BASE}/policies`)).items,
  createPolicy: (input: PolicyInput): Promise<RoutingPolicy> => call('POST', `${BASE}/policies`, input),
  updatePolicy: (id: string, input: PolicyInput): Promise<RoutingPolicy> => call('PATCH', `${BASE}/policies/${id}`, input),
  deletePolicy: (id: string): Promise<void> => call('DELETE', `${BASE}/policies/${id}`),
  preview: (id: string, ticketId: string): Promise<RoutingOutcome> =>
    call('POST', `${BASE}/policies/${id}/preview`, { ticket_id: ticketId }),
  routeTicket: (ticketId: string, policy?: string): Promise<RoutingOutcome> =>
    call('POST', `${BASE}/tickets/${ticketId}:route`, policy ? { policy } : {}),
  listAgents: async (allUsers = false): Promise<Agent[]> =>
    (await call<{ items: Agent[] }>('GET', `${BASE}/agents${allUsers ? '?all_users=true' : ''}`)).items,
  putAgent: (userId: string, input: AgentInput): Promise<Agent> => call('PUT', `${BASE}/agents/${userId}`, input),
  getPresence: (): Promise<PresenceState> => call('GET', `${BASE}/presence`),
  setPresence: (presence: Presence): Promise<PresenceState> => call('PUT', `${BASE}/presence`, { presence }),
}
