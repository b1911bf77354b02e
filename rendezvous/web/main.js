// The Visavis guest app: join with a name, wait to be let in, then a live call with the unit.
// States (body[data-state]): join → waiting → connecting → in-call, or permission-denied,
// denied, ended, error, invalid-invite; load-failed (set by boot.js) when this module never
// ran. A network blip during the call keeps `in-call` with a "reconnecting…" line while
// reconnect.js restarts ICE (no new join). Before joining the page says where the invite
// leads and offers "Send to friends" (where.js); while waiting, an optional camera check
// (seen only by the guest). In the call, the bar (bar.js): mic and camera toggles,
// reactions, chat (chat.js: #chat-text, #chat-send, #chat-log), Leave with a confirm;
// votes on the looks the room compares (looks.js: #compare); what other guests say and do,
// and how many watch. All on the "visavis" data channel through call.send().
// See docs/contracts.md, "The guest page".
// What each event leads to is decided in state.js (pure, tested with node); this file
// carries those actions out.

import { t, translatePage } from './i18n.js';
import { Signaling, inviteProblem } from './signaling.js';
import { Call, emptyStats } from './call.js';
import { Reconnector, SignalingRetry } from './reconnect.js';
import { REACTIONS, float, reactionMessage } from './reactions.js';
import { CallBar } from './bar.js';
import { shareData, shareLink, showWhere } from './where.js';
import { Looks } from './looks.js';
import { Chat } from './chat.js';
import { OtherGuests } from './others.js';
import { CAMERA_HEIGHT, CAMERA_WIDTH, MAX_NAME_CHARS } from './limits.js';
import { checkName, closeAction, connectionAction, dataAction, inCall, permissionKind, serverAction } from './state.js';
import * as ui from './ui.js';

const $ = (id) => document.getElementById(id);
const token = location.pathname.split('/').filter(Boolean).pop() ?? '';

let sig = null; // Signaling
let call = null; // Call
let reconnector = null; // Reconnector: restarts ICE after a blip
let resignal = null; // SignalingRetry: a new socket when the first closes during the call
let guestId = null; // the guest's own id (from `admitted`), to resume with
let signalsSeen = 0; // the number of the unit's last signal handled, to resume with
let localStream = null;
let iceServers = [];
let wakeLock = null;
let finished = false; // denied / ended / error: the page is done
const toUnit = (msg) => Boolean(call?.send(msg));
let looks = null; // Looks: "which one?" votes
let chat = null; // Chat
let bar = null; // CallBar
let others = null; // OtherGuests: the other guests' pictures
let info = null; // where the invite leads (where.js), or null
// The unit left rendezvous (`unit_away`): the page says the room is offline, and ends the
// call if the unit is not back while the media is down after UNIT_AWAY_GIVE_UP_MS.
const UNIT_AWAY_GIVE_UP_MS = 20000;
let unitAway = null; // its timer
let mediaUp = false; // the peer connection is `connected`

window.visavisGuest = {
  stats: () => (call ? call.stats() : Promise.resolve(emptyStats())),
  // The RTCRtpSender of the camera (its simulcast layers), for tests.
  cameraSender: () => call?.camera?.sender ?? null,
  // The other guests' pictures: [{slot, name, framesDecoded, frameWidth, frameHeight, ...}].
  others: async () => {
    const stats = call ? await call.slotStats() : [];
    return (others?.shown ?? []).map((o) => ({ ...o, ...stats.find((s) => s.slot === o.slot) }));
  },
  state: () => ui.state(),
  reconnect: () => ({ reconnecting: Boolean(reconnector?.reconnecting), restarts: reconnector?.restarts ?? 0 }),
  signaling: () => ({
    open: Boolean(sig?.isOpen),
    attempts: resignal?.attempts ?? 0,
    resumes: resignal?.resumes ?? 0,
    seen: signalsSeen,
  }),
};

// ---- join ----------------------------------------------------------------------------------

