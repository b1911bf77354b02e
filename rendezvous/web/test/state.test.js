// The guest page's decisions (state.js), with node's test runner: no browser, no DOM.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ERROR_CODES, MAX_NAME_CHARS } from '../limits.js';
import {
  CALL_SCREENS,
  UNIT_ONLY_CODES,
  checkName,
  closeAction,
  connectionAction,
  dataAction,
  errorAction,
  permissionKind,
  serverAction,
} from '../state.js';

const error = (code, message = 'why') => ({ type: 'error', code, message });

test('a 17th guest is told the call is full, in words chosen by the code', () => {
  const action = serverAction(error('session_full', 'this call already has 16 guests'), 'join');
  assert.deepEqual(action, { do: 'fail', key: 'error.full', detail: undefined });
  // Only the code counts: a message mentioning "full" under another code is not "full".
  assert.equal(serverAction(error('not_allowed', 'the queue is full'), 'join').key, 'error.not_allowed');
});

test('every code a guest can get has its own screen; unit-only codes are unexpected', () => {
  for (const code of ERROR_CODES) {
    const action = errorAction(code, 'waiting', 'm');
    if (UNIT_ONLY_CODES.includes(code)) {
      assert.deepEqual(action, { do: 'fail', key: 'error.unexpected', detail: `${code}: m` }, code);
    } else {
      assert.notEqual(action.key, 'error.unexpected', `${code} has no screen of its own`);
    }
  }
  for (const code of UNIT_ONLY_CODES) assert.ok(ERROR_CODES.includes(code), `${code} is no ErrorCode`);
  assert.equal(errorAction('no_such_code', 'join', 'm').key, 'error.unexpected');
});

test('invite problems show the invalid-invite screen with their reason', () => {
  assert.deepEqual(errorAction('invite_unknown', 'join'), { do: 'invalid', reason: 'unknown', again: false });
  assert.deepEqual(errorAction('invite_expired', 'join'), { do: 'invalid', reason: 'expired', again: false });
  assert.deepEqual(errorAction('rate_limited', 'join'), { do: 'invalid', reason: 'rate-limited', again: true });
  assert.equal(errorAction('session_ended', 'waiting').screen, 'ended');
});

test('a refused name stays on the join form; a bad message is only logged', () => {
  assert.deepEqual(errorAction('invalid_name', 'join'), { do: 'name-error', key: 'join.name_invalid' });
  assert.equal(errorAction('bad_message', 'waiting').do, 'log');
});

test('during a call, an offline unit or a refusal keeps the call', () => {
  for (const screen of CALL_SCREENS) {
    assert.deepEqual(errorAction('device_offline', screen, 'away'), { do: 'unit-offline', note: 'away' }, screen);
    assert.equal(errorAction('not_allowed', screen).do, 'log', screen);
  }
  assert.deepEqual(errorAction('device_offline', 'waiting', 'gone'), {
    do: 'fail',
    key: 'error.device_offline',
    detail: 'gone',
  });
  assert.equal(errorAction('not_allowed', 'join').key, 'error.not_allowed');
});

