// Chat in the call: a line goes out as {type:'chat', text} on the data channel; the unit
// shows it on its screen and sends it to every other guest in the call, whose lines come
// back as {type:'chat', name, text}. #chat-log (in the chat panel) holds both, the guest's
// own on the right, others' with their name; while the panel is shut, others' newest two
// lines also show briefly as bubbles over the video (#bubbles). DOM contract: #chat-text,
// #chat-send, #chat-log.

import { MAX_CHAT_CHARS } from './limits.js';

/** Lines kept in #chat-log. */
const LINES_KEPT = 20;
/** Bubbles on the video at once, and how long each stays. */
export const BUBBLES_SHOWN = 2;
export const BUBBLE_MS = 6000;

/** The chat message for what the guest typed: trimmed; null when empty or too long. */
export function chatMessage(raw) {
  const text = String(raw ?? '').trim();
  if (!text || [...text].length > MAX_CHAT_CHARS) return null;
  return { type: 'chat', text };
}

export class Chat {
  constructor(form, input, log, send, bubbles = null) {
    this.input = input;
    this.log = log;
    this.send = send;
    this.bubbles = bubbles;
    this.panelOpen = false;
    input.maxLength = MAX_CHAT_CHARS;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  submit() {
    const msg = chatMessage(this.input.value);
    if (!msg || !this.send(msg)) return;
    this.append(null, msg.text);
    this.input.value = '';
  }

  /** Another guest's line. */
  others(name, text) {
    this.append(name, text);
    if (!this.bubbles || this.panelOpen) return;
    const bubble = this.line(name, text);
    this.bubbles.append(bubble);
    while (this.bubbles.children.length > BUBBLES_SHOWN) this.bubbles.firstElementChild.remove();
    setTimeout(() => bubble.remove(), BUBBLE_MS);
  }

  /** The chat panel opened (bubbles go: the log shows it all) or closed. */
  panel(open) {
    this.panelOpen = open;
    if (open) this.bubbles?.replaceChildren();
    if (open) this.log.lastElementChild?.scrollIntoView({ block: 'end' });
  }

  line(name, text) {
    const li = document.createElement('li');
    if (name === null) {
      li.className = 'own';
    } else {
      const who = document.createElement('strong');
      who.textContent = name;
      li.append(who, ' ');
    }
    li.append(text);
    return li;
  }

  append(name, text) {
    const li = this.line(name, text);
    this.log.append(li);
    while (this.log.children.length > LINES_KEPT) this.log.firstElementChild.remove();
    if (this.panelOpen) li.scrollIntoView({ block: 'end' });
  }

  clear() {
    this.log.replaceChildren();
    this.bubbles?.replaceChildren();
    this.input.value = '';
  }
}
