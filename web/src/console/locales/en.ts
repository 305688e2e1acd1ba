import type zhCN from './zh-CN'

const en: typeof zhCN = {
  app: { name: 'Huiliu', console: 'Agent console' },
  common: {
    save: 'Save', cancel: 'Cancel', confirm: 'OK', delete: 'Delete', edit: 'Edit', create: 'New', close: 'Close',
    search: 'Search', loading: 'Loading…', none: 'None', all: 'All', actions: 'Actions', yes: 'Yes', no: 'No',
    prev: 'Previous', next: 'Next', refresh: 'Refresh', saved: 'Saved', optional: 'optional', unknown: 'Unknown',
    name: 'Name', email: 'E-mail', createdAt: 'Created', updatedAt: 'Updated', back: 'Back',
  },
  nav: {
    tickets: 'Tickets', customers: 'Customers', settings: 'Settings', users: 'Users', teams: 'Teams', roles: 'Roles',
    profile: 'Personal settings', menu: 'Main navigation', collapse: 'Collapse menu', expand: 'Expand menu',
  },
  header: {
    language: 'Language', logout: 'Log out', userMenu: 'User menu', live: 'Live updates connected',
    offline: 'Live updates disconnected, reconnecting', shortcuts: 'Keyboard shortcuts',
  },
  login: {
    title: 'Log in to Huiliu', subtitle: 'Every customer request, from every channel, in one ticket pool',
    email: 'E-mail', password: 'Password', submit: 'Log in', failed: 'Login failed: {message}',
    required: 'Enter your e-mail and password',
  },
  views: {
    mine: 'My open tickets', unassigned: 'Unassigned', team: 'My team', open: 'All unresolved',
    pending: 'Awaiting customer', breaching: 'About to breach', resolved: 'Recently resolved', custom: 'Custom views',
    newView: 'New view', saveAs: 'Save as view', editView: 'Edit view', deleteView: 'Delete view', viewName: 'View name',
    localNote: 'Custom views are kept in this browser; saving them on the server and syncing across devices comes later.',
    breachingLater: 'Once SLA targets are available, this view lists tickets about to miss their first-response or resolution target.',
    noTeam: 'You are not in a team yet. An administrator can add you to one under Settings → Users.',
    deleteConfirm: 'Delete the view "{name}"?', count: '{count} tickets',
  },
  queue: {
    search: 'Search title, description or number (press / to focus)', empty: 'No tickets in this view',
    number: 'No.', title: 'Title', status: 'Status', priority: 'Priority', channel: 'Channel', team: 'Team',
    assignee: 'Assignee', tags: 'Tags', created: 'Created', updated: 'Updated', selected: '{count} selected',
    bulkAssign: 'Assign', bulkStatus: 'Change status', bulkTag: 'Add tag', apply: 'Apply',
    tagPlaceholder: 'Type a tag and press Enter', bulkDone: '{updated} tickets updated',
    bulkFailed: '{failed} could not be updated: {reason}', pageSize: 'Per page', filters: 'Filters', anyone: 'Anyone',
    me: 'Me', unassigned: 'Unassigned', noTeam: 'No team', anyStatus: 'Any status', anyPriority: 'Any priority',
    chooseAssignee: 'Choose assignee', chooseTeam: 'Choose team', chooseStatus: 'Choose status',
    newTickets: 'Tickets changed; the list is up to date', open: 'Open ticket',
  },
  shortcuts: {
    title: 'Keyboard shortcuts', down: 'Next ticket', up: 'Previous ticket', open: 'Open the selected ticket',
    reply: 'Reply (on a ticket)', search: 'Search', help: 'Show this help', send: 'Send the reply',
  },
  status: {
    new: 'New', open: 'Open', pending: 'Pending', on_hold: 'On hold', resolved: 'Resolved', closed: 'Closed',
  },
  priority: { urgent: 'Urgent', high: 'High', normal: 'Normal', low: 'Low' },
  channel: {
    api: 'API', web: 'Web form', webform: 'Web form', email: 'E-mail', wechat_mp: 'WeChat OA', wecom_app: 'WeCom',
    wecom_kf: 'WeChat Customer Service', miniprogram: 'Mini-program', mini_program: 'Mini-program', h5_form: 'H5 form', douyin: 'Douyin', phone: 'Phone',
    console: 'Console', webhook: 'Webhook',
  },
  scenario: { presales: 'Presales', sales: 'Sales', aftersales: 'Aftersales', complaint: 'Complaint' },
  ticket: {
    notFound: 'The ticket does not exist or is outside what you may see', category: 'Category', scenario: 'Scenario',
    channel: 'Channel', entryPoint: 'Entry point', customer: 'Customer', created: 'Created', assign: 'Assign',
    team: 'Team', assignee: 'Assignee', assignToMe: 'Assign to me', tags: 'Tags', addTag: 'Add tag',
    changeStatus: 'Change status', resolve: 'Resolve', reopen: 'Reopen', reason: 'Reason (optional)',
    reasonTitle: 'Change to "{status}"', statusChanged: 'Status changed to "{status}"', assigned: 'Assigned',
    links: 'Linked tickets', children: 'Sub-tasks', noLinks: 'No linked tickets', description: 'Description',
    timeline: 'Timeline', viewing: '{names} viewing', typing: '{names} typing…', mergedInto: 'Merged into',
    linkKind: { related: 'Related', parent: 'Parent', child: 'Sub-task', merged_into: 'Merged into', merged_from: 'Merged from' },
    firstResponse: 'First response', resolvedAt: 'Resolved', reopenCount: 'Reopened', fields: 'Fields',
  },
  timeline: {
    customer: 'Customer', agent: 'Agent', system: 'System', note: 'Internal note', public: 'Public reply',
    attachments: 'Attachments', changed: '{field}: {from} → {to}', event: {
      ticket_created: 'created the ticket', ticket_updated: 'edited the ticket',
      ticket_status_changed: 'changed the status', ticket_assigned: 'assigned the ticket',
      ticket_tags_changed: 'changed the tags', ticket_message_added: 'sent a message',
      ticket_note_added: 'added an internal note', ticket_merged: 'merged the ticket',
      ticket_linked: 'linked a ticket', ticket_reopened: 'reopened the ticket',
    },
    reason: 'Reason: {reason}', empty: 'empty',
  },
  reply: {
    public: 'Reply to customer', note: 'Internal note',
    placeholder: "Type a reply, {'@'}mention teammates, paste or drop attachments (Ctrl+Enter sends)",
    notePlaceholder: "A note only your team sees, {'@'}mention teammates (Ctrl+Enter sends)", send: 'Send', sent: 'Sent',
    attach: 'Attach files', uploading: 'Uploading…', removeAttachment: 'Remove attachment {name}',
    dropHere: 'Drop to attach',
  },
  customer: {
    title: 'Customers', search: 'Search a name, or a whole phone number, e-mail or openid', empty: 'No customers found',
    level: 'Level', identities: 'Identities', attributes: 'Attributes', tickets: 'Recent tickets',
    noTickets: 'No tickets you may see', panel: 'Customer', none: 'This ticket has no customer', kinds: {
      phone: 'Phone', email: 'E-mail', wechat_openid: 'WeChat openid', wechat_unionid: 'WeChat unionid',
      wecom_external_userid: 'WeCom external contact', douyin_openid: 'Douyin openid', device_sn: 'Device serial number',
      web_visitor: 'Web visitor',
    },
    levels: { normal: 'Normal', vip: 'VIP', svip: 'SVIP' }, open: 'Open customer profile',
  },
  users: {
    title: 'Users', create: 'New user', role: 'Role', team: 'Team', active: 'Active', inactive: 'Deactivated',
    lastLogin: 'Last login', password: 'Initial password (8+ characters)', resetPassword: 'Reset password',
    newPassword: 'New password (8+ characters)', locale: 'UI language', created: 'User created',
    passwordReset: 'Password reset', search: 'Search name or e-mail',
  },
  teams: {
    title: 'Teams', create: 'New team', parent: 'Parent team', members: 'Members', activeMembers: 'Active members',
    children: 'Sub-teams', deleteConfirm: 'Delete the team "{name}"? Only teams without members or sub-teams can be deleted.',
    root: '(top level)',
  },
  roles: {
    title: 'Roles', create: 'New role', permissions: 'Permissions', dataScope: 'Data scope', builtin: 'Built-in',
    users: 'Users', deleteConfirm: 'Delete the role "{name}"? Only roles nobody holds can be deleted.',
    scopes: { own: 'Own tickets', team: 'Own team', department: 'Department (with sub-teams)', all: 'Everything' },
  },
  profile: {
    title: 'Personal settings', basics: 'Profile', name: 'Name', email: 'E-mail', language: 'UI language',
    password: 'Change password', currentPassword: 'Current password', newPassword: 'New password (8+ characters)',
    changePassword: 'Change password', passwordChanged: 'Password changed', notifications: 'Notification preferences',
    notificationsLater: 'When notifications arrive, you choose here which alerts you receive, on which channel (WeCom, e-mail, SMS) and your quiet hours.',
    role: 'Data scope', permissions: 'My permissions',
  },
  notFound: { title: 'Page not found', body: 'Nothing lives at this address.', home: 'Back to tickets' },
  errors: { generic: 'Failed: {message}', sessionExpired: 'Your session expired; please log in again' },
}

export default en
