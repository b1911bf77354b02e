// Reactions a guest can send (the names of visavis_api::datachannel::Reaction), and the
// little emoji that floats up on the guest's own screen when one is sent.

export const REACTIONS = [
  { name: 'heart', emoji: '❤️' },
  { name: 'thumbs_up', emoji: '👍' },
  { name: 'fire', emoji: '🔥' },
  { name: 'laugh', emoji: '😂' },
  { name: 'wow', emoji: '😮' },
  { name: 'clap', emoji: '👏' },
];

/** The data-channel message for a reaction (GuestMessage::Reaction). */
export function reactionMessage(name) {
  return { type: 'reaction', reaction: name };
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
