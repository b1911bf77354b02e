// The other guests' pictures in the call (the table: everybody sees everybody). The unit
// forwards each other guest's small camera layer into one of the page's slots (call.js) and
// says whose it is with an `others` message; each shown slot is a small tile with the
// guest's name, over the room's picture, in a column under the guest's own picture. Whoever
// is talking gets a ring and moves to the top (the latest to start first), the others keep
// their slot order. No tile without a name from the unit: an empty slot shows nothing.

/**
 * The tiles to show, in order: talking guests first (the latest to start talking first),
 * then the rest by slot.
 * @param {{slot: number, name: string}[]} shown who the slots carry
 * @param {string[]} talking names of guests talking now, in the order they started
 * @returns {{slot: number, name: string, talking: boolean}[]}
 */
export function arrange(shown, talking) {
  const rank = (name) => {
    const i = talking.lastIndexOf(name);
    return i < 0 ? -1 : i;
  };
  return [...shown]
    .sort((a, b) => rank(b.name) - rank(a.name) || a.slot - b.slot)
    .map((o) => ({ slot: o.slot, name: o.name, talking: rank(o.name) >= 0 }));
}

/** Whether an `others` message's list is well formed: slots in range, each once, names. */
export function othersOk(others, slots, nameOk) {
  if (!Array.isArray(others) || others.length > slots) return false;
  const seen = new Set();
  for (const o of others) {
    if (!o || !Number.isInteger(o.slot) || o.slot < 0 || o.slot >= slots || seen.has(o.slot)) return false;
    if (!nameOk(o.name)) return false;
    seen.add(o.slot);
  }
  return true;
}

export class OtherGuests {
  /** @param {HTMLElement} column where the tiles go */
  constructor(column) {
    this.column = column;
    this.tracks = new Map(); // slot → MediaStreamTrack
    this.shown = [];
    this.talking = [];
    this.tiles = new Map(); // slot → {figure, video, caption}
  }

  /** A slot's track arrived (once per slot, when the call starts). */
  setTrack(slot, track) {
    this.tracks.set(slot, track);
    const tile = this.tiles.get(slot);
    if (tile) this.attach(tile, slot);
  }

  /** Who the slots carry now (the `others` message). */
  show(others) {
    this.shown = others.map((o) => ({ slot: o.slot, name: o.name }));
    this.render();
  }

  /** Another guest started or stopped talking. */
  speaking(name, on) {
    this.talking = this.talking.filter((n) => n !== name);
    if (on) this.talking.push(name);
    this.render();
  }

  /** Back to how a call starts: no tiles. */
  reset() {
    this.shown = [];
    this.talking = [];
    this.tracks.clear();
    this.render();
  }

  attach(tile, slot) {
    const track = this.tracks.get(slot);
    if (!track || tile.video.srcObject?.getVideoTracks()[0] === track) return;
    tile.video.srcObject = new MediaStream([track]);
    tile.video.play().catch(() => {});
  }

  render() {
    const wanted = arrange(this.shown, this.talking);
    for (const [slot, tile] of this.tiles) {
      if (!wanted.some((w) => w.slot === slot)) {
        tile.video.srcObject = null;
        tile.figure.remove();
        this.tiles.delete(slot);
      }
    }
    for (const w of wanted) {
      let tile = this.tiles.get(w.slot);
      if (!tile) {
        const figure = document.createElement('figure');
        figure.className = 'other';
        figure.dataset.slot = String(w.slot);
        const video = document.createElement('video');
        video.playsInline = true;
        video.autoplay = true;
        video.muted = true; // their voice comes in the call's one audio track
        const caption = document.createElement('figcaption');
        figure.append(video, caption);
        tile = { figure, video, caption };
        this.tiles.set(w.slot, tile);
        this.attach(tile, w.slot);
      }
      tile.caption.textContent = w.name;
      tile.video.setAttribute('aria-label', w.name);
      tile.figure.classList.toggle('talking', w.talking);
      this.column.append(tile.figure); // appending in order sorts them
    }
    this.column.hidden = wanted.length === 0;
  }
}