async function onJoin(event) {
  event.preventDefault();
  const { name, error } = checkName($('name').value);
  ui.joinError(error ? t(error, MAX_NAME_CHARS) : '');
  if (error) {
    $('name').focus();
    return;
  }
  ui.joinNotice('');
  ui.joinBusy(true);
  finished = false;
  if (!sig || !sig.isOpen) {
    sig = new Signaling(token, { onMessage, onClose });
    try {
      await sig.open();
    } catch {
      await explainUnreachable();
      return;
    }
  }
  sig.send({ type: 'join', name });
}

async function explainUnreachable() {
  const reason = await inviteProblem();
  if (reason) showInvalid(reason);
  else fail('error.network');
}

// ---- server messages -----------------------------------------------------------------------

function onMessage(msg) {
  act(serverAction(msg, ui.state()));
}

function onClose({ wasOpen, from }) {
  // An older socket closing late (rendezvous closed it when a newer one took the place).
  if (sig !== null && from !== sig) return;
  sig = null;
  act(closeAction(ui.state(), { wasOpen, finished }));
}

/** Carry out an action of state.js. */
function act(action) {
  switch (action.do) {
    case 'wait':
      ui.joinBusy(false);
      ui.setState('waiting');
      break;
    case 'media':
      iceServers = action.iceServers;
      guestId = action.guestId;
      signalsSeen = 0;
      resignal?.stop();
      resignal = new SignalingRetry({ open: resume });
      startMedia();
      break;
    case 'resignal':
      if (guestId && resignal) resignal.lost();
      else console.warn('visavis: lost the connection to the server');
      break;
    case 'resumed':
      resignal?.resumed();
      // The unit is here (a `unit_back` lost with the old socket would have said so), or
      // a restart's offer that found no socket goes out now. Away: `unit_away` follows.
      if (action.unitHere !== false) unitBack();
      break;
    case 'signal':
      if (action.seq !== null) signalsSeen = action.seq;
      call?.handleSignal(action.payload).catch((e) => console.warn('visavis: signal failed', e));
      break;
    case 'finish':
      finish(action.screen, { title: t(action.title), text: t(action.text), again: action.again });
      break;
    case 'fail':
      fail(action.key, action.detail);
      break;
    case 'invalid':
      showInvalid(action.reason);
      break;
    case 'name-error':
      ui.joinBusy(false);
      ui.joinError(t(action.key));
      break;
    case 'unreachable':
      explainUnreachable();
      break;
    case 'join-idle':
      ui.joinBusy(false);
      break;
    case 'connected':
      ui.callStatus('');
      if (action.enter) {
        ui.setState('in-call');
        keepScreenOn();
      }
      break;
    case 'status':
      // While the unit is away, that is what the guest needs to know, not "reconnecting".
      ui.callStatus(t(unitAway ? 'call.unit_away' : action.key));
      break;
    case 'unit-back':
      unitBack();
      break;
    case 'unit-away':
      ui.callStatus(t('call.unit_away'));
      clearTimeout(unitAway);
      unitAway = setTimeout(unitStillAway, UNIT_AWAY_GIVE_UP_MS);
      break;
    case 'unit-offline':
      if (!reconnector?.deviceOffline()) console.warn(`visavis: the unit is offline: ${action.note}`);
      break;
    case 'log':
      console.warn(`visavis: ${action.note}`);
      break;
    case 'none':
      break;
    default:
      console.warn('visavis: unknown action', action.do);
  }
}

// ---- media and call ------------------------------------------------------------------------

async function getMedia() {
  if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error('insecure'), { name: 'InsecureContext' });
  const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  // No more than the unit shows: a larger picture costs the guest's uplink and the unit's
  // decoder for nothing.
  const video = { facingMode: 'user', width: { ideal: CAMERA_WIDTH }, height: { ideal: CAMERA_HEIGHT } };
  try {
    return await navigator.mediaDevices.getUserMedia({ video, audio });
  } catch (e) {
    if (e.name !== 'NotFoundError' && e.name !== 'OverconstrainedError' && e.name !== 'NotReadableError') throw e;
    // One of the two is missing or busy: take what there is.
    for (const constraints of [{ audio }, { video }]) {
      try {
        return await navigator.mediaDevices.getUserMedia(constraints);
      } catch {
        // try the next
      }
    }
    throw e;
  }
}

