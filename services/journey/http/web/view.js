// Rendering. Everything from the server goes in through textContent, never
// as HTML, so a customer named "<script>" is just a name.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// "DEPARTMENT_INSTALLATION" -> "Installation"
export function enumName(value, prefix) {
  if (!value || value.endsWith('_UNSPECIFIED')) return '';
  const s = value.startsWith(prefix) ? value.slice(prefix.length) : value;
  if (s === 'SMS') return s;
  return s.charAt(0) + s.slice(1).toLowerCase().replaceAll('_', ' ');
}

const dateTime = new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeStyle: 'short'});

export function when(ts) {
  if (!ts) return '';
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? '' : dateTime.format(d);
}

export function money(m) {
  if (!m || !m.currency) return '';
  const minor = Number(m.amountMinor || 0);
  try {
    return new Intl.NumberFormat(undefined, {style: 'currency', currency: m.currency})
        .format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${m.currency}`;
  }
}

function timeEl(ts) {
  return el('time', {datetime: ts || '', text: when(ts)});
}

function section(title, cls, items) {
  if (!items.length) return null;
  return el('section', {class: `card-part ${cls}`},
      el('h4', {text: title}), el('ul', {}, ...items));
}

const isComplaint = (t) => /COMPLAINT/i.test(t.category || '');

// The card: what an agent must see before saying a word, most urgent first.
export function renderCard(node, c) {
  node.replaceChildren();
  const contact = [...(c.phoneNumbers || []), ...(c.emails || [])].join(' · ');
  const preferred = enumName(c.preferredChannel, 'CHANNEL_');
  node.append(el('header', {class: 'card-head'},
      el('h3', {id: 'card-name', text: c.name || c.customerId}),
      el('p', {class: 'help'}, contact, preferred ? ` · prefers ${preferred}` : '')));

  const guidance = (c.guidance || []).map((g) =>
      el('li', {class: 'flag', 'data-code': g.code}, el('strong', {text: g.message || g.code})));
  const tickets = c.openTickets || [];
  // A ticket's service level: breached, waiting on the customer (clocks
  // stopped), or due, at risk when warned; and the first answer's due time
  // until someone has answered.
  const sla = (t) => [
    t.slaBreached ? el('span', {class: 'badge bad', text: 'SLA breached'}) :
    t.paused ? el('span', {class: 'badge', text: 'Waiting on customer'}) :
    el('span', {}, t.atRisk ? el('span', {class: 'badge warn', text: 'At risk'}) : '',
        t.atRisk ? ' ' : '', 'SLA due ', timeEl(t.slaDueAt)),
    t.firstResponseDueAt && !t.paused ?
      el('span', {}, ' · answer by ', timeEl(t.firstResponseDueAt)) : '',
  ];
  const complaints = tickets.filter(isComplaint).map((t) => el('li', {class: 'alert'},
      el('strong', {text: t.subject || 'Complaint'}),
      ` — ${t.tier ? `tier ${t.tier}, ` : ''}`, ...sla(t)));
  const otherTickets = tickets.filter((t) => !isComplaint(t)).map((t) => el('li', {},
      `${t.subject || enumName(t.category, 'TICKET_CATEGORY_') || 'Ticket'} — ` +
      `${t.tier ? `tier ${t.tier}, ` : ''}`, ...sla(t)));
  const resolved = (c.recentResolvedTickets || []).map((t) => el('li', {},
      `${t.subject || enumName(t.category, 'TICKET_CATEGORY_') || 'Ticket'} — resolved `,
      timeEl(t.resolvedAt), t.resolution ? `: ${t.resolution}` : ''));
  const commitments = (c.commitments || [])
      .filter((m) => m.state !== 'COMMITMENT_STATE_KEPT')
      .sort((a, b) => rank(a.state) - rank(b.state))
      .map((m) => el('li', {class: stateClass(m.state)},
          el('span', {class: `badge ${stateClass(m.state)}`, text: enumName(m.state, 'COMMITMENT_STATE_')}),
          ' ', el('strong', {text: m.text}),
          ` — ${enumName(m.owner, 'DEPARTMENT_')}, due `, timeEl(m.dueBy),
          m.reason ? ` (${m.reason})` : ''));
  const billing = c.billing || {};
  const held = (billing.heldCharges || []).map((h) => el('li', {class: 'held'},
      el('span', {class: 'badge warn', text: 'Held'}), ' ',
      el('strong', {text: h.description || h.chargeId}),
      h.oneOff ? ` ${money(h.oneOff)} once` : '', h.monthly ? ` ${money(h.monthly)}/month` : '',
      h.reason ? ` — ${h.reason}` : ''));
  const disputes = (billing.openDisputeIds || []).map((d) => el('li', {text: `Open dispute ${d}`}));
  const callbacks = (c.openCallbacks || []).map((cb) => el('li', {class: cb.overdue ? 'alert' : ''},
      cb.overdue ? el('span', {class: 'badge bad', text: 'Overdue'}) : '',
      ` Call back ${cb.phoneNumber} by `, timeEl(cb.dueAt)));

  const appt = c.nextAppointment;
  const appointment = appt && appt.appointmentId ? [el('li', {},
      timeEl(appt.slot && appt.slot.start), ' – ', timeEl(appt.slot && appt.slot.end), ' ',
      el('span', {class: `badge ${appt.confirmed ? 'good' : 'warn'}`,
        text: appt.confirmed ? 'Confirmed by customer' : 'Not confirmed'}))] : [];
  const products = (c.products || []).map((p) => el('li', {},
      el('strong', {text: p.description || p.sku}), ` (${p.sku}) since `, timeEl(p.since),
      (p.previousSkus || []).length ? ` — switched from ${p.previousSkus.join(', ')}` : ''));
  const balance = billing.balance && billing.balance.currency ?
      [el('li', {text: `Balance ${money(billing.balance)}`})] : [];

  const parts = [
    section('Before you speak', 'urgent', guidance),
    section('Open complaints', 'urgent', complaints),
    section('Commitments', 'commitments', commitments),
    section('Held charges and disputes', 'billing', [...held, ...disputes]),
    section('Next appointment', 'appointment', appointment),
    section('Callbacks', 'callbacks', callbacks),
    section('Other open tickets', 'tickets', otherTickets),
    section('Recently resolved', 'resolved', resolved),
    section('Products', 'products', products),
    section('Account', 'account', balance),
  ].filter(Boolean);
  if (!parts.length) parts.push(el('p', {class: 'help', text: 'Nothing open for this customer.'}));
  node.append(el('div', {class: 'card-body'}, ...parts));
  node.hidden = false;
}

function rank(state) {
  return {COMMITMENT_STATE_BROKEN: 0, COMMITMENT_STATE_AT_RISK: 1, COMMITMENT_STATE_OPEN: 2}[state] ?? 3;
}
function stateClass(state) {
  return {COMMITMENT_STATE_BROKEN: 'bad', COMMITMENT_STATE_AT_RISK: 'warn'}[state] || '';
}

export function renderEntry(e) {
  const dept = enumName(e.department, 'DEPARTMENT_');
  const channel = enumName(e.channel, 'CHANNEL_');
  const actor = e.actor && e.actor.principal ?
      `${e.actor.principal}${e.actor.role ? ` (${e.actor.role})` : ''}` : '';
  return el('li', {class: 'entry', 'data-event-id': e.eventId, 'data-dept': dept.toLowerCase()},
      el('div', {class: 'entry-meta'},
          timeEl(e.occurredAt),
          dept ? el('span', {class: 'tag dept', text: dept}) : '',
          channel ? el('span', {class: 'tag', text: channel}) : '',
          actor ? el('span', {class: 'actor', text: actor}) : ''),
      el('p', {class: 'entry-summary', text: e.summary || e.kind}));
}

// Newest first: occurred_at, then event_id, both descending (the journey's
// own order, reversed).
export function newerFirst(a, b) {
  const ta = Date.parse(a.occurredAt || 0) || 0;
  const tb = Date.parse(b.occurredAt || 0) || 0;
  if (ta !== tb) return tb - ta;
  return a.eventId < b.eventId ? 1 : a.eventId > b.eventId ? -1 : 0;
}
