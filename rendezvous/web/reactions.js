// Reactions a guest can send (their list is in limits.js, checked against
// visavis_api::datachannel::Reaction), and the little emoji that floats up on the guest's
// own screen when one is sent.

import { REACTIONS } from './limits.js';

export { REACTIONS };

/** The data-channel message for a reaction (GuestMessage::Reaction); null for an unknown one. */
export function reactionMessage(name) {
  return REACTIONS.some((r) => r.name === name) ? { type: 'reaction', reaction: name } : null;
}

/** Float an emoji up from the bottom of `layer`. */
export function float(layer, name) {
  const reaction = REACTIONS.find((r) => r.name === name);
  if (!layer || !reaction) return;
  const el = document.createElement('span');
  el.className = 'floater';
  el.textContent = reaction.emoji;
  el.style.setProperty('--x', `${10 + Math.random() * 80}%`);
  el.addEventListener('animationend', () => el.remove());
  layer.append(el);
}
