// Keeping the call through a network blip (the unit's Wi-Fi in the store, or the phone's).
// Once the call has been up, a connection that goes `disconnected` for a short grace, or
// `failed`, is restarted on the same RTCPeerConnection: restartIce() and a new offer through
// rendezvous, which the unit answers (call.js restartIce). The guest never joins again: no
// new knock, no new admission. While the unit is unreachable (rendezvous answers
// `device_offline`) the offer is tried again with back-off; an offer that brings no
// connection within `answerWaitMs` is tried again too, and at once when rendezvous says
// the unit is back (`unit_back`). The page gives up only when the
// session ends (the server says so) or after `giveUpMs` of trying, and then says so. When
// the old path comes back by itself while a restart's offer is still unanswered (it was
// lost with the unit's socket), the offer is abandoned (rolled back) after `answerWaitMs`.
// SignalingRetry does the same for the page's signaling socket: when it closes during the
// call (rendezvous restarted, or the phone's network dropped it) the page opens a new one
// and resumes its place with its guest id, after 1 s, then 2, 4… up to 30 s between tries
// (jittered), for as long as the call goes on; a resume resets the back-off. When the
// phone's network comes back or the page is shown again (screen unlocked) it tries at once
// (`now`): rendezvous holds the place only for a while (`guest_hold_secs`, 20 s by default).
// Pure logic on an injected clock: test/reconnect.test.js runs it on simulated time.

/** How the page waits and retries (milliseconds). */
export const RECONNECT = Object.freeze({
  /** `disconnected` often heals by itself: wait this long before restarting ICE. */
  graceMs: 2000,
  /** An offer sent but no connection this long after: offer again. */
  answerWaitMs: 10000,
  /** After `device_offline`: the first wait before offering again, doubling up to maxRetryMs. */
  firstRetryMs: 1000,
  maxRetryMs: 8000,
  /** From the first sign of trouble: past this, the call is lost. */
  giveUpMs: 60000,
});

const realClock = {
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (id) => clearTimeout(id),
};

export class Reconnector {
  /**
   * @param {object} opts
   * @param {() => Promise<void>} opts.restart restart ICE and send the new offer; rejects if it could not be sent
   * @param {() => void} opts.onGiveUp the connection could not be restored in time
   * @param {() => Promise<void>} [opts.abandon] roll back a restart's offer still unanswered
   * @param {{setTimeout: Function, clearTimeout: Function}} [opts.clock]
   * @param {() => number} [opts.random] in [0, 1), for the jitter of the back-off
   * @param {typeof RECONNECT} [opts.limits]
   */
  constructor({ restart, onGiveUp, abandon = async () => {}, clock = realClock, random = Math.random, limits = RECONNECT }) {
    this.restart = restart;
    this.onGiveUp = onGiveUp;
    this.abandon = abandon;
    this.clock = clock;
    this.random = random;
    this.limits = limits;
    this.wasConnected = false;
    this.trouble = false; // between the first sign of trouble and the connection coming back
    this.stopped = false;
    this.restarts = 0; // offers sent to restart ICE, over the call's life
    this.retries = 0; // back-off steps in the current trouble
    this.refused = false; // the current offer was refused (device_offline)
    this.sending = false; // an offer is being made and sent
    this.offered = false; // an offer went out during the current trouble
    this.timers = { grace: null, next: null, giveUp: null, abandon: null };
  }

  /** Between the first sign of trouble and the connection coming back. */
  get reconnecting() {
    return this.trouble;
  }

  /** The RTCPeerConnection's connectionState changed. */
  connection(state) {
    if (this.stopped) return;
    if (state === 'connected') {
      this.wasConnected = true;
      if (this.trouble) this.#settle();
      return;
    }
    if (!this.wasConnected) return; // the first connection has its own error screen
    if (state === 'disconnected') {
      this.#begin();
      if (!this.timers.grace && !this.timers.next && !this.sending) {
        this.timers.grace = this.clock.setTimeout(() => {
          this.timers.grace = null;
          this.#attempt();
        }, this.limits.graceMs);
      }
    } else if (state === 'failed') {
      this.#begin();
      // Restart at once, unless an offer is already out (its own timer tries again).
      if (!this.timers.next && !this.sending) this.#attempt();
    }
  }

  /**
   * Rendezvous answered `device_offline`: the unit is away, the offer did not reach it.
   * Returns whether it was taken as the answer to the current offer.
   */
  deviceOffline() {
    if (this.stopped || !this.trouble || this.refused) return false;
    this.refused = true;
    this.#retryLater();
    return true;
  }

  /**
   * Rendezvous says the unit is connected again: a restart waiting for its next try (or
   * for an answer that was lost with the unit's old socket) offers again now. Returns
   * whether it did.
   */
  unitBack() {
    if (this.stopped || !this.trouble || this.sending || this.timers.grace) return false;
    this.#attempt();
    return true;
  }

