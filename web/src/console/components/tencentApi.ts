/**
 * Calls to the WeChat / WeCom setup routes (`/api/v1/entry-points/{id}/tencent-*`) with local types that
 * mirror the server's response models (src/huiliu/channels/tencent/api.py) until the generated client
 * includes them. Requests carry the session cookie and the CSRF header; problem+json becomes `ApiError`.
 */
import { requestJson } from '@/shared/api/client'

export const TENCENT_KINDS = ['wechat_mp', 'wecom_app', 'wecom_kf', 'wechat_miniprogram'] as const
/** Kinds WeChat / WeCom call back (they need a Token and an EncodingAESKey). */
export const CALLBACK_KINDS: readonly string[] = ['wechat_mp', 'wecom_app', 'wecom_kf']
export type TencentKind = (typeof TENCENT_KINDS)[number]
export const ENCRYPTION_MODES = ['safe', 'compatible', 'plaintext'] as const

/** The credentials each kind needs, in the order the form asks for them (secrets are write-only). */
export const CREDENTIALS: Record<TencentKind, { key: string; secret: boolean; required: boolean }[]> = {
  wechat_mp: [
    { key: 'app_id', secret: false, required: true },
    { key: 'app_secret', secret: true, required: true },
  ],
  wecom_app: [
    { key: 'corp_id', secret: false, required: true },
    { key: 'agent_id', secret: false, required: true },
    { key: 'secret', secret: true, required: true },
  ],
  wecom_kf: [
    { key: 'corp_id', secret: false, required: true },
    { key: 'secret', secret: true, required: true },
    { key: 'open_kfid', secret: false, required: false },
  ],
  wechat_miniprogram: [
    { key: 'app_id', secret: false, required: true },
    { key: 'app_secret', secret: true, required: true },
  ],
}

export interface TencentSetup {
  entry_point_id: string
  kind: TencentKind
  callback_url: string
  token: string
  encoding_aes_key: string
  encryption_mode: string | null
  receive_id: string
  api_base_url: string
  token_expires_at: string | null
}

export interface ConnectionTest {
  ok: boolean
  errcode: number | null
  errmsg: string | null
  token_expires_at: string | null
}

const call = requestJson

export const tencentApi = {
  setup: (id: string) => call<TencentSetup>('GET', `/api/v1/entry-points/${encodeURIComponent(id)}/tencent-setup`),
  test: (id: string) => call<ConnectionTest>('POST', `/api/v1/entry-points/${encodeURIComponent(id)}/tencent-test`),
}
