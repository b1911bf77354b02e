// The guest page's decisions, as pure functions of what happened and of the screen shown
// (body[data-state]): what a server message or an error code leads to, what the socket
// closing or the call's connection state means, which permission problem to explain.
// main.js carries the returned actions out on the DOM; test/state.test.js checks them
// with node, without a browser. Words are i18n keys: the page's language picks the text.
//
// Actions ({do: ...}):
//   wait                        the waiting screen
//   media {iceServers, guestId} start the camera, then the call (guestId: to resume with)
//   resignal                    the socket closed during the call: open another, resume
//   resumed {unitHere}          the new socket took the guest's place again; unitHere: the
//                               unit is connected (true), away (false) or not said (null)
//   signal {payload}            SDP/ICE for the call
//   finish {screen, title, text, again}   a final message screen (denied, ended)
//   fail {key, detail}          the error screen, `key` its text
//   invalid {reason, again}     the invalid-invite screen for `reason`
//   name-error {key}            the inline error under the name field
//   unit-offline {note}         the unit is away: reconnect.js retries its offer (or a note)
//   unit-back                   the unit is connected again: a reconnecting call offers now
//   log {note}                  nothing to show: a console note only
// Data-channel actions (dataAction): full_layer {on} (send the camera's full layer or not),
// small_layer_rate {kbps, fps} (the most the small layer may send), picture_held {held}
// (the others do not see this guest while their picture comes faster than asked),
// welcome {text, othersVideo} (where the call is; whether
// the camera's small layer goes to other guests), camera {on}, chat {name, text} and
// reaction {name, reaction} (another guest's), speaking {name, speaking}, watching {count},
// others {others: [{slot, name}]} (whose pictures the slots carry),
// looks (looks.js decides).
//   none                        nothing at all

import { FORWARD_SLOTS, MAX_CHAT_CHARS, MAX_NAME_CHARS, REACTIONS } from './limits.js';
import { othersOk } from './others.js';

/** Screens where the call is under way: its media does not go through the server. */
export const CALL_SCREENS = ['connecting', 'in-call', 'permission-denied'];

/** Error codes only a unit gets: a guest page receiving one is something unexpected. */
export const UNIT_ONLY_CODES = [
  'unauthorized',
  'revoked',
  'enrollment_refused',
  'invalid_field',
  'unknown_guest',
  'too_many_invites',
  'replaced',
];

export const inCall = (screen) => CALL_SCREENS.includes(screen);

const log = (note) => ({ do: 'log', note });
const fail = (key, detail) => ({ do: 'fail', key, detail });
const invalid = (reason) => ({ do: 'invalid', reason, again: reason === 'rate-limited' });
const DENIED = { do: 'finish', screen: 'denied', title: 'denied.title', text: 'denied.text', again: true };
const ENDED = { do: 'finish', screen: 'ended', title: 'ended.title', text: 'ended.text', again: false };
/** Turned away during the call: the unit no longer has this guest (they were gone too long). */
const REMOVED = { do: 'finish', screen: 'ended', title: 'removed.title', text: 'removed.text', again: false };
/** The page came back after rendezvous let its place go (its socket was away too long). */
const PLACE_ENDED = { do: 'finish', screen: 'ended', title: 'place_ended.title', text: 'place_ended.text', again: false };

/** The guest's name as sent (trimmed), or the i18n key of what is wrong with it. */
export function checkName(raw) {
  const name = String(raw ?? '').trim();
  if (!name) return { error: 'join.name_empty' };
  if ([...name].length > MAX_NAME_CHARS) return { error: 'join.name_too_long' };
  if (/\p{Cc}/u.test(name)) return { error: 'join.name_invalid' };
  return { name };
}

/** What to do with a message from rendezvous (ServerToGuest) on `screen`. */
export function serverAction(msg, screen) {
  switch (msg?.type) {
    case 'waiting':
      return { do: 'wait' };
    case 'admitted':
      return {
        do: 'media',
        iceServers: Array.isArray(msg.ice_servers) ? msg.ice_servers : [],
        guestId: typeof msg.guest_id === 'string' ? msg.guest_id : null,
      };
    case 'resumed':
      // A `unit_back` written into the old socket may have died with it: this says it again.
      return inCall(screen)
        ? { do: 'resumed', unitHere: typeof msg.unit_here === 'boolean' ? msg.unit_here : null }
        : log('resumed outside a call');
    case 'signal':
      // seq: the signal's number, to resume with (null from a server that numbers none).
      return { do: 'signal', payload: msg.payload, seq: Number.isSafeInteger(msg.seq) && msg.seq > 0 ? msg.seq : null };
    case 'denied':
      return inCall(screen) ? REMOVED : DENIED;
    case 'session_ended':
      return ENDED;
    case 'unit_back':
      return { do: 'unit-back' };
    case 'unit_away':
      return inCall(screen) ? { do: 'unit-away' } : log('the unit went away before the call');
    case 'error':
      return errorAction(msg.code, screen, msg.message);
    default:
      return log(`unknown message ${msg?.type}`);
  }
}

