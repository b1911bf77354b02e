// reconnect.js on simulated time: when the page restarts ICE after a blip, how it retries,
// and when it gives up.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RECONNECT, RESIGNAL, Reconnector, SignalingRetry } from '../reconnect.js';

/** A clock whose time only moves when told; timers fire in order. */
class FakeClock {
  constructor() {
    this.now = 0;
    this.nextId = 1;
    this.timers = new Map();
  }

  setTimeout(f, ms) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now + ms, f });
    return id;
  }

  clearTimeout(id) {
    this.timers.delete(id);
  }

  /** Move time on by `ms`, firing every timer due, and let promises settle after each. */
  async advance(ms) {
    const end = this.now + ms;
    for (;;) {
      await settle();
      let due = null;
      for (const [id, t] of this.timers) {
        if (t.at <= end && (due === null || t.at < due[1].at)) due = [id, t];
      }
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].f();
    }
    this.now = end;
    await settle();
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function setUp({ random = () => 0.5, restart } = {}) {
  const clock = new FakeClock();
  const offers = [];
  const gaveUp = [];
  const r = new Reconnector({
    clock,
    random,
    restart:
      restart ??
      (async () => {
        offers.push(clock.now);
      }),
    onGiveUp: () => gaveUp.push(clock.now),
  });
  r.connection('connected');
  return { clock, r, offers, gaveUp };
}

test('a disconnection that heals within the grace restarts nothing', async () => {
  const { clock, r, offers } = setUp();
  r.connection('disconnected');
  assert.equal(r.reconnecting, true);
  await clock.advance(RECONNECT.graceMs - 1);
  r.connection('connected');
  await clock.advance(120000);
  assert.deepEqual(offers, []);
  assert.equal(r.reconnecting, false);
});

test('a disconnection past the grace restarts ICE once, and the connection coming back ends it', async () => {
  const { clock, r, offers, gaveUp } = setUp();
  r.connection('disconnected');
  await clock.advance(RECONNECT.graceMs);
  assert.deepEqual(offers, [RECONNECT.graceMs]);
  r.connection('failed'); // an offer is out: its own timer retries, not this
  await clock.advance(1000);
  assert.equal(offers.length, 1);
  r.connection('connected');
  assert.equal(r.reconnecting, false);
  assert.equal(r.restarts, 1);
  await clock.advance(120000);
  assert.equal(offers.length, 1);
  assert.deepEqual(gaveUp, []);
});

test('a failed connection restarts at once; an offer without a connection is made again', async () => {
  const { clock, r, offers } = setUp();
  r.connection('failed');
  await clock.advance(0);
  assert.deepEqual(offers, [0]);
  await clock.advance(RECONNECT.answerWaitMs);
  assert.deepEqual(offers, [0, RECONNECT.answerWaitMs]);
});

test('an offline unit is retried with a doubling, capped, jittered back-off', async () => {
  for (const jitter of [0, 0.999]) {
    const { clock, r, offers } = setUp({ random: () => jitter });
    r.connection('failed');
    await clock.advance(0);
    const waits = [];
    for (let i = 0; i < 6; i += 1) {
      assert.equal(r.deviceOffline(), true);
      assert.equal(r.deviceOffline(), false, 'the same offer refused twice (its candidates) counts once');
      const before = offers.length;
      const from = clock.now;
      while (offers.length === before) await clock.advance(10);
      waits.push(clock.now - from);
    }
    const ceilings = [1000, 2000, 4000, 8000, 8000, 8000];
    waits.forEach((wait, i) => {
      assert.ok(wait >= ceilings[i] / 2 && wait <= ceilings[i] + 10, `wait ${i}: ${wait} (jitter ${jitter})`);
    });
  }
});

test('it gives up after the long bound, once, and says so', async () => {
  const { clock, r, offers, gaveUp } = setUp();
  r.connection('failed');
  await clock.advance(0);
  for (let t = 0; t < RECONNECT.giveUpMs; t += 500) {
    r.deviceOffline();
    await clock.advance(500);
  }
  assert.deepEqual(gaveUp, [RECONNECT.giveUpMs]);
  const sent = offers.length;
  assert.ok(sent > 5, `kept trying until then: ${sent} offers`);
  await clock.advance(120000);
  assert.equal(offers.length, sent, 'nothing after giving up');
  r.connection('failed');
  await clock.advance(120000);
  assert.equal(offers.length, sent);
});

test('an offer that could not be sent is tried again later', async () => {
  const clock = new FakeClock();
  let calls = 0;
  const r = new Reconnector({
    clock,
    random: () => 0.5,
    restart: async () => {
      calls += 1;
      if (calls === 1) throw new Error('the signaling socket is closed');
    },
    onGiveUp: () => {},
  });
  r.connection('connected');
  r.connection('failed');
  await clock.advance(0);
  assert.equal(calls, 1);
  await clock.advance(750);
  assert.equal(calls, 2);
});

test('before the first connection, and once stopped, nothing restarts', async () => {
  const clock = new FakeClock();
  const offers = [];
  const r = new Reconnector({ clock, restart: async () => offers.push(clock.now), onGiveUp: () => {} });
  r.connection('failed'); // the first connection failing has its own error screen
  await clock.advance(120000);
  assert.deepEqual(offers, []);
  r.connection('connected');
  r.connection('disconnected');
  r.stop(); // the session ended, or the guest left
  await clock.advance(120000);
  assert.deepEqual(offers, []);
  assert.equal(clock.timers.size, 0, 'no timer left behind');
});

