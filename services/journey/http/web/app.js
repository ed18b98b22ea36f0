// The dashboard: sign in, find a customer, see the card and the timeline,
// and watch every customer's journey live.

import * as api from './api.js';
import {JourneyStream} from './stream.js';
import {el, enumName, newerFirst, renderCard, renderEntry} from './view.js';

const $ = (id) => document.getElementById(id);
const FEED_LIMIT = 50;

const state = {
  selected: '',             // customer id on the card
  entries: new Map(),       // event id -> entry, of the selected customer
  cards: new Map(),         // customer id -> latest card seen on the stream
  feedCount: 0,
  stream: null,
};

const STATE_TEXT = {
  offline: 'Not connected',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Connection lost — reconnecting…',
  unauthorized: 'Signed out: the token was refused',
};

function setConnection(s) {
  const node = $('connection');
  if (node.dataset.state === s) return;
  node.dataset.state = s;
  node.textContent = STATE_TEXT[s] || s;
  if (s === 'unauthorized') showSignIn('That token was refused. Sign in again.');
}

// --- sign in ----------------------------------------------------------------

function showSignIn(message = '') {
  if (state.stream) state.stream.stop();
  $('app').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
  $('sign-in-error').textContent = message;
  $('token-input').focus();
}

async function probe() {
  try {
    await api.findCustomer('');
    return 200;
  } catch (err) {
    return err.status || 0;
  }
}

async function signIn(token) {
  api.setToken(token);
  const status = await probe();
  if (status === 401 || status === 403) {
    api.setToken('');
    // No token yet is not an error: the server wants one.
    showSignIn(!token ? '' : status === 401 ? 'That token is not valid.' :
                                              'That token may not read the journey.');
    return;
  }
  $('sign-in').hidden = true;
  $('app').hidden = false;
  $('sign-out').hidden = !api.token();
  startStream();
  $('search-input').focus();
}

// --- search, card, timeline -----------------------------------------------------

async function search(q) {
  const status = $('search-status');
  const results = $('results');
  results.replaceChildren();
  status.textContent = 'Searching…';
  try {
    const {matches = []} = await api.findCustomer(q);
    status.textContent = matches.length ? `${matches.length} found` : 'No customer found';
    for (const m of matches) {
      const button = el('button', {type: 'button', class: 'result', 'data-customer-id': m.customerId},
          el('strong', {text: m.name || m.customerId}), ` — matched on ${m.matchedOn}`);
      button.addEventListener('click', () => select(m.customerId));
      results.append(el('li', {}, button));
    }
    if (matches.length === 1) await select(matches[0].customerId);
  } catch (err) {
    status.textContent = `Search failed: ${err.message}`;
    if (err.status === 401) showSignIn('Your session ended. Sign in again.');
  }
}

async function select(customerId) {
  state.selected = customerId;
  state.entries.clear();
  $('timeline').replaceChildren();
  try {
    const [card, page] = await Promise.all([api.customerContext(customerId),
      api.timeline(customerId)]);
    if (state.selected !== customerId) return;
    // The stream may have brought a newer card while we fetched.
    const streamed = state.cards.get(customerId);
    renderCard($('card'), newerCard(streamed, card));
    for (const e of page.entries || []) state.entries.set(e.eventId, e);
    renderTimeline();
    $('timeline-section').hidden = false;
    $('card-name').setAttribute('tabindex', '-1');
    $('card-name').focus();
  } catch (err) {
    $('search-status').textContent = `Could not load the customer: ${err.message}`;
  }
}

function newerCard(a, b) {
  if (!a) return b;
  if (!b) return a;
  return Number(a.timelineLength || 0) >= Number(b.timelineLength || 0) ? a : b;
}

function renderTimeline() {
  const list = $('timeline');
  const sorted = [...state.entries.values()].sort(newerFirst);
  list.replaceChildren(...sorted.map((e) => renderEntry(e)));
}