test('server messages lead to their screens', () => {
  assert.deepEqual(serverAction({ type: 'waiting' }, 'join'), { do: 'wait' });
  const ice = [{ urls: ['stun:example.org'] }];
  assert.deepEqual(serverAction({ type: 'admitted', ice_servers: ice, guest_id: 'g-1' }, 'waiting'), {
    do: 'media',
    iceServers: ice,
    guestId: 'g-1',
  });
  assert.deepEqual(serverAction({ type: 'admitted' }, 'waiting'), { do: 'media', iceServers: [], guestId: null });
  const denied = serverAction({ type: 'denied' }, 'waiting');
  assert.equal(denied.screen, 'denied');
  assert.equal(denied.again, true);
  // Turned away during the call (gone too long after a blip): the call is over, said so.
  const removed = serverAction({ type: 'denied' }, 'in-call');
  assert.equal(removed.screen, 'ended');
  assert.equal(removed.title, 'removed.title');
  assert.equal(removed.again, false);
  // Back after rendezvous let the held place go: the call is over, said so.
  const late = serverAction(error('place_ended', 'your place in the call has ended'), 'in-call');
  assert.equal(late.screen, 'ended');
  assert.equal(late.title, 'place_ended.title');
  assert.equal(late.text, 'place_ended.text');
  assert.equal(late.again, false);
  assert.deepEqual(serverAction({ type: 'unit_back' }, 'in-call'), { do: 'unit-back' });
  assert.deepEqual(serverAction({ type: 'unit_away' }, 'in-call'), { do: 'unit-away' });
  assert.equal(serverAction({ type: 'unit_away' }, 'waiting').do, 'log');
  const ended = serverAction({ type: 'session_ended' }, 'in-call');
  assert.equal(ended.screen, 'ended');
  assert.equal(ended.again, false);
  const payload = { kind: 'answer', sdp: 'v=0' };
  assert.deepEqual(serverAction({ type: 'signal', payload, seq: 3 }, 'connecting'), { do: 'signal', payload, seq: 3 });
  for (const seq of [undefined, 0, -1, 1.5, '3', 2 ** 60]) {
    assert.equal(serverAction({ type: 'signal', payload, seq }, 'in-call').seq, null, `seq ${seq}`);
  }
  assert.equal(serverAction({ type: 'dance' }, 'join').do, 'log');
  assert.equal(serverAction(null, 'join').do, 'log');
});

test('the socket closing: the call carries on, the join form frees up, otherwise an error', () => {
  assert.equal(closeAction('in-call', { wasOpen: true, finished: true }).do, 'none');
  // During the call the socket is opened again to resume (rendezvous restarted, say).
  for (const screen of CALL_SCREENS) assert.equal(closeAction(screen, { wasOpen: true, finished: false }).do, 'resignal');
  assert.equal(closeAction('in-call', { wasOpen: false, finished: false }).do, 'resignal');
  assert.equal(serverAction({ type: 'resumed' }, 'in-call').do, 'resumed');
  // Whether the unit is here: a lost `unit_back` must not leave the page counting down.
  assert.equal(serverAction({ type: 'resumed', unit_here: true }, 'in-call').unitHere, true);
  assert.equal(serverAction({ type: 'resumed', unit_here: false }, 'in-call').unitHere, false);
  assert.equal(serverAction({ type: 'resumed' }, 'in-call').unitHere, null);
  assert.equal(serverAction({ type: 'resumed', unit_here: 'yes' }, 'in-call').unitHere, null);
  assert.equal(serverAction({ type: 'resumed' }, 'join').do, 'log');
  assert.equal(closeAction('join', { wasOpen: false, finished: false }).do, 'unreachable');
  assert.equal(closeAction('join', { wasOpen: true, finished: false }).do, 'join-idle');
  assert.deepEqual(closeAction('waiting', { wasOpen: true, finished: false }), {
    do: 'fail',
    key: 'error.lost',
    detail: undefined,
  });
});

test('the connection state: in-call once connected, reconnecting while unstable, an error when the first connection fails', () => {
  assert.deepEqual(connectionAction('connected', 'connecting', false), { do: 'connected', enter: true });
  assert.deepEqual(connectionAction('connected', 'in-call', false), { do: 'connected', enter: false });
  assert.deepEqual(connectionAction('disconnected', 'in-call', false), { do: 'status', key: 'call.reconnecting' });
  assert.deepEqual(connectionAction('failed', 'in-call', false), { do: 'status', key: 'call.reconnecting' });
  assert.equal(connectionAction('failed', 'connecting', false).key, 'error.connection_failed');
  assert.equal(connectionAction('failed', 'ended', true).do, 'none');
  assert.equal(connectionAction('checking', 'connecting', false).do, 'none');
});

