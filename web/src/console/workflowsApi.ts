/**
 * Calls to the workflow API (`/api/v1/workflows…`, `/api/v1/tickets/{id}/workflow…`,
 * `/api/v1/approvals…`) with local types that mirror src/huiliu/workflows/schemas.py until the
 * generated client includes them.
 */
import { requestJson } from '@/shared/api/client'

export const NODE_TYPES = ['start', 'handle', 'approve', 'condition', 'parallel', 'join', 'notify', 'end'] as const
export type NodeType = (typeof NODE_TYPES)[number]
export const CONDITION_FIELDS = ['priority', 'channel', 'category', 'scenario', 'status', 'title', 'tags', 'customer.level'] as const
export const OPERATORS = ['eq', 'ne', 'in', 'not_in', 'contains', 'gt', 'gte', 'lt', 'lte', 'exists', 'not_exists'] as const

export interface GraphNode {
  id: string
  type: NodeType
  label?: string
  config: Record<string, unknown>
  position: { x: number; y: number }
}

export interface ConditionTest {
  field: string
  op: string
  value?: unknown
}

export interface GraphEdge {
  source: string
  target: string
  label?: string | null
  condition?: ConditionTest | { all: ConditionTest[] } | { any: ConditionTest[] } | null
}

export interface Graph {
  nodes: GraphNode[]
  edges: GraphEdge[]
  viewport?: unknown
}

export interface Workflow {
  id: string
  name: string
  description: string
  graph: Graph
  latest_version: number | null
  active: boolean
  draft_changed: boolean
  running: number
  created_at: string
  updated_at: string
}

export interface Version {
  id: string
  workflow_id: string
  version: number
  graph: Graph
  published_at: string
  published_by: string | null
}

export interface GraphProblem {
  code: string
  message: string
  node_id?: string | null
  edge?: number | null
}

export interface Step {
  id: string
  node_id: string
  node_type: NodeType
  label: string
  status: 'active' | 'completed' | 'cancelled'
  outcome: string | null
  entered_reason: string
  completed_reason: string | null
  entered_at: string
  completed_at: string | null
  due_at: string | null
  overdue_at: string | null
}

export interface Approval {
  id: string
  instance_id: string
  ticket_id: string
  ticket_number?: number | null
  ticket_title?: string | null
  workflow_name?: string | null
  node_id: string
  node_label: string
  mode: 'any' | 'all' | 'sequence'
  position: number
  approver_id: string | null
  approver_name: string | null
  state: 'pending' | 'queued' | 'approved' | 'rejected' | 'closed'
  comment: string | null
  decided_by: string | null
  decided_at: string | null
  created_at: string
  can_decide: boolean
}

export interface Subtask {
  id: string
  node_id: string
  key: string
  child_ticket_id: string
  number: number | null
  title: string | null
  ticket_status: string | null
  status: 'open' | 'done'
}

export interface Instance {
  id: string
  workflow_id: string
  workflow_name: string
  version: number
  status: 'running' | 'waiting' | 'completed' | 'cancelled'
  current_node: string | null
  started_at: string
  completed_at: string | null
  graph: Graph
  steps: Step[]
  approvals: Approval[]
  subtasks: Subtask[]
}

export interface TicketWorkflow {
  current: Instance | null
  history: string[]
}

const call = requestJson
const BASE = '/api/v1/workflows'

export const workflowsApi = {
  list: () => call<{ items: Workflow[] }>('GET', BASE).then((r) => r.items),
  get: (id: string) => call<Workflow>('GET', `${BASE}/${id}`),
  create: (body: { name: string; description?: string; graph?: Graph }) => call<Workflow>('POST', BASE, body),
  update: (id: string, body: Partial<Pick<Workflow, 'name' | 'description' | 'graph' | 'active'>>) =>
    call<Workflow>('PATCH', `${BASE}/${id}`, body),
  remove: (id: string) => call<void>('DELETE', `${BASE}/${id}`),
  validate: (graph: Graph) => call<{ valid: boolean; errors: GraphProblem[] }>('POST', `${BASE}/validate`, { graph }),
  publish: (id: string) => call<Version>('POST', `${BASE}/${id}:publish`),
  versions: (id: string) => call<{ items: Version[] }>('GET', `${BASE}/${id}/versions`).then((r) => r.items),
  ticketWorkflow: (ticketId: string) => call<TicketWorkflow>('GET', `/api/v1/tickets/${ticketId}/workflow`),
  start: (ticketId: string, workflowId: string) =>
    call<TicketWorkflow>('POST', `/api/v1/tickets/${ticketId}/workflow`, { workflow_id: workflowId }),
  stepDone: (ticketId: string, nodeId: string, comment = '') =>
    call<TicketWorkflow>('POST', `/api/v1/tickets/${ticketId}/workflow/steps/${encodeURIComponent(nodeId)}:done`, { comment }),
  cancel: (ticketId: string, comment = '') =>
    call<TicketWorkflow>('POST', `/api/v1/tickets/${ticketId}/workflow:cancel`, { comment }),
  inbox: (state: 'pending' | 'decided' | 'all' = 'pending') =>
    call<{ items: Approval[] }>('GET', `/api/v1/approvals?state=${state}`).then((r) => r.items),
  approve: (id: string, comment: string) => call<Approval>('POST', `/api/v1/approvals/${id}:approve`, { comment }),
  reject: (id: string, comment: string) => call<Approval>('POST', `/api/v1/approvals/${id}:reject`, { comment }),
}
