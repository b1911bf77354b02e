// Reactions a guest can send (their list is in limits.js, checked against
// visavis_api::datachannel::Reaction), and the emoji that floats up over the video: the
// guest's own when sent, and other guests' (with their name) as the unit relays them.

import { REACTIONS } from './limits.js';

export { REACTIONS };

/** The data-channel message for a reaction (GuestMessage::Reaction); null for an unknown one. */
export function reactionMessage(name) {
  return REACTIONS.some((r) => r.name === name) ? { type: 'reaction', reaction: name } : null;
}

/** Float an emoji up from the bottom of `layer`, with `from` (a name) under it when given. */
export function float(layer, name, from = '') {
  const reaction = REACTIONS.find((r) => r.name === name);
  if (!layer || !reaction) return;
  const el = document.createElement('span');
  el.className = 'floater';
  const emoji = document.createElement('span');
  emoji.className = 'emoji';
  emoji.textContent = reaction.emoji;
  el.append(emoji);
  if (from) {
    const who = document.createElement('span');
    who.className = 'from';
    who.textContent = from;
    el.append(who);
  }
  el.style.setProperty('--x', `${8 + Math.random() * 62}%`);
  el.addEventListener('animationend', () => el.remove());
  layer.append(el);
}
