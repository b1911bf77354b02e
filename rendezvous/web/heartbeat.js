// Is the page's socket to rendezvous still carrying anything? A phone's connection can die
// without either end being told (a 4G handover, a tunnel): the socket then looks open for
// minutes while nothing arrives, and rendezvous holds the guest's place only for a while.
// So while the socket is open the page sends `ping` every `everyMs`; rendezvous answers
// `pong` at once. Hearing nothing at all (no pong, no other message) for `deadMs`, the page
// takes the socket for dead (signaling.js then gives it up and resumes on a new one).
// Pure logic on an injected clock: test/heartbeat.test.js runs it on simulated time.

/** How often the page pings, and how long a silence means a dead socket (milliseconds). */
export const HEARTBEAT = Object.freeze({
  everyMs: 4000,
  deadMs: 10000,
});

const realClock = {
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (id) => clearTimeout(id),
  now: () => Date.now(),
};

export class Heartbeat {
  /**
   * @param {object} opts
   * @param {() => void} opts.ping send a `ping`
   * @param {() => void} opts.onDead nothing heard for `deadMs`: the socket is dead
   * @param {{setTimeout: Function, clearTimeout: Function, now: () => number}} [opts.clock]
   * @param {typeof HEARTBEAT} [opts.limits]
   */
  constructor({ ping, onDead, clock = realClock, limits = HEARTBEAT }) {
    this.ping = ping;
    this.onDead = onDead;
    this.clock = clock;
    this.limits = limits;
    this.lastHeard = 0;
    this.timer = null;
  }

  /** The socket opened: start pinging. */
  start() {
    this.stop();
    this.lastHeard = this.clock.now();
    this.#schedule();
  }

  /** Anything arrived on the socket. */
  heard() {
    this.lastHeard = this.clock.now();
  }

  /** The socket closed (or is given up): no more pings. */
  stop() {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  #schedule() {
    this.timer = this.clock.setTimeout(() => this.#tick(), this.limits.everyMs);
  }

  #tick() {
    this.timer = null;
    if (this.clock.now() - this.lastHeard >= this.limits.deadMs) {
      this.onDead();
      return;
    }
    this.ping();
    this.#schedule();
  }
}
