// Chat from the guest to the room: a line goes out as {type:'chat', text} on the data
// channel and shows in #chat-log (own lines only; the unit shows them as bubbles on its
// screen). DOM contract: #chat-text, #chat-send, #chat-log.

const MAX_CHARS = 280; // visavis_api::datachannel::MAX_CHAT_CHARS

export class Chat {
  constructor(form, input, log, send) {
    this.input = input;
    this.log = log;
    this.send = send;
    input.maxLength = MAX_CHARS;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  submit() {
    const text = this.input.value.trim();
    if (!text || [...text].length > MAX_CHARS) return;
    if (!this.send({ type: 'chat', text })) return;
    const line = document.createElement('li');
    line.textContent = text;
    this.log.append(line);
    while (this.log.children.length > 20) this.log.firstElementChild.remove();
    this.input.value = '';
  }

  clear() {
    this.log.replaceChildren();
    this.input.value = '';
  }
}
