// heartbeat.js on simulated time: pings while answered, a dead socket noticed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HEARTBEAT, Heartbeat } from '../heartbeat.js';

/** A clock whose time only moves when told; timers fire in order. */
class FakeClock {
  constructor() {
    this.t = 0;
    this.nextId = 1;
    this.timers = new Map();
  }

  now() {
    return this.t;
  }

  setTimeout(f, ms) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + ms, f });
    return id;
  }

  clearTimeout(id) {
    this.timers.delete(id);
  }

  advance(ms) {
    const end = this.t + ms;
    for (;;) {
      let due = null;
      for (const [id, timer] of this.timers) {
        if (timer.at <= end && (due === null || timer.at < due[1].at)) due = [id, timer];
      }
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].f();
    }
    this.t = end;
  }
}

function beat() {
  const clock = new FakeClock();
  const seen = { pings: 0, dead: 0 };
  const hb = new Heartbeat({ ping: () => (seen.pings += 1), onDead: () => (seen.dead += 1), clock });
  return { clock, seen, hb };
}

test('a socket that answers is pinged every few seconds and never taken for dead', () => {
  const { clock, seen, hb } = beat();
  hb.start();
  for (let i = 0; i < 30; i++) {
    clock.advance(HEARTBEAT.everyMs);
    hb.heard(); // the pong
  }
  assert.equal(seen.pings, 30);
  assert.equal(seen.dead, 0);
});

test('a socket that goes silent is taken for dead once, within a ping and a dead time', () => {
  const { clock, seen, hb } = beat();
  hb.start();
  clock.advance(HEARTBEAT.everyMs);
  hb.heard();
  const silentFrom = clock.now();
  clock.advance(HEARTBEAT.deadMs + HEARTBEAT.everyMs);
  assert.equal(seen.dead, 1);
  // It stops there: no more pings, no second verdict.
  const pings = seen.pings;
  clock.advance(10 * HEARTBEAT.everyMs);
  assert.equal(seen.pings, pings);
  assert.equal(seen.dead, 1);
  assert.ok(clock.now() - silentFrom >= HEARTBEAT.deadMs);
});

test('any message counts as heard, and a stopped heartbeat says nothing', () => {
  const { clock, seen, hb } = beat();
  hb.start();
  for (let i = 0; i < 10; i++) {
    clock.advance(HEARTBEAT.deadMs / 2);
    hb.heard(); // a signal from the unit, a chat line
  }
  assert.equal(seen.dead, 0);
  hb.stop();
  clock.advance(10 * HEARTBEAT.deadMs);
  assert.equal(seen.dead, 0);
  const pings = seen.pings;
  clock.advance(HEARTBEAT.everyMs);
  assert.equal(seen.pings, pings);
});
