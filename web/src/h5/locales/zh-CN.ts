export default {
  app: { name: '汇流' },
  notFound: { title: '页面不存在', body: '请扫描门店或商品上的二维码，从正确的入口提交或查询服务请求。' },
  language: { switch: 'English' },
}
