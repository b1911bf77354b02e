// The guest's WebSocket to rendezvous (/ws/guest/<token>, or /ws/resume for an admitted
// guest whose first socket closed): JSON messages of visavis_api::signaling (GuestToServer
// out, ServerToGuest in). While open it pings (heartbeat.js): a socket that carries nothing
// any more is given up as if it had closed (code 4000), so the page resumes on a new one
// rather than wait minutes for the browser to notice.

import { Heartbeat } from './heartbeat.js';

/** The close code the page gives a socket it took for dead (no answer to its pings). */
export const NO_ANSWER = 4000;

export class Signaling {
  /**
   * @param {string|null} token the invite token from the page URL; null: a socket to resume
   * @param {{onMessage: (msg: object) => void, onClose: (info: {wasOpen: boolean, code: number, from: Signaling}) => void}} handlers
   */
  constructor(token, handlers) {
    this.token = token;
    this.handlers = handlers;
    this.ws = null;
    this.wasOpen = false;
    this.closedByUs = false;
    this.reported = false; // onClose was called (once per socket)
    this.heartbeat = new Heartbeat({
      ping: () => this.send({ type: 'ping' }),
      onDead: () => this.#giveUp(),
    });
  }

  /** Tell the page the socket closed, once, and stop pinging. */
  #closed(code) {
    this.heartbeat.stop();
    if (this.reported || this.closedByUs) return;
    this.reported = true;
    this.handlers.onClose({ wasOpen: this.wasOpen, code, from: this });
  }

  /** Nothing heard for too long: close it (rendezvous may never hear) and say so now. */
  #giveUp() {
    console.warn('visavis: no answer on the signaling socket; opening a new one');
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(NO_ANSWER);
    this.#closed(NO_ANSWER);
  }

  /** Open the socket; resolves once it is open, rejects if it could not be opened. */
  open() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const path = this.token === null ? '/ws/resume' : `/ws/guest/${encodeURIComponent(this.token)}`;
    const url = `${scheme}//${location.host}${path}`;
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(url);
      } catch (e) {
        reject(e);
        return;
      }
      this.ws = ws;
      ws.addEventListener('open', () => {
        this.wasOpen = true;
        this.heartbeat.start();
        resolve();
      });
      ws.addEventListener('message', (event) => {
        if (this.reported) return; // given up: a newer socket speaks for the page now
        this.heartbeat.heard();
        let msg;
        try {
          msg = JSON.parse(event.data);
        } catch {
          console.warn('visavis: unreadable message from the server', event.data);
          return;
        }
        if (msg && msg.type === 'pong') return;
        this.handlers.onMessage(msg);
      });
      ws.addEventListener('close', (event) => {
        if (!this.wasOpen) reject(new Error(`WebSocket closed before opening (${event.code})`));
        this.#closed(event.code);
      });
    });
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  send(msg) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /** Close on purpose (1000): rendezvous takes it as a goodbye, holds no place. */
  close() {
    this.closedByUs = true;
    this.heartbeat.stop();
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
  }
}

/**
 * Why the invite could not be used, asked of the invite page itself (the browser hides the
 * HTTP status of a refused WebSocket). Resolves to 'unknown' | 'expired' | 'ended' |
 * 'rate-limited', or null when the invite looks fine (a network problem, then).
 */
export async function inviteProblem() {
  try {
    const response = await fetch(location.href, { cache: 'no-store', credentials: 'omit' });
    if (response.ok) return null;
    if (response.status === 429) return 'rate-limited';
    const page = new DOMParser().parseFromString(await response.text(), 'text/html');
    const reason = page.body?.dataset.reason;
    if (reason) return reason;
    return response.status === 410 ? 'expired' : 'unknown';
  } catch {
    return null;
  }
}
