import type zhCN from './zh-CN'

const en: typeof zhCN = {
  app: { name: 'Huiliu' },
  notFound: { title: 'Page not found', body: 'Scan the QR code at the store or on the product to open the right form.' },
  language: { switch: '简体中文' },
}

export default en
