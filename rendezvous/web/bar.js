// The call bar at the bottom of the call: mic and camera toggles (a muted one says so in
// words and red, with a slashed icon), one reactions button that opens the picker, chat
// (opens the panel with the log and the field), and Leave, which asks first once the call
// is up. Also the "● LIVE · 3 watching" pill over the video, and under it who is talking. DOM: #mic, #camera, #react,
// #reactions, #chat-open, #chat-panel, #chat-unread, #leave, #leave-sheet,
// #leave-confirm, #leave-cancel, #live. The words are pure functions for test/bar.test.js.

import { t } from './i18n.js';

const $ = (id) => document.getElementById(id);

/** The pill's words for `count` guests in the call; '' when nobody is counted yet. */
export function liveText(count) {
  if (!Number.isInteger(count) || count < 1) return '';
  return count === 1 ? t('live.one') : t('live.many', count);
}

/** Who is talking, for the pill under "LIVE": the first to start, and how many more. */
export function talkingText(names) {
  if (names.length === 0) return '';
  return names.length === 1 ? names[0] : `${names[0]} +${names.length - 1}`;
}

/** The caption of the mic or camera toggle (`kind`: 'mic' | 'camera'). */
export function toggleCaption(kind, off) {
  return t(off ? `bar.${kind}_off` : `bar.${kind}`);
}

export class CallBar {
  /**
   * @param {object} opts
   * @param {() => void} opts.onLeave the guest confirmed (or, while waiting, tapped) Leave
   * @param {() => boolean} opts.inCall whether Leave must ask first
   * @param {(open: boolean) => void} [opts.onChatPanel] the chat panel opened or closed
   */
  constructor({ onLeave, inCall, onChatPanel = () => {} }) {
    this.onLeave = onLeave;
    this.inCall = inCall;
    this.onChatPanel = onChatPanel;
    this.stream = null;
    this.unread = 0;
    $('mic').addEventListener('click', () => this.toggle('mic'));
    $('camera').addEventListener('click', () => this.toggle('camera'));
    $('react').addEventListener('click', () => this.picker(!this.pickerOpen));
    $('chat-open').addEventListener('click', () => this.chat(!this.chatOpen));
    $('leave').addEventListener('click', () => (this.inCall() ? this.askLeave(true) : this.onLeave()));
    $('leave-cancel').addEventListener('click', () => this.askLeave(false));
    $('leave-confirm').addEventListener('click', () => {
      this.askLeave(false);
      this.onLeave();
    });
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.closeAll();
    });
    this.reset();
  }

  get pickerOpen() {
    return !$('reactions').hidden;
  }

  get chatOpen() {
    return !$('chat-panel').hidden;
  }

  /** The guest's own camera and microphone (null: watching without them). */
  setStream(stream) {
    this.stream = stream;
    for (const kind of ['mic', 'camera']) {
      const track = this.track(kind);
      $(kind).disabled = !track;
      this.show(kind, !track || !track.enabled);
    }
  }

  track(kind) {
    const tracks = kind === 'mic' ? this.stream?.getAudioTracks() : this.stream?.getVideoTracks();
    return tracks?.[0] ?? null;
  }

  toggle(kind) {
    const track = this.track(kind);
    if (!track) return;
    track.enabled = !track.enabled;
    this.show(kind, !track.enabled);
    if (kind === 'camera') $('local').classList.toggle('paused', !track.enabled);
  }

  show(kind, off) {
    const button = $(kind);
    button.setAttribute('aria-pressed', String(off));
    button.querySelector('.caption').textContent = toggleCaption(kind, off);
  }

  picker(open) {
    if (open) this.chat(false);
    $('reactions').hidden = !open;
    $('react').setAttribute('aria-expanded', String(open));
  }

  chat(open) {
    if (open) this.picker(false);
    $('chat-panel').hidden = !open;
    document.body.classList.toggle('chatting', open);
    $('chat-open').setAttribute('aria-expanded', String(open));
    if (open) {
      this.unread = 0;
      this.badge();
      $('chat-text').focus({ preventScroll: true });
    }
    this.onChatPanel(open);
  }

  /** A line from someone else arrived: counted on the chat button while the panel is shut. */
  chatArrived() {
    if (this.chatOpen) return;
    this.unread += 1;
    this.badge();
  }

  badge() {
    const el = $('chat-unread');
    el.textContent = this.unread > 9 ? '9+' : String(this.unread);
    el.hidden = this.unread === 0;
  }

  askLeave(open) {
    $('leave-sheet').hidden = !open;
    if (open) {
      this.closeAll();
      $('leave-cancel').focus({ preventScroll: true });
    }
  }

  closeAll() {
    this.picker(false);
    if (this.chatOpen) this.chat(false);
  }

  /** How many are in the call ("● LIVE · 3 watching"). */
  watching(count) {
    const text = liveText(count);
    $('live-text').textContent = text;
    $('live').hidden = !text;
  }

  /** Another guest started or stopped speaking (the unit heard their voice). */
  speaking(name, on) {
    this.talking = (this.talking ?? []).filter((n) => n !== name);
    if (on) this.talking.push(name);
    const text = talkingText(this.talking);
    $('talking-text').textContent = text;
    $('talking').hidden = !text;
  }

  /** Back to how a new call starts. */
  reset() {
    this.talking = [];
    $('talking').hidden = true;
    this.stream = null;
    this.unread = 0;
    this.badge();
    this.picker(false);
    $('chat-panel').hidden = true;
    document.body.classList.remove('chatting');
    $('chat-open').setAttribute('aria-expanded', 'false');
    $('leave-sheet').hidden = true;
    $('local').classList.remove('paused');
    this.watching(0);
    for (const kind of ['mic', 'camera']) this.show(kind, false);
  }
}
