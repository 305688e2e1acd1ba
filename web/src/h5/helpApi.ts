/**
 * The public help centre's API (`/api/v1/public/help/{slug}…`, no session): categories, search,
 * articles and "was this helpful" votes. Types mirror src/huiliu/kb/schemas.py.
 */
import { ApiError } from '@/shared/api/client'

export interface HelpCategory {
  id: string
  parent_id: string | null
  name: string
  description: string
  position: number
  article_count: number
}

export interface HelpCentre {
  name: string
  categories: HelpCategory[]
}

export interface HelpArticleSummary {
  id: string
  title: string
  category_id: string | null
  snippet: string
  updated_at: string
  score: number | null
}

export interface HelpArticleFile {
  id: string
  filename: string
  content_type: string
  size: number
}

export interface HelpArticle extends HelpArticleSummary {
  body: string
  tags: string[]
  helpful_count: number
  not_helpful_count: number
  attachments: HelpArticleFile[]
}

/** Where a visitor downloads a file of a public article. */
export function helpFileUrl(slug: string, articleId: string, fileId: string): string {
  return `/api/v1/public/help/${encodeURIComponent(slug)}/articles/${encodeURIComponent(articleId)}/attachments/${encodeURIComponent(fileId)}`
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  let response: Response
  try {
    response = await fetch(path, { credentials: 'omit', ...init })
  } catch (error) {
    throw new ApiError(0, { detail: error instanceof Error ? error.message : String(error) })
  }
  const body: unknown = await response.json().catch(() => ({}))
  if (!response.ok) throw new ApiError(response.status, (body ?? {}) as Record<string, never>)
  return body as T
}

const base = (slug: string): string => `/api/v1/public/help/${encodeURIComponent(slug)}`

export const fetchHelpCentre = (slug: string): Promise<HelpCentre> => call(base(slug))

export async function searchHelp(slug: string, q: string, categoryId?: string | null): Promise<HelpArticleSummary[]> {
  const params = new URLSearchParams()
  if (q.trim()) params.set('q', q.trim())
  if (categoryId) params.set('category_id', categoryId)
  const answer = await call<{ items: HelpArticleSummary[] }>(`${base(slug)}/articles?${params.toString()}`)
  return answer.items
}

export const fetchHelpArticle = (slug: string, id: string): Promise<HelpArticle> =>
  call(`${base(slug)}/articles/${encodeURIComponent(id)}`)

export const sendHelpFeedback = (
  slug: string,
  id: string,
  helpful: boolean,
): Promise<{ helpful_count: number; not_helpful_count: number }> =>
  call(`${base(slug)}/articles/${encodeURIComponent(id)}/feedback`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ helpful }),
  })