/** Whether `stream` still has a live track (a camera check's may be reused). */
const live = (stream) => Boolean(stream?.getTracks().some((track) => track.readyState === 'live'));

async function startMedia() {
  ui.setState('connecting');
  ui.callStatus(t('call.connecting'));
  hidePreview();
  if (!live(localStream)) {
    try {
      localStream = await getMedia();
    } catch (e) {
      showPermissionProblem(e);
      return;
    }
  }
  startCall(localStream);
}

// ---- the camera check while waiting: the guest's own picture, sent nowhere -----------------

async function cameraCheck() {
  const preview = $('preview');
  if (!preview.hidden) {
    for (const track of localStream?.getTracks() ?? []) track.stop();
    localStream = null;
    hidePreview();
    return;
  }
  try {
    localStream = await getMedia();
  } catch (e) {
    console.warn('visavis: the camera check could not start', e);
    $('check-note').textContent = t(`perm.${permissionKind(e?.name)}.title`);
    return;
  }
  if (ui.state() !== 'waiting') return; // admitted meanwhile: the call takes the stream
  preview.srcObject = localStream;
  preview.hidden = false;
  document.body.classList.add('checking');
  $('camera-check').querySelector('span').textContent = t('waiting.check_off');
}

function hidePreview() {
  const preview = $('preview');
  preview.srcObject = null;
  preview.hidden = true;
  document.body.classList.remove('checking');
  $('camera-check').querySelector('span').textContent = t('waiting.check');
  $('check-note').textContent = t('waiting.check_note');
}

// ---- sharing the invite --------------------------------------------------------------------

async function share() {
  const url = location.href.split('#')[0];
  const outcome = await shareLink(navigator, shareData(info, url));
  const note = $('share-note');
  note.hidden = outcome === 'shared' || outcome === 'cancelled';
  if (outcome === 'copied') note.textContent = t('share.copied');
  if (outcome === 'manual') note.textContent = `${t('share.manual')} ${url}`;
}

function showPermissionProblem(error) {
  const kind = permissionKind(error?.name);
  $('perm-title').textContent = t(`perm.${kind}.title`);
  $('perm-text').textContent = t(`perm.${kind}.text`);
  $('perm-howto').hidden = kind !== 'denied';
  ui.setState('permission-denied', kind);
}

async function startCall(stream) {
  if (call) return;
  ui.setState('connecting');
  ui.callStatus(t('call.connecting'));
  const local = $('local');
  local.hidden = !stream?.getVideoTracks().length;
  local.srcObject = stream;
  $('receive-only-note').hidden = Boolean(stream);
  bar.setStream(stream);
  call = new Call({
    iceServers,
    localStream: stream,
    sendSignal: (payload) => sig?.send({ type: 'signal', payload }),
    onRemoteStream: showRemote,
    onSlotTrack: (slot, track) => others?.setTrack(slot, track),
    onVoiceTrack: playVoice,
    onConnectionState,
    onData,
  });
  const thisCall = call;
  reconnector = new Reconnector({
    restart: () => thisCall.restartIce(),
    abandon: () => thisCall.abandonOffer(),
    onGiveUp: () => fail('error.reconnect_failed'),
  });
  try {
    await call.start();
  } catch (e) {
    fail('error.connection_failed', String(e?.message ?? e));
  }
}

/**
 * Open a new signaling socket and take the guest's place again: the guest's connection
 * dropped (rendezvous holds the place for a while) or rendezvous restarted.
 */
async function resume() {
  if (finished) return;
  sig = new Signaling(null, { onMessage, onClose });
  const mine = sig;
  await mine.open();
  // What rendezvous wrote into the old socket after `seen` comes again (the socket may have
  // been dead before either end knew).
  mine.send({ type: 'resume', guest_id: guestId, seen: signalsSeen });
}

