// Texts of the console in English and Simplified Chinese; the browser's
// preferred languages pick one.
const en = {
  sign_in: 'Sign in', sign_in_title: 'Sign in to the console', sign_in_sub: 'Answer the conversations your bot hands over.',
  setup_title: 'Create the first administrator', setup_sub: 'This one-time link makes the first account. You can add colleagues afterwards.',
  create_account: 'Create account and sign in', name: 'Name', email: 'Email', password: 'Password',
  bad_credentials: 'Wrong email or password.', rate_limited: 'Too many attempts. Wait a minute and try again.',
  setup_invalid: 'This setup link is invalid, expired or was already used. Sign in instead.',
  password_rule: 'Use at least 10 characters.', error_generic: 'Something went wrong. Please try again.',
  session_ended: 'Your session ended. Please sign in again.',
  nav_waiting: 'Waiting', nav_mine: 'Mine', nav_open: 'All open', nav_bot: 'Bot (live)', nav_canned: 'Saved replies',
  enable_notifications: 'Turn on notifications', sign_out: 'Sign out', status_online: 'Online', status_away: 'Away',
  list_waiting: 'Waiting for a person', list_mine: 'Assigned to me', list_open: 'All open conversations', list_bot: 'Bot conversations',
  empty_waiting: 'Nobody is waiting. Nice work!', empty_mine: 'You hold no conversations.', empty_open: 'No open conversations.', empty_bot: 'No bot conversations yet.',
  pick_conversation: 'Pick a conversation to see it here.', back: 'Back', details: 'Details',
  waiting_for: 'waiting {t}', held_by: 'with {name}', held_by_you: 'with you',
  state_bot: 'Bot', state_waiting_human: 'Waiting', state_human: 'With a person', state_closed: 'Closed',
  claim: 'Claim', release: 'Release', transfer: 'Transfer', close: 'Close', takeover: 'Take over', return_to_bot: 'Back to bot',
  reply: 'Reply', note: 'Internal note', send: 'Send', add_note: 'Add note',
  reply_placeholder: 'Write a reply… Type / for saved replies', note_placeholder: 'Write a note for your team. The visitor never sees it.',
  composer_hint_reply: 'Enter to send · Shift+Enter for a new line', composer_hint_note: 'Only your team sees notes',
  banner_bot: 'The bot is handling this conversation. You are watching live.', banner_closed: 'This conversation is closed.',
  banner_other: '{name} is handling this conversation.', banner_waiting: 'Waiting for a person since {t}. Claim it to answer.',
  banner_other_desk: 'This conversation is served on another desk.',
  visitor: 'Visitor', bot: 'Bot', system: 'System', you: 'You', private_note: 'Internal note', sources: 'From the knowledge base',
  typing_visitor: 'The visitor is typing…', typing_operator: '{name} is typing…', typing_bot: 'The bot is thinking…',
  handoff: 'Handoff', cause: 'Why', reason: 'Reason', summary: 'Summary', requested: 'Handed over', joined: 'Joined',
  department: 'Department', priority: 'Priority', language: 'Language', tags: 'Tags',
  priority_low: 'Low', priority_normal: 'Normal', priority_high: 'High', priority_urgent: 'Urgent',
  routed_rule: 'rule {rule}', routed_model: 'chosen by the bot', routed_language: 'by language', routed_channel: 'by channel', routed_default: 'default',
  raised_sentiment: 'raised: upset visitor', raised_model: 'raised by the bot', raised_service_level: 'raised: waited too long',
  sla_breached: '{name} in {department} waited past the response target: now {priority}.',
  visitor_section: 'Visitor', channel: 'Channel', user_id: 'User ID', conversation: 'Conversation', created: 'Started', id: 'ID',
  cause_tool: 'The bot passed it on', cause_keyword: 'Asked for a person', cause_failures: 'The bot could not answer', cause_llm_down: 'The model was unavailable',
  cause_no_model: 'No model configured', cause_api: 'Requested over the API', cause_visitor: 'Pressed "talk to a person"', cause_takeover: 'Taken over from the bot',
  cause_operator: 'Operator', cause_queue_timeout: 'Nobody joined in time', cause_missed: 'Missed', cause_closed: 'Closed', cause_released: 'Released',
  cause_off_hours: 'Outside opening hours', cause_no_operator: 'No operator online', cause_desk_failed: 'The desk could not be reached',
  email: 'Email', tier: 'Tier', tickets: 'Tickets',
  ticket_open: 'open', ticket_pending: 'pending', ticket_solved: 'solved', ticket_closed: 'closed',
  transfer_to: 'Transfer to…', no_colleagues: 'No other colleagues yet.', cancel: 'Cancel', save: 'Save', delete: 'Delete', edit: 'Edit', add: 'Add',
  canned_title: 'Saved replies', canned_sub: 'Type / and the shortcut in the composer to insert one.', shortcut: 'Shortcut', text: 'Text',
  canned_empty: 'No saved replies yet.', canned_none_match: 'No saved reply starts with that.',
  new_waiting_title: 'A visitor is waiting', new_waiting_body: '{name} on {channel}',
  conflict: 'Someone else changed this conversation first.', offline: 'Reconnecting…', unreachable: 'The visitor blocked the bot.',
  note_joined: '{name} joined the conversation.', note_released: '{name} put the conversation back in the queue.',
  note_transferred: '{from} transferred the conversation to {to}.', note_left: 'The visitor left the chat.',
  nav_gaps: 'Unanswered questions', gaps_title: 'Questions the bot could not answer',
  gaps_sub: 'What visitors asked that the knowledge base does not cover, most asked first. Write an answer and the bot gives it from then on, with or without a model.',
  gaps_empty: 'Nothing unanswered: the bot has answered every question so far.',
  gap_asked: 'asked {n}×', gap_last: 'last asked {t} ago', gap_last_now: 'last asked just now', gap_handoff: 'handed to a person {n}×',
  answer_gap: 'Write an answer', dismiss: 'Dismiss', gap_question: 'Question, as your FAQ would put it', gap_visitor_words: 'Visitors asked',
  gap_answer: 'The bot\'s answer', gap_answer_hint: 'Sent to visitors exactly as written.', save_answer: 'Save answer',
  gap_saved: 'Saved.',
  gap_saved_answer: 'Saved. The bot now answers “{q}” with it.',
  gap_saved_suggest: 'Saved. For “{q}” the bot still hesitates and offers choices: {list}.',
  gap_saved_no_match: 'Saved, but the bot still hands “{q}” to a person. Try a question closer to the visitors\' words.',
  nav_team: 'Team', team_title: 'Team', team_sub: 'Colleagues who can sign in to the console. Give a new colleague their first password yourself.',
  role: 'Role', role_agent: 'Agent', role_admin: 'Admin', disabled: 'Disabled', disable: 'Disable', enable: 'Enable',
  add_colleague: 'Add colleague', first_password: 'First password',
  just_now: 'now', min: '{n}m', hour: '{n}h', day: '{n}d', status_offline: 'Offline',
};

