/**
 * Calls to the knowledge-base API (`/api/v1/kb…`, a ticket's `kb-suggestions` and `similar`) with local
 * types that mirror the server's response models (src/huiliu/kb/schemas.py,
 * src/huiliu/intelligence/similar_api.py) until the generated client includes them.
 */
import { requestJson } from '@/shared/api/client'

export type Visibility = 'public' | 'internal'
export type ArticleStatus = 'draft' | 'published'

export interface KbCategory {
  id: string
  parent_id: string | null
  name: string
  description: string
  position: number
  article_count: number
}

export interface CategoryWrite {
  name: string
  description?: string
  parent_id?: string | null
  position?: number
}

export interface ArticleSummary {
  id: string
  title: string
  category_id: string | null
  tags: string[]
  visibility: Visibility
  status: ArticleStatus
  version: number
  helpful_count: number
  not_helpful_count: number
  snippet: string
  author_name: string
  updated_at: string
  published_at: string | null
  score: number | null
}

/** A file of an article: download it through the article (`articleFileUrl`). */
export interface ArticleFile {
  id: string
  filename: string
  content_type: string
  size: number
}

export interface Article extends ArticleSummary {
  body: string
  body_text: string
  attachment_ids: string[]
  attachments: ArticleFile[]
  source_message_id: string | null
  created_at: string
}

export interface ArticleWrite {
  title: string
  body: string
  category_id: string | null
  tags: string[]
  visibility: Visibility
  status: ArticleStatus
  /** The article's files, in the order shown; left out, an update would drop them. */
  attachment_ids: string[]
  version?: number
}

export interface ArticleFilters {
  q?: string
  category_id?: string
  status?: ArticleStatus
  visibility?: Visibility
  limit?: number
}

export interface Suggestion {
  id: string
  title: string
  snippet: string
  body_text: string
  visibility: Visibility
  score: number
}

export interface QuickReply {
  id: string
  title: string
  body: string
  shortcut: string
  position: number
  updated_at: string
}

export interface QuickReplyWrite {
  title: string
  body: string
  shortcut: string
  position: number
}

export interface SimilarTicket {
  id: string
  number: number
  title: string
  status: string
  priority: string
  assignee_id: string | null
  created_at: string
  score: number
}

const KB = '/api/v1/kb'

function query(filters: object): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(filters)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
  }
  const text = params.toString()
  return text ? `?${text}` : ''
}

export const listCategories = async (): Promise<KbCategory[]> =>
  (await requestJson<{ items: KbCategory[] }>('GET', `${KB}/categories`)).items
export const createCategory = (body: CategoryWrite): Promise<KbCategory> => requestJson('POST', `${KB}/categories`, body)
export const updateCategory = (id: string, body: CategoryWrite): Promise<KbCategory> =>
  requestJson('PUT', `${KB}/categories/${id}`, body)
export const deleteCategory = (id: string): Promise<void> => requestJson('DELETE', `${KB}/categories/${id}`)

export const listArticles = async (filters: ArticleFilters = {}): Promise<ArticleSummary[]> =>
  (await requestJson<{ items: ArticleSummary[] }>('GET', `${KB}/articles${query(filters)}`)).items
export const getArticle = (id: string): Promise<Article> => requestJson('GET', `${KB}/articles/${id}`)
export const createArticle = (body: ArticleWrite): Promise<Article> => requestJson('POST', `${KB}/articles`, body)
export const updateArticle = (id: string, body: ArticleWrite): Promise<Article> =>
  requestJson('PUT', `${KB}/articles/${id}`, body)
export const deleteArticle = (id: string): Promise<void> => requestJson('DELETE', `${KB}/articles/${id}`)
export const articleFromMessage = (messageId: string, title?: string): Promise<Article> =>
  requestJson('POST', `${KB}/articles/from-message`, { message_id: messageId, title })

export const ticketSuggestions = async (ticketId: string): Promise<Suggestion[]> =>
  (await requestJson<{ items: Suggestion[] }>('GET', `/api/v1/tickets/${ticketId}/kb-suggestions`)).items
export const similarTickets = async (ticketId: string): Promise<SimilarTicket[]> =>
  (await requestJson<{ items: SimilarTicket[] }>('GET', `/api/v1/tickets/${ticketId}/similar`)).items

export const listQuickReplies = (): Promise<{ items: QuickReply[]; variables: Record<string, string> }> =>
  requestJson('GET', `${KB}/quick-replies`)
export const createQuickReply = (body: QuickReplyWrite): Promise<QuickReply> => requestJson('POST', `${KB}/quick-replies`, body)
export const updateQuickReply = (id: string, body: QuickReplyWrite): Promise<QuickReply> =>
  requestJson('PUT', `${KB}/quick-replies/${id}`, body)
export const deleteQuickReply = (id: string): Promise<void> => requestJson('DELETE', `${KB}/quick-replies/${id}`)
export const renderQuickReply = async (id: string, ticketId: string): Promise<string> =>
  (await requestJson<{ text: string }>('POST', `${KB}/quick-replies/${id}/render`, { ticket_id: ticketId })).text

/** Categories as a tree for el-tree / el-tree-select (siblings by position, then name). */
export interface CategoryNode extends KbCategory {
  children: CategoryNode[]
}

export function categoryTree(categories: KbCategory[]): CategoryNode[] {
  const nodes = new Map<string, CategoryNode>(categories.map((item) => [item.id, { ...item, children: [] }]))
  const roots: CategoryNode[] = []
  for (const node of nodes.values()) {
    const parent = node.parent_id ? nodes.get(node.parent_id) : undefined
    if (parent) parent.children.push(node)
    else roots.push(node)
  }
  return roots
}

/** Where a reader downloads a file of an article (every agent who may read the article). */
export function articleFileUrl(articleId: string, attachmentId: string): string {
  return `/api/v1/kb/articles/${articleId}/attachments/${attachmentId}`
}
