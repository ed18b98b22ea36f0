// The journey dashboard in a real browser (headless Debian Chromium through
// playwright-core) against a running suite on the embedded bus:
//   - the event stream and API refuse a missing or unknown token (401) and
//     a role the policy denies (403);
//   - an agent signs in, finds the demo customer by phone and sees the card;
//   - a command issued through gRPC (threadctl) shows on the page within a
//     second, without a reload;
//   - the server drops every event stream; the page says it is reconnecting,
//     resumes with Last-Event-ID and shows nothing twice.
// Environment (set by tests/CMakeLists.txt): THREADLINE_BIN, THREADCTL_BIN,
// THREADLINE_DEMO_BIN, THREADLINE_WEB_DEPS (node_modules from install-deps);
// optional THREADLINE_WEB_SCREENSHOT (where to save a screenshot; the
// committed docs/dashboard.png comes from here), THREADLINE_CHROMIUM,
// THREADLINE_WEB_TARGET (`threadline serve --target`; e.g. sales,journey
// plays only the sales part of the story, as before the other departments
// existed).

import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; run through ctest (tests/CMakeLists.txt)`);
  return v;
};
const THREADLINE = env('THREADLINE_BIN');
const THREADCTL = env('THREADCTL_BIN');
const DEMO = env('THREADLINE_DEMO_BIN');
const {chromium} = createRequire(resolve(env('THREADLINE_WEB_DEPS'), 'package.json'))(
    'playwright-core');
const CHROMIUM = process.env.THREADLINE_CHROMIUM || '/usr/bin/chromium';

const TOKENS = {
  admin: 'web-test-admin-0123456789',
  dashboard: 'web-test-dashboard-0123456789',
  sales: 'web-test-sales-0123456789',
};
const PHONE = '+31 6 1234 5678';
const started = Date.now();
const log = (...args) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s]`, ...args);

// The whole test has one deadline; every wait below has its own, shorter one.
const overall = setTimeout(() => {
  console.error('FAIL: the browser test took longer than 90 s');
  cleanup().finally(() => process.exit(1));
}, 90_000);

const dir = mkdtempSync(join(tmpdir(), 'threadline-web-'));
let server = null;
let browser = null;
let suiteLog = () => '';

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((resolve) => {
      const t = setTimeout(() => { server.kill('SIGKILL'); resolve(); }, 10_000);
      server.once('exit', () => { clearTimeout(t); resolve(); });
    });
  }
  rmSync(dir, {recursive: true, force: true});
}

async function waitFor(what, condition, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pause));
  }
}

// Starts `threadline serve` with both listeners on free ports; returns them.
async function startSuite() {
  const tokens = join(dir, 'tokens');
  writeFileSync(tokens, Object.entries(TOKENS).map(([role, t]) => `${t} web-${role} ${role}\n`).join(''));
  chmodSync(tokens, 0o600);
  let output = '';
  server = spawn(THREADLINE, ['serve', `--target=${process.env.THREADLINE_WEB_TARGET || 'all'}`,
    '--listen=127.0.0.1:0', '--http-listen=127.0.0.1:0',
    `--tokens-file=${tokens}`, `--data-dir=${join(dir, 'data')}`], {stdio: ['ignore', 'pipe', 'pipe']});
  server.stdout.on('data', (d) => { output += d; });
  server.stderr.on('data', (d) => { output += d; });
  suiteLog = () => output;
  const ports = await waitFor('the suite to listen', () => {
    if (server.exitCode !== null) throw new Error(`threadline exited:\n${output}`);
    const grpc = output.match(/listening on port (\d+)/);
    const http = output.match(/serving HTTP .*port=(\d+)/);
    return grpc && http ? {grpc: grpc[1], http: http[1]} : null;
  }, 30_000);
  return {grpc: `127.0.0.1:${ports.grpc}`, http: `http://127.0.0.1:${ports.http}`,
    log: () => output};
}