test('names: trimmed, not empty, not too long, no control characters', () => {
  assert.deepEqual(checkName('  Camille '), { name: 'Camille' });
  assert.deepEqual(checkName('   '), { error: 'join.name_empty' });
  assert.deepEqual(checkName('é'.repeat(MAX_NAME_CHARS)), { name: 'é'.repeat(MAX_NAME_CHARS) });
  assert.deepEqual(checkName('é'.repeat(MAX_NAME_CHARS + 1)), { error: 'join.name_too_long' });
  assert.deepEqual(checkName('a\u0007b'), { error: 'join.name_invalid' });
});

test('permission problems and data-channel messages', () => {
  assert.equal(permissionKind('InsecureContext'), 'insecure');
  assert.equal(permissionKind('NotAllowedError'), 'denied');
  assert.equal(permissionKind('SecurityError'), 'denied');
  assert.equal(permissionKind('NotFoundError'), 'no_device');
  assert.deepEqual(dataAction({ type: 'welcome', mode: 'table', location: 'Table 4', others_video: true }), {
    do: 'welcome',
    text: 'Table 4',
    othersVideo: true,
  });
  assert.deepEqual(dataAction({ type: 'welcome', location: '' }), { do: 'welcome', text: '', othersVideo: false });
  assert.equal(dataAction({ type: 'welcome', location: 4, others_video: 'yes' }).othersVideo, false);
  assert.deepEqual(dataAction({ type: 'camera', on: false }), { do: 'camera', on: false });
  assert.equal(dataAction({ type: 'camera', on: 'no' }).do, 'none');
  assert.equal(dataAction({ type: 'tally', round: 1, votes: [] }).do, 'looks');
  assert.equal(dataAction('text').do, 'none');
});

test('what other guests say and do is shown with their name; anything malformed is not', () => {
  assert.deepEqual(dataAction({ type: 'chat', name: 'Léa', text: 'the blue one' }), {
    do: 'chat',
    name: 'Léa',
    text: 'the blue one',
  });
  assert.deepEqual(dataAction({ type: 'reaction', name: 'Léa', reaction: 'fire' }), {
    do: 'reaction',
    name: 'Léa',
    reaction: 'fire',
  });
  assert.deepEqual(dataAction({ type: 'watching', count: 3 }), { do: 'watching', count: 3 });
  assert.deepEqual(dataAction({ type: 'full_layer', on: false }), { do: 'full_layer', on: false });
  assert.deepEqual(dataAction({ type: 'small_layer_rate', max_kbps: 50, max_fps: 15 }), {
    do: 'small_layer_rate',
    kbps: 50,
    fps: 15,
  });
  assert.deepEqual(dataAction({ type: 'picture_held', held: true }), { do: 'picture_held', held: true });
  assert.deepEqual(dataAction({ type: 'speaking', name: 'Jo', speaking: true }), {
    do: 'speaking',
    name: 'Jo',
    speaking: true,
  });
  for (const bad of [
    { type: 'speaking', name: 'Jo' },
    { type: 'speaking', name: 'Jo', speaking: 'yes' },
    { type: 'speaking', name: '', speaking: true },
    { type: 'chat', text: 'no name' },
    { type: 'chat', name: 'Léa', text: '   ' },
    { type: 'chat', name: 'Léa', text: 'x'.repeat(281) },
    { type: 'chat', name: 'x'.repeat(41), text: 'hi' },
    { type: 'reaction', name: 'Léa', reaction: 'poop' },
    { type: 'reaction', reaction: 'fire' },
    { type: 'watching', count: -1 },
    { type: 'watching', count: '3' },
    { type: 'full_layer' },
    { type: 'full_layer', on: 'no' },
    { type: 'small_layer_rate', max_kbps: 50 },
    { type: 'small_layer_rate', max_kbps: 0, max_fps: 15 },
    { type: 'small_layer_rate', max_kbps: '50', max_fps: 15 },
    { type: 'small_layer_rate', max_kbps: 50, max_fps: 1.5 },
    { type: 'picture_held' },
    { type: 'picture_held', held: 1 },
  ]) {
    assert.deepEqual(dataAction(bad), { do: 'none' }, JSON.stringify(bad));
  }
});