const zh = {
  sign_in: '登录', sign_in_title: '登录客服控制台', sign_in_sub: '接待机器人转给人工的会话。',
  setup_title: '创建第一位管理员', setup_sub: '此一次性链接用于创建第一个账号，之后可以再添加同事。',
  create_account: '创建账号并登录', name: '姓名', email: '邮箱', password: '密码',
  bad_credentials: '邮箱或密码错误。', rate_limited: '尝试次数过多，请稍后再试。',
  setup_invalid: '此设置链接无效、已过期或已被使用，请直接登录。',
  password_rule: '至少 10 个字符。', error_generic: '出错了，请重试。', session_ended: '登录已失效，请重新登录。',
  nav_waiting: '等待中', nav_mine: '我的', nav_open: '全部进行中', nav_bot: '机器人（实时）', nav_canned: '快捷回复',
  enable_notifications: '开启桌面通知', sign_out: '退出登录', status_online: '在线', status_away: '离开',
  list_waiting: '等待人工', list_mine: '分配给我', list_open: '全部进行中的会话', list_bot: '机器人会话',
  empty_waiting: '没有人在等待，干得好！', empty_mine: '你没有正在处理的会话。', empty_open: '没有进行中的会话。', empty_bot: '还没有机器人会话。',
  pick_conversation: '选择一个会话以在此查看。', back: '返回', details: '详情',
  waiting_for: '已等待 {t}', held_by: '由 {name} 处理', held_by_you: '由你处理',
  state_bot: '机器人', state_waiting_human: '等待中', state_human: '人工处理中', state_closed: '已结束',
  claim: '接入', release: '放回队列', transfer: '转接', close: '结束', takeover: '接管', return_to_bot: '交回机器人',
  reply: '回复', note: '内部备注', send: '发送', add_note: '添加备注',
  reply_placeholder: '输入回复… 输入 / 使用快捷回复', note_placeholder: '写给团队的备注，访客不会看到。',
  composer_hint_reply: 'Enter 发送 · Shift+Enter 换行', composer_hint_note: '备注仅团队可见',
  banner_bot: '机器人正在处理此会话，你正在实时查看。', banner_closed: '此会话已结束。',
  banner_other: '{name} 正在处理此会话。', banner_waiting: '自 {t} 起等待人工，接入后即可回复。',
  banner_other_desk: '此会话由其他工作台处理。',
  visitor: '访客', bot: '机器人', system: '系统', you: '你', private_note: '内部备注', sources: '来自知识库',
  typing_visitor: '访客正在输入…', typing_operator: '{name} 正在输入…', typing_bot: '机器人正在思考…',
  handoff: '转人工', cause: '原因', reason: '说明', summary: '摘要', requested: '转接时间', joined: '接入时间',
  department: '部门', priority: '优先级', language: '语言', tags: '标签',
  priority_low: '低', priority_normal: '普通', priority_high: '高', priority_urgent: '紧急',
  routed_rule: '规则 {rule}', routed_model: '机器人选择', routed_language: '按语言', routed_channel: '按渠道', routed_default: '默认',
  raised_sentiment: '已提升：访客不满', raised_model: '已提升：机器人判断', raised_service_level: '已提升：等待超时',
  sla_breached: '{department} 的 {name} 等待超过响应目标，优先级升为{priority}。',
  visitor_section: '访客', channel: '渠道', user_id: '用户 ID', conversation: '会话', created: '开始时间', id: 'ID',
  cause_tool: '机器人转交', cause_keyword: '访客要求人工', cause_failures: '机器人无法回答', cause_llm_down: '模型不可用',
  cause_no_model: '未配置模型', cause_api: '通过 API 请求', cause_visitor: '访客点击“转人工”', cause_takeover: '从机器人接管',
  cause_operator: '客服', cause_queue_timeout: '无人及时接入', cause_missed: '未接入', cause_closed: '已结束', cause_released: '已放回',
  cause_off_hours: '非工作时间', cause_no_operator: '无客服在线', cause_desk_failed: '无法连接工作台',
  email: '邮箱', tier: '等级', tickets: '工单',
  ticket_open: '待处理', ticket_pending: '等待中', ticket_solved: '已解决', ticket_closed: '已关闭',
  transfer_to: '转接给…', no_colleagues: '还没有其他同事。', cancel: '取消', save: '保存', delete: '删除', edit: '编辑', add: '添加',
  canned_title: '快捷回复', canned_sub: '在输入框中输入 / 加快捷词即可插入。', shortcut: '快捷词', text: '内容',
  canned_empty: '还没有快捷回复。', canned_none_match: '没有以此开头的快捷回复。',
  new_waiting_title: '有访客在等待', new_waiting_body: '{name} · {channel}',
  conflict: '此会话已被他人先行处理。', offline: '正在重新连接…', unreachable: '访客已屏蔽机器人。',
  note_joined: '{name} 加入了会话。', note_released: '{name} 将会话放回了队列。',
  note_transferred: '{from} 将会话转接给了 {to}。', note_left: '访客已离开会话。',
  nav_gaps: '未解答的问题', gaps_title: '机器人没能回答的问题',
  gaps_sub: '访客问过、知识库里还没有答案的问题，按提问次数排序。写下答案后，无论有没有模型，机器人都会用它回答。',
  gaps_empty: '没有未解答的问题：到目前为止机器人都答上来了。',
  gap_asked: '被问 {n} 次', gap_last: '{t}前问过', gap_last_now: '刚刚问过', gap_handoff: '转人工 {n} 次',
  answer_gap: '写答案', dismiss: '忽略', gap_question: '问题（按常见问题的写法）', gap_visitor_words: '访客的原话',
  gap_answer: '机器人的回答', gap_answer_hint: '会原样发给访客。', save_answer: '保存答案',
  gap_saved: '已保存。',
  gap_saved_answer: '已保存。机器人现在会用它回答“{q}”。',
  gap_saved_suggest: '已保存。对于“{q}”，机器人仍拿不准，会给出选项：{list}。',
  gap_saved_no_match: '已保存，但机器人仍会把“{q}”转给人工。试着让问题更贴近访客的说法。',
  nav_team: '团队', team_title: '团队', team_sub: '可以登录控制台的同事。新同事的初始密码请由你亲自告知。',
  role: '角色', role_agent: '客服', role_admin: '管理员', disabled: '已停用', disable: '停用', enable: '启用',
  add_colleague: '添加同事', first_password: '初始密码',
  just_now: '刚刚', min: '{n} 分钟', hour: '{n} 小时', day: '{n} 天', status_offline: '离线',
};

const tables = { en, zh };

function pick() {
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = l.toLowerCase().split('-')[0];
    if (tables[base]) return base;
  }
  return 'en';
}

export const lang = pick();
const table = tables[lang];

// t returns the text for key with {name} placeholders filled in.
export function t(key, vars) {
  let s = table[key] ?? en[key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll('{' + k + '}', String(v));
  return s;
}

// translate fills the elements marked with data-i18n and data-i18n-title.
export function translate(root) {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-title]')) {
    el.title = t(el.dataset.i18nTitle);
    el.setAttribute('aria-label', el.title);
  }
}
