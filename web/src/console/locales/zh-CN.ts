export default {
  app: { name: '汇流', console: '客服工作台' },
  common: {
    save: '保存', cancel: '取消', confirm: '确定', delete: '删除', edit: '编辑', create: '新建', close: '关闭',
    search: '搜索', loading: '加载中…', none: '无', all: '全部', actions: '操作', yes: '是', no: '否',
    prev: '上一页', next: '下一页', refresh: '刷新', saved: '已保存', optional: '选填', unknown: '未知',
    name: '名称', email: '邮箱', createdAt: '创建时间', updatedAt: '更新时间', back: '返回',
  },
  nav: {
    tickets: '工单', customers: '客户', settings: '设置', users: '用户', teams: '团队', roles: '角色',
    profile: '个人设置', menu: '主导航', collapse: '收起菜单', expand: '展开菜单',
  },
  header: {
    language: '语言', logout: '退出登录', userMenu: '用户菜单', live: '实时更新已连接', offline: '实时更新已断开，正在重连',
    shortcuts: '快捷键',
  },
  login: {
    title: '登录汇流', subtitle: '所有渠道的客户请求，汇入同一个工单池', email: '邮箱', password: '密码',
    submit: '登录', failed: '登录失败：{message}', required: '请输入邮箱和密码',
  },
  views: {
    mine: '我的待办', unassigned: '未分配', team: '我的团队', open: '全部未解决', pending: '待客户反馈',
    breaching: '即将超时', resolved: '最近解决', custom: '自定义视图', newView: '新建视图', saveAs: '另存为视图',
    editView: '编辑视图', deleteView: '删除视图', viewName: '视图名称', localNote: '自定义视图保存在本浏览器中；之后将支持保存到服务器、在设备间同步。',
    breachingLater: 'SLA 时限功能上线后，这里会列出即将超过首次响应或解决时限的工单。',
    noTeam: '你还没有加入团队，请管理员在“设置 → 用户”中为你分配团队。',
    deleteConfirm: '删除视图“{name}”？', count: '{count} 张工单',
  },
  queue: {
    search: '搜索标题、描述或工单号（按 / 聚焦）', empty: '这个视图里没有工单', number: '工单号', title: '标题',
    status: '状态', priority: '优先级', channel: '渠道', team: '团队', assignee: '处理人', tags: '标签',
    created: '创建', updated: '更新', selected: '已选 {count} 张', bulkAssign: '批量分配', bulkStatus: '批量变更状态',
    bulkTag: '批量打标签', apply: '应用', tagPlaceholder: '输入标签后回车', bulkDone: '已更新 {updated} 张工单',
    bulkFailed: '{failed} 张未能更新：{reason}', pageSize: '每页', filters: '筛选条件', anyone: '任何人',
    me: '我', unassigned: '未分配', noTeam: '无团队', anyStatus: '任意状态', anyPriority: '任意优先级',
    chooseAssignee: '选择处理人', chooseTeam: '选择团队', chooseStatus: '选择状态', newTickets: '有新的工单变动，列表已更新',
    open: '打开工单',
  },
  shortcuts: {
    title: '键盘快捷键', down: '下一张工单', up: '上一张工单', open: '打开选中的工单', reply: '回复（在工单页）',
    search: '搜索', help: '显示本帮助', send: '发送回复',
  },
  status: {
    new: '待受理', open: '处理中', pending: '待客户反馈', on_hold: '挂起', resolved: '已解决', closed: '已关闭',
  },
  priority: { urgent: '紧急', high: '高', normal: '普通', low: '低' },
  channel: {
    api: 'API', web: '网页表单', webform: '网页表单', email: '邮件', wechat_mp: '公众号', wecom_app: '企业微信',
    wecom_kf: '微信客服', miniprogram: '小程序', mini_program: '小程序', h5_form: 'H5 表单', douyin: '抖音', phone: '电话', console: '工作台', webhook: 'Webhook',
  },
  scenario: { presales: '售前', sales: '售中', aftersales: '售后', complaint: '投诉' },
  ticket: {
    notFound: '工单不存在，或不在你的可见范围内', category: '分类', scenario: '场景', channel: '渠道',
    entryPoint: '入口', customer: '客户', created: '创建于', assign: '分配', team: '团队', assignee: '处理人',
    assignToMe: '分配给我', tags: '标签', addTag: '添加标签', changeStatus: '变更状态', resolve: '解决',
    reopen: '重新打开', reason: '原因（选填）', reasonTitle: '变更为“{status}”', statusChanged: '状态已变更为“{status}”',
    assigned: '已分配', links: '关联工单', children: '子工单', noLinks: '没有关联工单', description: '描述',
    timeline: '处理记录', viewing: '{names} 正在查看', typing: '{names} 正在输入…', mergedInto: '已合并到',
    linkKind: { related: '相关', parent: '父工单', child: '子工单', merged_into: '已合并到', merged_from: '合并自' },
    firstResponse: '首次响应', resolvedAt: '解决于', reopenCount: '重开次数', fields: '字段',
  },
  timeline: {
    customer: '客户', agent: '客服', system: '系统', note: '内部备注', public: '公开回复', attachments: '附件',
    changed: '{field}：{from} → {to}', event: {
      ticket_created: '创建了工单', ticket_updated: '修改了工单', ticket_status_changed: '变更了状态',
      ticket_assigned: '分配了工单', ticket_tags_changed: '修改了标签', ticket_message_added: '发送了消息',
      ticket_note_added: '添加了内部备注', ticket_merged: '合并了工单', ticket_linked: '关联了工单',
      ticket_reopened: '重新打开了工单',
    },
    reason: '原因：{reason}', empty: '空',
  },
  reply: {
    public: '回复客户', note: '内部备注', placeholder: "输入回复，{'@'} 提及同事，可粘贴或拖入附件（Ctrl+Enter 发送）",
    notePlaceholder: "仅团队可见的备注，{'@'} 提及同事（Ctrl+Enter 发送）", send: '发送', sent: '已发送',
    attach: '添加附件', uploading: '上传中…', removeAttachment: '移除附件 {name}', dropHere: '松开以上传附件',
  },
  customer: {
    title: '客户', search: '搜索姓名，或输入完整的手机号、邮箱、openid', empty: '没有找到客户', level: '等级',
    identities: '身份', attributes: '属性', tickets: '最近工单', noTickets: '没有你可见的工单', panel: '客户信息',
    none: '这张工单没有关联客户', kinds: {
      phone: '手机', email: '邮箱', wechat_openid: '微信 openid', wechat_unionid: '微信 unionid',
      wecom_external_userid: '企业微信外部联系人', douyin_openid: '抖音 openid', device_sn: '设备序列号',
      web_visitor: '网页访客',
    },
    levels: { normal: '普通', vip: 'VIP', svip: 'SVIP' }, open: '查看客户档案',
  },
  users: {
    title: '用户', create: '新建用户', role: '角色', team: '团队', active: '启用', inactive: '已停用',
    lastLogin: '最近登录', password: '初始密码（至少 8 位）', resetPassword: '重置密码', newPassword: '新密码（至少 8 位）',
    locale: '界面语言', created: '用户已创建', passwordReset: '密码已重置', search: '搜索姓名或邮箱',
  },
  teams: {
    title: '团队', create: '新建团队', parent: '上级团队', members: '成员', activeMembers: '在岗成员', children: '下级团队',
    deleteConfirm: '删除团队“{name}”？只能删除没有成员和下级团队的团队。', root: '（顶级）',
  },
  roles: {
    title: '角色', create: '新建角色', permissions: '权限', dataScope: '数据范围', builtin: '内置', users: '人数',
    deleteConfirm: '删除角色“{name}”？只能删除没有人使用的角色。',
    scopes: { own: '仅本人', team: '本团队', department: '本部门（含下级团队）', all: '全部' },
  },
  profile: {
    title: '个人设置', basics: '基本信息', name: '姓名', email: '邮箱', language: '界面语言', password: '修改密码',
    currentPassword: '当前密码', newPassword: '新密码（至少 8 位）', changePassword: '修改密码', passwordChanged: '密码已修改',
    notifications: '通知偏好', notificationsLater: '通知功能上线后，你可以在这里选择接收哪些提醒、通过哪个渠道（企业微信、邮件、短信）以及免打扰时段。',
    role: '数据范围', permissions: '我的权限',
  },
  notFound: { title: '页面不存在', body: '你访问的地址没有对应的页面。', home: '回到工单' },
  errors: { generic: '操作失败：{message}', sessionExpired: '登录已过期，请重新登录' },
}