function ctl(address, token, args) {
  const r = spawnSync(THREADCTL, ['--address', address, '--token', token, '--no-color', ...args],
      {encoding: 'utf8', timeout: 20_000});
  return {status: r.status, out: r.stdout || '', err: r.stderr || ''};
}

// Which departments answer? Others are still being built; a read with an
// empty request is UNIMPLEMENTED until they are (and harmless after).
function missingDepartments(address) {
  const probes = {installation: ['installation', 'get-work-order'],
    support: ['support', 'get-ticket'], billing: ['billing', 'get-account']};
  return Object.entries(probes)
      .filter(([, args]) => /UNIMPLEMENTED/.test(ctl(address, TOKENS.admin,
          [...args, '--request-json', '{}']).err))
      .map(([name]) => name);
}

// Plays the demo story. With every department in place that is
// threadline-demo; without, the parts sales can play (the customer and her
// order with the promise of a full installation).
function playStory(address) {
  const missing = missingDepartments(address);
  if (!missing.length) {
    const r = spawnSync(DEMO, ['--address', address, '--token', TOKENS.admin, '--quiet'],
        {encoding: 'utf8', timeout: 60_000});
    assert.equal(r.status, 0, `threadline-demo failed:\n${r.stderr}`);
    return {customer: r.stdout.trim(), full: true, missing};
  }
  const reg = ctl(address, TOKENS.admin, ['--json', 'sales', 'register-customer', '--request-json',
    JSON.stringify({requestId: 'web-reg', channel: 'CHANNEL_SHOP', name: 'Anna de Vries',
      phoneNumbers: [PHONE], emails: ['anna.devries@example.org'],
      preferredChannel: 'CHANNEL_SMS'})]);
  assert.equal(reg.status, 0, `register-customer failed: ${reg.err}`);
  const customer = JSON.parse(reg.out).customer_id;
  const day = 24 * 3600 * 1000;
  const order = ctl(address, TOKENS.admin, ['sales', 'place-order', '--request-json',
    JSON.stringify({requestId: 'web-order', channel: 'CHANNEL_SHOP', customerId: customer,
      items: [{sku: 'FIBRE-LINE', description: 'Fibre line connection', needsInstallation: true,
        oneOffPrice: {amountMinor: 4900, currency: 'EUR'},
        monthlyPrice: {amountMinor: 1500, currency: 'EUR'}},
      {sku: 'BB-1000', description: 'Broadband 1 Gbit/s with router set-up',
        needsInstallation: true, oneOffPrice: {amountMinor: 0, currency: 'EUR'},
        monthlyPrice: {amountMinor: 4500, currency: 'EUR'}}],
      requestedInstallation: {start: new Date(Date.now() + day).toISOString(),
        end: new Date(Date.now() + 3 * day).toISOString()},
      commitments: [{text: 'Full installation including broadband configuration',
        owner: 'DEPARTMENT_INSTALLATION', dueBy: new Date(Date.now() + 7 * day).toISOString()}]})]);
  assert.equal(order.status, 0, `place-order failed: ${order.err}`);
  return {customer, full: false, missing};
}

async function status(url, init = {}) {
  const controller = new AbortController();
  const res = await fetch(url, {...init, signal: controller.signal});
  const type = res.headers.get('content-type') || '';
  controller.abort();  // an event stream would never end by itself
  return {status: res.status, type};
}