test('an offer left unanswered when the old path came back is abandoned, once, later', async () => {
  const clock = new FakeClock();
  const abandoned = [];
  const r = new Reconnector({
    clock,
    random: () => 0.5,
    restart: async () => {},
    abandon: async () => abandoned.push(clock.now),
    onGiveUp: () => {},
  });
  r.connection('connected');
  r.connection('failed');
  await clock.advance(1000);
  r.connection('connected'); // consent came back on the old pair before any answer
  await clock.advance(RECONNECT.answerWaitMs - 1);
  assert.deepEqual(abandoned, []);
  await clock.advance(1);
  assert.deepEqual(abandoned, [1000 + RECONNECT.answerWaitMs]);
  await clock.advance(120000);
  assert.equal(abandoned.length, 1);

  // A new blip before that time: the new restart replaces the offer itself.
  r.connection('failed');
  await clock.advance(1000);
  r.connection('connected');
  r.connection('disconnected');
  await clock.advance(RECONNECT.answerWaitMs);
  assert.equal(abandoned.length, 1);

  // A trouble without any offer (healed within the grace) abandons nothing.
  r.connection('connected');
  await clock.advance(120000);
  const before = abandoned.length;
  r.connection('disconnected');
  r.connection('connected');
  await clock.advance(120000);
  assert.equal(abandoned.length, before);
});

test('the unit coming back makes a reconnecting call offer at once, and nothing else', async () => {
  const { clock, r, offers } = setUp();
  assert.equal(r.unitBack(), false, 'nothing to do while the call is fine');
  r.connection('failed');
  await clock.advance(0);
  assert.deepEqual(offers, [0]);
  await clock.advance(3000); // the offer went out to a unit that was away
  assert.equal(r.unitBack(), true);
  await clock.advance(0);
  assert.deepEqual(offers, [0, 3000]);
  // The next try is counted from this offer.
  await clock.advance(RECONNECT.answerWaitMs - 1);
  assert.equal(offers.length, 2);
  await clock.advance(1);
  assert.equal(offers.length, 3);
  r.connection('connected');
  assert.equal(r.unitBack(), false);
});

test('a socket lost during the call is opened again with back-off until the guest resumes', async () => {
  const clock = new FakeClock();
  const opened = [];
  let reachable = false;
  const retry = new SignalingRetry({
    clock,
    random: () => 1, // the longest wait of each step: 1, 2, 4 s…
    open: async () => {
      opened.push(clock.now);
      if (!reachable) throw new Error('refused');
    },
  });
  retry.lost(); // rendezvous went away
  await clock.advance(999);
  assert.deepEqual(opened, [], 'not at once');
  await clock.advance(1);
  assert.deepEqual(opened, [1000]);
  await clock.advance(2000 + 4000);
  assert.deepEqual(opened, [1000, 3000, 7000], 'doubling while it cannot connect');
  reachable = true; // rendezvous is back
  await clock.advance(8000);
  assert.deepEqual(opened, [1000, 3000, 7000, 15000]);
  assert.equal(retry.lostSocket, true, 'opened, not resumed yet');
  // The server said device_offline (the unit has not named the guest yet) and closed it.
  retry.lost();
  await clock.advance(16000);
  assert.deepEqual(opened.slice(4), [31000]);
  retry.resumed();
  assert.equal(retry.lostSocket, false);
  assert.equal(retry.resumes, 1);
  // A later loss starts from the first wait again.
  retry.lost();
  await clock.advance(1000);
  assert.equal(opened.at(-1), 32000);
});

test('the network coming back or the page shown again tries at once', async () => {
  const clock = new FakeClock();
  const opened = [];
  let reachable = false;
  const retry = new SignalingRetry({
    clock,
    random: () => 1,
    open: async () => {
      opened.push(clock.now);
      if (!reachable) throw new Error('offline');
    },
  });
  retry.now();
  assert.deepEqual(opened, [], 'nothing to retry before the socket was lost');
  retry.lost(); // the phone's connection dropped
  await clock.advance(1000);
  await clock.advance(500);
  assert.deepEqual(opened, [1000], 'the first try failed; the next waits 2 s');
  reachable = true;
  retry.now(); // the screen is unlocked, or the network is back
  await clock.advance(0);
  assert.deepEqual(opened, [1000, 1500], 'at once, not at 3000');
  await clock.advance(10000);
  assert.deepEqual(opened, [1000, 1500], 'no other try was left waiting');
  retry.now();
  await clock.advance(0);
  assert.equal(opened.length, 2, 'nothing while the socket is open');
});

test('the wait between tries never passes its ceiling, and stopping ends the tries', async () => {
  const clock = new FakeClock();
  const opened = [];
  const retry = new SignalingRetry({
    clock,
    random: () => 1,
    open: async () => {
      opened.push(clock.now);
      throw new Error('refused');
    },
  });
  retry.lost();
  await clock.advance(200000);
  const gaps = opened.slice(1).map((at, i) => at - opened[i]);
  assert.ok(gaps.every((g) => g <= RESIGNAL.maxRetryMs), `${gaps}`);
  assert.equal(Math.max(...gaps), RESIGNAL.maxRetryMs);
  retry.stop();
  const tries = opened.length;
  await clock.advance(200000);
  assert.equal(opened.length, tries);
  // Two losses at once make one try, not two.
  const again = new SignalingRetry({ clock, random: () => 0, open: async () => opened.push(clock.now) });
  again.lost();
  again.lost();
  await clock.advance(1000);
  assert.equal(opened.length, tries + 1);
});