/** The unit is connected to the server again: no more "offline", and a reconnecting call offers now. */
function unitBack() {
  clearTimeout(unitAway);
  unitAway = null;
  if (mediaUp) ui.callStatus('');
  reconnector?.unitBack();
}

function unitStillAway() {
  unitAway = null;
  if (finished) return;
  // Media still flows: only the unit's link to the server is down. Look again later.
  if (mediaUp) unitAway = setTimeout(unitStillAway, UNIT_AWAY_GIVE_UP_MS);
  else fail('error.room_offline');
}

function onConnectionState(connection) {
  mediaUp = connection === 'connected';
  reconnector?.connection(connection);
  act(connectionAction(connection, ui.state(), finished));
}

function onData(msg) {
  const action = dataAction(msg);
  switch (action.do) {
    case 'welcome':
      $('location').textContent = action.text;
      $('location').hidden = !action.text;
      call?.smallLayer(action.othersVideo).catch((e) => console.warn('visavis: small layer', e));
      break;
    case 'camera':
      $('camera-off').hidden = action.on;
      break;
    case 'full_layer':
      call?.fullLayer(action.on).catch((e) => console.warn('visavis: full layer', e));
      break;
    case 'small_layer_rate':
      call?.smallLayerRate(action.kbps, action.fps).catch((e) => console.warn('visavis: small layer rate', e));
      break;
    case 'picture_held':
      $('picture-held').hidden = !action.held;
      if (action.held) call?.keepSmallLayer().catch((e) => console.warn('visavis: small layer', e));
      break;
    case 'chat':
      chat?.others(action.name, action.text);
      bar?.chatArrived();
      break;
    case 'reaction':
      float($('floaters'), action.reaction, action.name);
      break;
    case 'speaking':
      bar?.speaking(action.name, action.speaking);
      others?.speaking(action.name, action.speaking);
      break;
    case 'others':
      others?.show(action.others);
      break;
    case 'watching':
      bar?.watching(action.count);
      break;
    case 'looks':
      looks?.handle(msg); // anything else is ignored
      break;
    default:
      break;
  }
}

async function showRemote(stream) {
  const remote = $('remote');
  remote.srcObject = stream;
  // Start muted (always allowed), then try sound; if the browser refuses, offer a tap.
  remote.muted = true;
  await remote.play().catch(() => {});
  remote.muted = false;
  try {
    await remote.play();
  } catch {
    remote.muted = true;
    remote.play().catch(() => {});
  }
  setTimeout(() => {
    if (remote.paused || remote.muted) {
      remote.muted = true;
      remote.play().catch(() => {});
      $('unmute').hidden = false;
    }
  }, 300);
}

function unmute() {
  const remote = $('remote');
  remote.muted = false;
  remote.play().catch(() => {});
  followRemote(); // now, within the tap: a browser may want one for each element
  $('unmute').hidden = true;
}

// ---- the other guests' voices: one hidden <audio> per voice slot, heard with #remote -------

/** The voice elements there are. */
const voices = () => document.querySelectorAll('audio[data-heard-with="remote"]');

/**
 * Play a voice slot's track (call.js) in its own element, made the first time. A track
 * that has had no packet yet (muted) waits for its first: a slot nobody talks in costs
 * the phone no playout, and a guest alone in the call plays none of them.
 */
function playVoice(slot, track) {
  if (track.muted) {
    track.addEventListener('unmute', () => playVoice(slot, track), { once: true });
    return;
  }
  let voice = $(`voice-${slot}`);
  if (!voice) {
    voice = document.createElement('audio');
    voice.id = `voice-${slot}`;
    voice.dataset.heardWith = 'remote'; // tests listen to #remote and these together
    voice.autoplay = true;
    voice.setAttribute('playsinline', '');
    voice.hidden = true;
    $('remote').after(voice);
  }
  voice.srcObject = new MediaStream([track]);
  followRemote();
}

/**
 * Mute or unmute the voices as #remote is (on its `volumechange`): muted while the page
 * waits for a tap for sound, heard once #remote is. A voice the browser will not play
 * aloud when #remote does stays muted and asks for the tap too.
 */
