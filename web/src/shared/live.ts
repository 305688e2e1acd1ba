/**
 * The live event stream (server-sent events, cookie-authenticated). One connection per tab; pages
 * subscribe to the envelopes they care about. EventSource reconnects by itself and resumes with
 * Last-Event-ID; a `reset` frame means events were lost and lists should reload.
 */
export interface TicketRef {
  id: string
  number?: number
  team_id?: string | null
  assignee_id?: string | null
  status?: string
  [key: string]: unknown
}

export interface LiveEnvelope {
  id: string
  type: string
  occurred_at: string
  data: {
    ticket?: TicketRef
    ticket_id?: string
    state?: string
    user?: { id: string | null; name: string }
    changes?: Record<string, unknown>
    actor?: { kind?: string; id?: string | null; name?: string }
    [key: string]: unknown
  }
}

export type LiveHandler = (envelope: LiveEnvelope) => void

// Wire names of core/events.py; named SSE events only reach listeners registered by name.
export const TICKET_EVENT_TYPES = [
  'ticket.created',
  'ticket.updated',
  'ticket.status_changed',
  'ticket.assigned',
  'ticket.tags_changed',
  'ticket.message_added',
  'ticket.note_added',
  'ticket.merged',
  'ticket.linked',
  'ticket.reopened',
] as const

// A rule or SLA tier notified someone (published with the ticket change), and a new in-app
// notification stored by the worker (published over Redis when the deployment has it).
export const NOTIFICATION_EVENT_TYPES = ['ticket.notified', 'notification.created'] as const

const STREAM_URL = '/api/v1/events/stream'

export class LiveStream {
  private source: EventSource | null = null
  private readonly handlers = new Set<LiveHandler>()
  private readonly stateHandlers = new Set<(open: boolean) => void>()

  open(): void {
    if (this.source) return
    const source = new EventSource(STREAM_URL, { withCredentials: true })
    const dispatch = (event: MessageEvent<string>) => {
      let envelope: LiveEnvelope
      try {
        envelope = JSON.parse(event.data) as LiveEnvelope
      } catch {
        return
      }
      for (const handler of this.handlers) handler(envelope)
    }
    for (const type of [...TICKET_EVENT_TYPES, ...NOTIFICATION_EVENT_TYPES, 'presence', 'reset']) {
      source.addEventListener(type, dispatch as EventListener)
    }
    source.onopen = () => this.stateHandlers.forEach((handler) => handler(true))
    source.onerror = () => this.stateHandlers.forEach((handler) => handler(false))
    this.source = source
  }

  close(): void {
    this.source?.close()
    this.source = null
    this.stateHandlers.forEach((handler) => handler(false))
  }

  subscribe(handler: LiveHandler): () => void {
    this.handlers.add(handler)
    return () => this.handlers.delete(handler)
  }

  onConnection(handler: (open: boolean) => void): () => void {
    this.stateHandlers.add(handler)
    return () => this.stateHandlers.delete(handler)
  }
}
