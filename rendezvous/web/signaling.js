// The guest's WebSocket to rendezvous (/ws/guest/<token>, or /ws/resume for an admitted
// guest whose first socket closed): JSON messages of visavis_api::signaling (GuestToServer
// out, ServerToGuest in).

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
        resolve();
      });
      ws.addEventListener('message', (event) => {
        let msg;
        try {
          msg = JSON.parse(event.data);
        } catch {
          console.warn('visavis: unreadable message from the server', event.data);
          return;
        }
        this.handlers.onMessage(msg);
      });
      ws.addEventListener('close', (event) => {
        if (!this.wasOpen) reject(new Error(`WebSocket closed before opening (${event.code})`));
        if (!this.closedByUs) this.handlers.onClose({ wasOpen: this.wasOpen, code: event.code, from: this });
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