function addTimelineEntry(e) {
  if (state.entries.has(e.eventId)) return;
  state.entries.set(e.eventId, e);
  const list = $('timeline');
  const node = renderEntry(e);
  node.classList.add('new');
  // Insert in order rather than re-rendering, so assistive technology
  // announces only the new entry (aria-live="polite", additions).
  const after = [...state.entries.values()].sort(newerFirst);
  const index = after.findIndex((x) => x.eventId === e.eventId);
  const next = list.children[index] || null;
  list.insertBefore(node, next);
}

// --- the live stream, the feed and the counters --------------------------------

function onUpdate(u) {
  const e = u.entry;
  if (u.context && u.context.customerId) state.cards.set(u.context.customerId, u.context);
  const feed = $('feed');
  const name = (u.context && u.context.name) || e.customerId;
  const item = renderEntry(e);
  // The customer's name opens her card: one stop per entry for the keyboard.
  const open = el('button', {type: 'button', class: 'link entry-customer', text: name,
    'aria-label': `Open ${name}`});
  open.addEventListener('click', () => select(e.customerId));
  item.insertBefore(open, item.children[1]);
  feed.prepend(item);
  while (feed.children.length > FEED_LIMIT) feed.lastElementChild.remove();
  if (e.customerId === state.selected) {
    addTimelineEntry(e);
    if (u.context) renderCard($('card'), u.context);
  }
  renderCounters();
}

function isToday(ts) {
  if (!ts) return false;
  const d = new Date(ts);
  const now = new Date();
  return d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() &&
      d.getDate() === now.getDate();
}

// Derived from the latest card of every customer seen on the stream.
function renderCounters() {
  const tiers = new Map();
  let breachesToday = 0;
  let atRisk = 0;
  let broken = 0;
  let overdue = 0;
  for (const c of state.cards.values()) {
    for (const t of c.openTickets || []) {
      const tier = t.tier || 'untiered';
      tiers.set(tier, (tiers.get(tier) || 0) + 1);
      if (t.slaBreached && isToday(t.slaDueAt)) breachesToday += 1;
    }
    for (const m of c.commitments || []) {
      if (m.state === 'COMMITMENT_STATE_AT_RISK') atRisk += 1;
      if (m.state === 'COMMITMENT_STATE_BROKEN') broken += 1;
    }
    for (const cb of c.openCallbacks || []) if (cb.overdue) overdue += 1;
  }
  const openTickets = [...tiers.values()].reduce((a, b) => a + b, 0);
  const byTier = [...tiers.entries()].sort().map(([t, n]) => `${t}: ${n}`).join(', ');
  const rows = [
    ['Open tickets', openTickets, byTier, 'open-tickets'],
    ['SLA breaches today', breachesToday, '', 'sla-breaches'],
    ['Commitments at risk', atRisk, broken ? `${broken} broken` : '', 'at-risk'],
    ['Callbacks overdue', overdue, '', 'callbacks-overdue'],
  ];
  $('counters').replaceChildren(...rows.map(([label, n, detail, key]) => el('div', {
    class: `counter${n && key !== 'open-tickets' ? ' hot' : ''}`, 'data-counter': key},
  el('dt', {text: label}), el('dd', {}, el('span', {class: 'n', text: String(n)}),
      detail ? el('span', {class: 'detail', text: detail}) : ''))));
  $('counters-scope').textContent =
      `Across ${state.cards.size} customer${state.cards.size === 1 ? '' : 's'} active since this page opened (and recent activity).`;
}

function startStream() {
  if (state.stream) state.stream.stop();
  state.stream = new JourneyStream({onUpdate, onState: setConnection, probe});
  state.stream.start();
  renderCounters();
}

// --- wiring -----------------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  $('sign-in-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    signIn($('token-input').value.trim());
    $('token-input').value = '';
  });
  $('sign-out').addEventListener('click', () => {
    api.setToken('');
    setConnection('offline');
    showSignIn();
  });
  $('search').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = $('search-input').value.trim();
    if (q) search(q);
  });
  // The stream drops while the machine sleeps or the network changes; the
  // browser is told when it is back.
  window.addEventListener('online', () => {
    if (state.stream && !state.stream.source) state.stream.start();
  });
  // Signed in before (this tab), or running open on loopback: try straight
  // away; a refused token shows the form.
  signIn(api.token());
});

// For people and tests looking at a running page.
window.threadline = {state, enumName};
