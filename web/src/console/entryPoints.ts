import type { Schemas } from '@/shared/api/client'

export type EntryPoint = Schemas['EntryPointOut']
export type EntryPointCreated = Schemas['EntryPointCreated']

/** A source code as QR code URLs carry it (`?src=`): what the server accepts. */
export const SOURCE_CODE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/