/** What an `error` message with `code` leads to on `screen`: chosen by the code alone. */
export function errorAction(code, screen, message = '') {
  switch (code) {
    case 'invalid_name':
      return { do: 'name-error', key: 'join.name_invalid' };
    case 'bad_message':
      return log(`the server did not understand a message: ${message}`);
    case 'device_offline':
      // During a call the media flows without the server: keep it. A restart's offer that
      // did not reach the unit is tried again (reconnect.js).
      return inCall(screen) ? { do: 'unit-offline', note: message } : fail('error.device_offline', message);
    case 'invite_unknown':
      return invalid('unknown');
    case 'invite_expired':
      return invalid('expired');
    case 'session_ended':
      return ENDED;
    case 'rate_limited':
      return invalid('rate-limited');
    case 'session_full':
      return fail('error.full');
    case 'place_ended':
      return PLACE_ENDED;
    case 'not_allowed':
      return inCall(screen) ? log(`refused: ${message}`) : fail('error.not_allowed', message);
    case 'internal':
      return fail('error.internal', message);
    default:
      return fail('error.unexpected', `${code}: ${message}`);
  }
}

/** What the signaling socket closing means (`wasOpen`: it had opened; `finished`: the page is done). */
export function closeAction(screen, { wasOpen, finished }) {
  if (finished) return { do: 'none' };
  // The call's media does not go through the server; it carries on (or fails on its own),
  // and the page opens a new socket to resume its place (reconnect.js, SignalingRetry).
  if (inCall(screen)) return { do: 'resignal' };
  if (!wasOpen) return { do: 'unreachable' };
  if (screen === 'join') return { do: 'join-idle' };
  return fail('error.lost');
}

/** What the call's RTCPeerConnection state `connection` means on `screen`. */
export function connectionAction(connection, screen, finished) {
  if (finished) return { do: 'none' };
  switch (connection) {
    case 'connected':
      return { do: 'connected', enter: screen !== 'in-call' };
    case 'disconnected':
      return { do: 'status', key: 'call.reconnecting' };
    case 'failed':
      // Once in the call, reconnect.js restarts ICE; before, the network is likely blocking it.
      return screen === 'in-call' ? { do: 'status', key: 'call.reconnecting' } : fail('error.connection_failed', 'ICE failed');
    default:
      return { do: 'none' };
  }
}

/** Which permission problem a getUserMedia error is: 'insecure' | 'denied' | 'no_device'. */
export function permissionKind(errorName) {
  if (errorName === 'InsecureContext') return 'insecure';
  if (errorName === 'NotAllowedError' || errorName === 'SecurityError') return 'denied';
  return 'no_device';
}

/** What a data-channel message from the unit (UnitMessage) is for. */
export function dataAction(msg) {
  if (!msg || typeof msg !== 'object') return { do: 'none' };
  if (msg.type === 'welcome') {
    const text = typeof msg.location === 'string' ? msg.location : '';
    return { do: 'welcome', text, othersVideo: msg.others_video === true };
  }
  if (msg.type === 'camera') return typeof msg.on === 'boolean' ? { do: 'camera', on: msg.on } : { do: 'none' };
  // Whether the unit shows the camera's full layer (not while its screen shows small tiles).
  if (msg.type === 'full_layer') return typeof msg.on === 'boolean' ? { do: 'full_layer', on: msg.on } : { do: 'none' };
  // What the small layer (the others' picture of this guest) may send.
  if (msg.type === 'small_layer_rate') {
    const ok = [msg.max_kbps, msg.max_fps].every((n) => Number.isInteger(n) && n >= 1 && n <= 100_000);
    return ok ? { do: 'small_layer_rate', kbps: msg.max_kbps, fps: msg.max_fps } : { do: 'none' };
  }
  // The others do not see this guest for now: their picture came faster than asked.
  if (msg.type === 'picture_held') return typeof msg.held === 'boolean' ? { do: 'picture_held', held: msg.held } : { do: 'none' };
  // What another guest in the call said or did, and how many are watching.
  if (msg.type === 'chat') {
    const ok = nameOk(msg.name) && typeof msg.text === 'string' && msg.text.trim() && [...msg.text].length <= MAX_CHAT_CHARS;
    return ok ? { do: 'chat', name: msg.name, text: msg.text } : { do: 'none' };
  }
  if (msg.type === 'reaction') {
    const ok = nameOk(msg.name) && REACTIONS.some((r) => r.name === msg.reaction);
    return ok ? { do: 'reaction', name: msg.name, reaction: msg.reaction } : { do: 'none' };
  }
  if (msg.type === 'speaking') {
    const ok = nameOk(msg.name) && typeof msg.speaking === 'boolean';
    return ok ? { do: 'speaking', name: msg.name, speaking: msg.speaking } : { do: 'none' };
  }
  if (msg.type === 'others') {
    return othersOk(msg.others, FORWARD_SLOTS, nameOk) ? { do: 'others', others: msg.others } : { do: 'none' };
  }
  if (msg.type === 'watching') {
    return Number.isInteger(msg.count) && msg.count >= 0 ? { do: 'watching', count: msg.count } : { do: 'none' };
  }
  return { do: 'looks' }; // looks.js takes the rest and ignores what is not about looks
}

/** A sender's name as the unit sends it: a non-empty string of at most MAX_NAME_CHARS. */
function nameOk(name) {
  return typeof name === 'string' && name.trim() !== '' && [...name].length <= MAX_NAME_CHARS;
}
