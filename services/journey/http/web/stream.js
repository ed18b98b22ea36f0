// One live stream of journey updates for every customer, that survives
// drops: EventSource reconnects by itself and sends Last-Event-ID; when it
// gives up (an error status, a server restart), we open a new one from the
// last id we saw. Updates are de-duplicated by event_id, so a resume that
// overlaps what we already have repeats nothing.

import {streamUrl} from './api.js';

const SEEN_LIMIT = 20000;

export class JourneyStream {
  // onUpdate(update), onState('connecting' | 'live' | 'reconnecting' | 'unauthorized')
  constructor({onUpdate, onState, backlog = 200, probe}) {
    this.onUpdate = onUpdate;
    this.onState = onState;
    this.backlog = backlog;
    this.probe = probe;  // async () => HTTP status of an authenticated request
    this.lastId = '';
    this.seen = new Set();
    this.seenOrder = [];
    this.retryMs = 500;
    this.source = null;
    this.timer = 0;
    this.failuresWithoutReady = 0;
  }

  start() {
    this.stop();
    this.onState(this.lastId ? 'reconnecting' : 'connecting');
    // A first connection replays some recent activity; a resumed one starts
    // exactly after the last update it saw.
    const params = this.lastId ? {resume_token: this.lastId} : {backlog: String(this.backlog)};
    const source = new EventSource(streamUrl(params));
    this.source = source;
    source.addEventListener('ready', (e) => {
      this.lastId = e.lastEventId || this.lastId;
      this.retryMs = 500;
      this.failuresWithoutReady = 0;
      this.onState('live');
    });
    source.addEventListener('update', (e) => {
      this.lastId = e.lastEventId || this.lastId;
      let update;
      try {
        update = JSON.parse(e.data);
      } catch {
        return;
      }
      const id = update.entry && update.entry.eventId;
      if (!id || this.seen.has(id)) return;
      this.remember(id);
      this.onUpdate(update);
    });
    source.addEventListener('end', () => this.onState('reconnecting'));
    source.addEventListener('error', () => {
      if (source !== this.source) return;
      if (source.readyState === EventSource.CONNECTING) {
        // The browser reconnects by itself, with Last-Event-ID.
        this.onState('reconnecting');
        return;
      }
      this.retry();
    });
  }

  // The browser gave up (an HTTP error status or a failed connection):
  // find out why, then try again with back-off.
  async retry() {
    this.stop();
    this.onState('reconnecting');
    this.failuresWithoutReady += 1;
    if (this.probe) {
      const status = await this.probe().catch(() => 0);
      if (status === 401 || status === 403) {
        this.onState('unauthorized');
        return;
      }
    }
    // A resume point the server refuses again and again (its journey was
    // rebuilt from scratch): start over; de-duplication keeps the page clean.
    if (this.failuresWithoutReady > 5) this.lastId = '';
    this.timer = setTimeout(() => this.start(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 10000);
  }

  remember(id) {
    this.seen.add(id);
    this.seenOrder.push(id);
    if (this.seenOrder.length > SEEN_LIMIT) this.seen.delete(this.seenOrder.shift());
  }

  markSeen(id) {
    if (!this.seen.has(id)) this.remember(id);
  }

  stop() {
    clearTimeout(this.timer);
    if (this.source) this.source.close();
    this.source = null;
  }
}