  /** The call is over: no more timers, no more offers. */
  stop() {
    this.stopped = true;
    this.#clear();
  }

  #begin() {
    if (this.trouble) return;
    this.trouble = true;
    this.retries = 0;
    this.offered = false;
    this.#cancel('abandon'); // a new restart rolls back what is pending itself
    this.timers.giveUp = this.clock.setTimeout(() => {
      this.timers.giveUp = null;
      if (this.stopped || !this.trouble) return;
      this.stop();
      this.onGiveUp();
    }, this.limits.giveUpMs);
  }

  #settle() {
    this.trouble = false;
    this.refused = false;
    this.retries = 0;
    this.#clear();
    if (this.offered) {
      // Connected again, maybe on the old path with the restart's offer still out: give its
      // answer time to come, then drop the offer so the browser stops checking for it.
      this.timers.abandon = this.clock.setTimeout(() => {
        this.timers.abandon = null;
        if (this.stopped || this.trouble) return;
        Promise.resolve(this.abandon()).catch((e) => console.warn('visavis: could not drop an unanswered offer', e));
      }, this.limits.answerWaitMs);
    }
  }

  #clear() {
    for (const key of Object.keys(this.timers)) {
      if (this.timers[key] !== null) this.clock.clearTimeout(this.timers[key]);
      this.timers[key] = null;
    }
  }

  #cancel(key) {
    if (this.timers[key] !== null) this.clock.clearTimeout(this.timers[key]);
    this.timers[key] = null;
  }

  async #attempt() {
    if (this.stopped || !this.trouble) return;
    this.#cancel('grace');
    this.#cancel('next');
    this.refused = false;
    this.restarts += 1;
    this.offered = true;
    this.sending = true;
    let sent = true;
    try {
      await this.restart();
    } catch (e) {
      console.warn('visavis: could not restart the connection', e);
      sent = false;
    }
    this.sending = false;
    if (this.stopped || !this.trouble) return;
    if (!sent) {
      this.#retryLater();
      return;
    }
    if (this.refused) return; // device_offline came back already; a retry is scheduled
    this.#cancel('next');
    this.timers.next = this.clock.setTimeout(() => {
      this.timers.next = null;
      this.#attempt();
    }, this.limits.answerWaitMs);
  }

  #retryLater() {
    this.#cancel('next');
    const ceiling = Math.min(this.limits.maxRetryMs, this.limits.firstRetryMs * 2 ** this.retries);
    this.retries += 1;
    const wait = ceiling * (0.5 + 0.5 * this.random());
    this.timers.next = this.clock.setTimeout(() => {
      this.timers.next = null;
      this.#attempt();
    }, wait);
  }
}

/** How the page reopens its signaling socket (milliseconds). */
export const RESIGNAL = Object.freeze({ firstRetryMs: 1000, maxRetryMs: 30000 });

export class SignalingRetry {
  /**
   * @param {object} opts
   * @param {() => Promise<void>} opts.open open a new socket and send `resume`; rejects if it could not be opened
   * @param {{setTimeout: Function, clearTimeout: Function}} [opts.clock]
   * @param {() => number} [opts.random] in [0, 1), for the jitter
   * @param {typeof RESIGNAL} [opts.limits]
   */
  constructor({ open, clock = realClock, random = Math.random, limits = RESIGNAL }) {
    this.open = open;
    this.clock = clock;
    this.random = random;
    this.limits = limits;
    this.retries = 0; // tries since the last resume
    this.attempts = 0; // sockets opened to resume, over the call's life
    this.resumes = 0; // resumes the server confirmed
    this.timer = null;
    this.opening = false;
    this.stopped = false;
  }

  /** Whether the page is without its socket (between losing it and resuming). */
  get lostSocket() {
    return this.timer !== null || this.opening || this.retries > 0;
  }

  /** The socket closed (or a new one could not be opened, or closed before resuming). */
  lost() {
    if (this.stopped || this.timer !== null || this.opening) return;
    const ceiling = Math.min(this.limits.maxRetryMs, this.limits.firstRetryMs * 2 ** this.retries);
    this.retries += 1;
    const wait = ceiling * (0.5 + 0.5 * this.random());
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.#attempt();
    }, wait);
  }

  /**
   * The network is back, or the page is visible again: a try that was waiting goes now
   * (the back-off goes on if it fails). Nothing while a socket is open or being opened.
   */
  now() {
    if (this.stopped || this.timer === null) return;
    this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.#attempt();
  }

  /** The server took the guest's place again on the new socket. */
  resumed() {
    this.retries = 0;
    this.resumes += 1;
  }

  /** The call is over. */
  stop() {
    this.stopped = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  async #attempt() {
    if (this.stopped) return;
    this.opening = true;
    this.attempts += 1;
    let opened = true;
    try {
      await this.open();
    } catch (e) {
      console.warn('visavis: the signaling socket could not be opened again', e);
      opened = false;
    }
    this.opening = false;
    if (!opened) this.lost();
  }
}