async function main() {
  const suite = await startSuite();
  log('suite up', suite.grpc, suite.http);

  // --- tokens and roles on the event stream and the API ---------------------
  const stream = `${suite.http}/api/v1/journey/stream`;
  assert.equal((await status(stream)).status, 401, 'stream without a token');
  assert.equal((await status(`${stream}?access_token=not-a-token-0123456789`)).status, 401,
      'stream with an unknown token');
  assert.equal((await status(stream, {headers: {Authorization: 'Bearer nope-0123456789abcdef'}}))
      .status, 401, 'stream with an unknown bearer header');
  assert.equal((await status(`${suite.http}/api/v1/customers?q=anna`)).status, 401,
      'API without a token');
  const ok = await status(`${stream}?access_token=${TOKENS.dashboard}`);
  assert.equal(ok.status, 200, 'dashboard token on the stream');
  assert.match(ok.type, /^text\/event-stream/);
  // libs/server's policy lets every role read the journey (dashboards,
  // departments, supervisors, admin), so no token gets 403 on the stream
  // today; journey_http_test covers that path with a policy that denies a
  // role. What a reader may not do over HTTP is drop every stream:
  const drop = `${suite.http}/api/v1/journey/streams/drop`;
  for (const role of ['dashboard', 'sales']) {
    assert.equal((await status(drop, {method: 'POST',
      headers: {Authorization: `Bearer ${TOKENS[role]}`}})).status, 403, `${role} dropping streams`);
  }
  log('401/403 checks passed');

  // --- the browser ---------------------------------------------------------------
  browser = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: {width: 1440, height: 1000},
  });
  const page = browser.pages()[0] || await browser.newPage();
  page.setDefaultTimeout(15_000);
  const consoleErrors = [];
  page.on('console', (m) => {
    // The browser reports refused requests (the sign-in probe's 401) itself.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) {
      consoleErrors.push(m.text());
    }
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  const streamRequests = [];
  page.on('request', async (r) => {
    if (r.url().includes('/api/v1/journey/stream')) {
      streamRequests.push({url: r.url(), headers: await r.allHeaders().catch(() => r.headers())});
    }
  });

  await page.goto(suite.http);
  // No token yet: the sign-in form, focused.
  await page.locator('#sign-in').waitFor({state: 'visible'});
  assert.equal(await page.evaluate(() => document.activeElement.id), 'token-input');
  await page.keyboard.type(TOKENS.dashboard);
  await page.keyboard.press('Enter');
  await page.locator('#connection[data-state="live"]').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'search-input',
      'after sign-in the keyboard is in the search box');
  // Record every connection state the page shows.
  await page.evaluate(() => {
    window.__states = [];
    const node = document.getElementById('connection');
    new MutationObserver(() => window.__states.push(node.dataset.state))
        .observe(node, {attributes: true, attributeFilter: ['data-state']});
  });
  log('signed in, stream live');

  // --- the story -------------------------------------------------------------------
  const story = playStory(suite.grpc);
  log(story.full ? 'demo story played' :
      `PARTIAL STORY: ${story.missing.join(', ')} not implemented yet; played the sales part`);

  await page.keyboard.type('06 1234 5678');  // national format finds her too
  await page.keyboard.press('Enter');
  const card = page.locator('#card');
  await card.locator('#card-name', {hasText: 'Anna de Vries'}).waitFor();
  // textContent: innerText follows the CSS (uppercase headings).
  const cardText = () => card.textContent();
  if (story.full) {
    // What the agent must see before saying a word.
    await waitFor('the held broadband charge on the card', async () =>
      /Held charges/.test(await cardText()) && /Broadband/i.test(await cardText()));
    await waitFor('the broken commitment on the card', async () =>
      (await card.locator('.badge.bad', {hasText: 'Broken'}).count()) > 0);
    await waitFor('the open complaint on the card', async () =>
      /Open complaints/.test(await cardText()));
  } else {
    await waitFor('the promise on the card', async () =>
      /Full installation including broadband configuration/.test(await cardText()));
    console.log('PENDING (needs installation, billing and support): the card shows the held ' +
        'broadband charge, the broken installation commitment and the open complaint. These ' +
        'assertions run as soon as threadline-demo can play the whole story.');
  }

  // --- a command over gRPC, live on the page ----------------------------------------
  const entries = () => page.locator('#timeline li[data-event-id]').count();
  await waitFor('the timeline', async () => (await entries()) > 0);
  const before = await entries();
  const logContact = (outcome) => {
    const r = ctl(suite.grpc, TOKENS.sales, ['sales', 'log-contact', '--customer-id',
      story.customer, '--channel', 'phone', '--direction', 'inbound', '--outcome', outcome]);
    assert.equal(r.status, 0, `log-contact failed: ${r.err}`);
    return Date.now();
  };
  const first = 'asked why the broadband set-up is still missing';
  const sent = logContact(first);
  await page.locator('#timeline li', {hasText: first}).waitFor({timeout: 1_000});
  log(`entry appeared ${Date.now() - sent} ms after threadctl returned`);
  assert.ok((await entries()) > before);
  assert.equal(await page.locator('#timeline li').first().innerText().then((t) => t.includes(first)),
      true, 'newest first');
  await page.locator('#feed li', {hasText: first}).waitFor({timeout: 1_000});
  assert.equal(await page.locator('#timeline').getAttribute('aria-live'), 'polite');

  // --- the server drops every stream; the page resumes --------------------------------
  const requestsBefore = streamRequests.length;
  const dropped = await fetch(drop, {method: 'POST',
    headers: {Authorization: `Bearer ${TOKENS.admin}`}}).then((r) => r.json());
  assert.ok(dropped.dropped >= 1, `streams dropped: ${JSON.stringify(dropped)}`);
  // Written while the page is reconnecting: it must arrive once.
  const second = 'called back: router set-up booked for Thursday';
  logContact(second);
  await page.locator('#timeline li', {hasText: second}).waitFor({timeout: 10_000});
  await page.locator('#connection[data-state="live"]').waitFor();
  const states = await page.evaluate(() => window.__states);
  assert.ok(states.includes('reconnecting'), `the page said it was reconnecting: ${states}`);
  const resumed = streamRequests.slice(requestsBefore);
  assert.ok(resumed.length >= 1, 'the page opened the stream again');
  assert.ok(resumed.some((r) => r.headers['last-event-id'] || /resume_token=/.test(r.url)),
      `the page resumed from its last event: ${JSON.stringify(resumed)}`);
  const pageIds = () => page.$$eval('#timeline li[data-event-id]',
      (l) => l.map((n) => n.dataset.eventId));
  const ids = await pageIds();
  assert.equal(new Set(ids).size, ids.length, `no entry twice on the timeline: ${ids}`);
  // Nothing lost: the page shows exactly the server's timeline. Timers (an
  // overdue callback) may add entries meanwhile, so compare with the server
  // rather than count.
  const serverIds = async () => {
    const r = await fetch(`${suite.http}/api/v1/customers/${story.customer}/timeline?page_size=500`,
        {headers: {Authorization: `Bearer ${TOKENS.dashboard}`}});
    return (await r.json()).entries.map((e) => e.eventId).sort();
  };
  await waitFor('the page to show exactly the server\'s timeline', async () => {
    const [a, b] = [(await pageIds()).sort(), await serverIds()];
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }, 5_000);
  const feedIds = await page.$$eval('#feed li[data-event-id]', (l) => l.map((n) => n.dataset.eventId));
  assert.equal(new Set(feedIds).size, feedIds.length, 'no entry twice in the feed');
  log('stream dropped and resumed without duplicates');

  // --- counters and a screenshot ---------------------------------------------------------
  assert.ok(Number(await page.locator('[data-counter="open-tickets"] .n').innerText()) >= 0);
  const shot = process.env.THREADLINE_WEB_SCREENSHOT;
  if (shot) {
    await page.locator('#search-input').blur();
    // Tall enough for the card, the counters and the top of the timeline.
    await page.setViewportSize({width: 1440, height: 1500});
    await page.screenshot({path: shot, fullPage: false});
    log('screenshot saved to', shot);
  }
  assert.deepEqual(consoleErrors, [], 'no errors in the browser console');
}

try {
  await main();
  log(`PASS in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await cleanup();
  clearTimeout(overall);
} catch (err) {
  console.error('FAIL:', err && err.stack || err);
  console.error('--- threadline log ---\n' + suiteLog());
  await cleanup();
  clearTimeout(overall);
  process.exitCode = 1;
}