function followRemote() {
  const remote = $('remote');
  for (const voice of voices()) {
    voice.muted = remote.muted;
    voice.play().catch((e) => {
      if (e?.name !== 'NotAllowedError' || remote.muted) return;
      voice.muted = true;
      voice.play().catch(() => {});
      $('unmute').hidden = false;
    });
  }
}

async function keepScreenOn() {
  try {
    wakeLock = await navigator.wakeLock?.request('screen');
  } catch {
    // not supported or refused: the phone may dim, nothing more
  }
}

function sendReaction(name) {
  const msg = reactionMessage(name);
  if (msg && call?.send(msg)) float($('floaters'), name);
}

// ---- ending --------------------------------------------------------------------------------

function stopEverything() {
  clearTimeout(unitAway);
  unitAway = null;
  reconnector?.stop();
  reconnector = null;
  resignal?.stop();
  resignal = null;
  guestId = null;
  call?.close();
  call = null;
  for (const track of localStream?.getTracks() ?? []) track.stop();
  localStream = null;
  for (const id of ['remote', 'local']) $(id).srcObject = null;
  for (const voice of voices()) {
    voice.srcObject = null;
    voice.remove();
  }
  $('unmute').hidden = true;
  $('location').hidden = true;
  $('camera-off').hidden = true;
  looks?.clear();
  chat?.clear();
  bar?.reset();
  others?.reset();
  hidePreview();
  wakeLock?.release().catch(() => {});
  wakeLock = null;
}

function finish(state, message) {
  finished = true;
  stopEverything();
  sig?.close();
  sig = null;
  ui.showMessage(state, message);
}

function fail(key, detail) {
  finish('error', { title: t('error.title'), text: t(key), detail, again: true });
}

function showInvalid(reason) {
  finish('invalid-invite', {
    title: t(`invalid.${reason}.title`),
    text: t(`invalid.${reason}.text`),
    reason,
    again: reason === 'rate-limited',
  });
}

function leave() {
  sig?.send({ type: 'leave' });
  sig?.close();
  sig = null;
  stopEverything();
  ui.joinBusy(false);
  ui.joinNotice(t('join.left'));
  ui.setState('join');
}

// ---- wiring --------------------------------------------------------------------------------

function buildReactions() {
  const picker = $('reactions');
  for (const { name, emoji } of REACTIONS) {
    let button = picker.querySelector(`[data-reaction="${name}"]`);
    if (!button) {
      button = document.createElement('button');
      button.type = 'button';
      button.dataset.reaction = name;
      button.textContent = emoji;
      picker.append(button);
    }
    button.dataset.i18nLabel = `reaction.${name}`;
    button.addEventListener('click', () => sendReaction(name));
  }
}

function init() {
  $('name').maxLength = MAX_NAME_CHARS;
  buildReactions();
  info = showWhere();
  looks = new Looks($('compare'), toUnit);
  chat = new Chat($('chat'), $('chat-text'), $('chat-log'), toUnit, $('bubbles'));
  others = new OtherGuests($('others'));
  bar = new CallBar({
    onLeave: leave,
    inCall: () => inCall(ui.state()) && ui.state() !== 'permission-denied',
    onChatPanel: (open) => chat.panel(open),
  });
  translatePage();
  bar.reset();
  hidePreview();
  $('join-form').addEventListener('submit', onJoin);
  $('share').addEventListener('click', share);
  $('camera-check').addEventListener('click', cameraCheck);
  $('unmute').addEventListener('click', unmute);
  $('remote').addEventListener('volumechange', followRemote);
  $('retry-media').addEventListener('click', startMedia);
  $('receive-only').addEventListener('click', () => startCall(null));
  $('again').addEventListener('click', () => location.reload());
  $('name').addEventListener('input', () => ui.joinError(''));
  window.addEventListener('pagehide', () => sig?.send({ type: 'leave' }));
  // Back from a dropped connection or a locked screen: resume at once, while the place is held.
  window.addEventListener('online', () => resignal?.now());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') resignal?.now();
  });
  ui.setState('join');
  document.body.classList.add('ready');
}

init();
