// Chat from the guest to the room: a line goes out as {type:'chat', text} on the data
// channel and shows in #chat-log (own lines only; the unit shows them as bubbles on its
// screen). DOM contract: #chat-text, #chat-send, #chat-log.

import { MAX_CHAT_CHARS } from './limits.js';

/** Lines of the guest's own chat kept in #chat-log. */
const LINES_KEPT = 20;

/** The chat message for what the guest typed: trimmed; null when empty or too long. */
export function chatMessage(raw) {
  const text = String(raw ?? '').trim();
  if (!text || [...text].length > MAX_CHAT_CHARS) return null;
  return { type: 'chat', text };
}

export class Chat {
  constructor(form, input, log, send) {
    this.input = input;
    this.log = log;
    this.send = send;
    input.maxLength = MAX_CHAT_CHARS;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  submit() {
    const msg = chatMessage(this.input.value);
    if (!msg || !this.send(msg)) return;
    const line = document.createElement('li');
    line.textContent = msg.text;
    this.log.append(line);
    while (this.log.children.length > LINES_KEPT) this.log.firstElementChild.remove();
    this.input.value = '';
  }

  clear() {
    this.log.replaceChildren();
    this.input.value = '';
  }
}
