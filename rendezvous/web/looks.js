// "Which one?": the unit sends each saved look's still ({type:'look', id, jpeg}), then a
// comparison of two ({type:'compare', round, looks: [idA, idB]}). The guest votes for one ({type:'vote'})
// and may change their mind; tallies ({type:'tally'}) update the counts of their round;
// {type:'compare_ended'} closes the vote (the panel stays, its buttons disabled, the winner
// named and outlined). The panel can be minimised to one line (#compare-toggle) so the
// video shows whole; that line still says what is going on.
// DOM contract (docs/contracts.md): #compare[hidden][data-round], [data-look=id] > img,
// button[data-vote=id][aria-pressed], [data-votes-for=id].

// The checks on what the unit sends and on the vote are pure functions, exported for
// test/looks.test.js; the Looks class draws them.

import { t } from './i18n.js';
import { MAX_LOOKS } from './limits.js';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** A look id or a round: a non-negative integer. */
export const isId = (v) => Number.isInteger(v) && v >= 0;

/** The data: URL of a look's still (base64 JPEG), or null when it is not base64. */
export const stillUrl = (jpeg) =>
  typeof jpeg === 'string' && BASE64.test(jpeg) ? `data:image/jpeg;base64,${jpeg}` : null;

/** The two ids of a compare's `looks`; null when they are not two different ids. */
export function lookIds(looks) {
  if (!Array.isArray(looks) || looks.length !== 2) return null;
  if (!looks.every(isId) || looks[0] === looks[1]) return null;
  return looks;
}

/** The tally entries worth showing: `{look, votes}` with an id and a count. */
export function validVotes(votes) {
  if (!Array.isArray(votes)) return [];
  return votes.filter((e) => isId(e?.look) && Number.isInteger(e.votes) && e.votes >= 0);
}

/**
 * The number a look goes by: its id, the number the mirror shows beside it ("Look 3"),
 * never its place in a comparison, so everyone speaks of the same look.
 */
export function lookNumber(id) {
  return id;
}

/** The vote message for `look` in an open comparison `round` of `ids`; null when it cannot be sent. */
export function voteMessage({ round, ids, open }, look) {
  if (!open || !isId(round) || !ids.includes(look)) return null;
  return { type: 'vote', round, look };
}

/** Keep `url` as look `id`'s still in `stills` (a Map), the oldest dropped beyond MAX_LOOKS. */
export function keepStill(stills, id, url) {
  stills.delete(id);
  stills.set(id, url);
  while (stills.size > MAX_LOOKS) stills.delete(stills.keys().next().value);
}

/** The result of `votes` ({look, votes} entries): {key, n} of its words, `winner` (a look id or null). */
export function result(votes) {
  const counted = validVotes(votes);
  const most = Math.max(0, ...counted.map((e) => e.votes));
  if (most === 0) return { key: 'looks.no_votes', winner: null };
  const leaders = counted.filter((e) => e.votes === most);
  if (leaders.length > 1) return { key: 'looks.tie', winner: null };
  return { key: 'looks.winner', n: lookNumber(leaders[0].look), winner: leaders[0].look };
}

const fill = (key, n) => t(key, n);

export class Looks {
  /** `root` is the #compare element; `send(msg)` puts a message on the data channel. */
  constructor(root, send) {
    this.root = root;
    this.send = send;
    this.stills = new Map(); // id → data: URL
    this.round = null;
    this.ids = [];
    this.open = false;
    this.votes = [];
    this.minimised = false;
    this.root.hidden = true;
    this.root.querySelector('#compare-toggle')?.addEventListener('click', () => this.minimise(!this.minimised));
  }

  /** Show the panel as one line (true) or whole. */
  minimise(yes) {
    this.minimised = yes;
    this.root.classList.toggle('minimised', yes);
    const toggle = this.root.querySelector('#compare-toggle');
    if (toggle) {
      toggle.setAttribute('aria-expanded', String(!yes));
      const label = t(yes ? 'looks.expand' : 'looks.minimise');
      toggle.setAttribute('aria-label', label);
      toggle.title = label;
    }
    this.summary();
  }

  /** The one line: the vote is open, or its result once closed. */
  summary() {
    const el = this.root.querySelector('.compare-summary');
    if (!el) return;
    if (this.open) {
      el.textContent = t('looks.open_summary');
      el.hidden = !this.minimised;
    } else {
      const r = result(this.votes);
      el.textContent = fill(r.key, r.n);
      el.hidden = false;
    }
  }

  /** Handle a unit message; false when it is not about looks. */
  handle(msg) {
    switch (msg?.type) {
      case 'look': {
        const url = stillUrl(msg.jpeg);
        if (isId(msg.id) && url) this.keep(msg.id, url);
        return true;
      }
      case 'compare': {
        const ids = lookIds(msg.looks);
        if (isId(msg.round) && ids) this.show(msg.round, ids);
        return true;
      }
      case 'tally':
        if (msg.round === this.round) this.tally(validVotes(msg.votes));
        return true;
      case 'compare_ended':
        if (msg.round === this.round) this.close();
        return true;
      default:
        return false;
    }
  }

  keep(id, url) {
    keepStill(this.stills, id, url);
    const img = this.root.querySelector(`[data-look="${id}"] img`);
    if (img) img.src = url;
  }

  show(round, ids) {
    // The same comparison sent again (the unit repeats it) keeps the vote and the counts.
    if (round === this.round && this.open && ids.every((id, i) => id === this.ids[i])) return;
    this.round = round;
    this.ids = ids;
    this.open = true;
    this.votes = [];
    this.root.classList.remove('closed');
    this.root.dataset.round = String(round);
    const list = this.root.querySelector('.looks');
    list.replaceChildren();
    ids.forEach((id) => {
      const look = document.createElement('figure');
      look.className = 'look';
      look.dataset.look = String(id);
      const img = document.createElement('img');
      img.alt = fill('looks.look', lookNumber(id));
      const url = this.stills.get(id);
      if (url) img.src = url;
      const count = document.createElement('figcaption');
      count.dataset.votesFor = String(id);
      count.textContent = fill('looks.votes', 0);
      const vote = document.createElement('button');
      vote.type = 'button';
      vote.className = 'button primary';
      vote.dataset.vote = String(id);
      vote.setAttribute('aria-pressed', 'false');
      vote.textContent = fill('looks.vote_for', lookNumber(id));
      vote.addEventListener('click', () => this.vote(id));
      look.append(img, count, vote);
      list.append(look);
    });
    this.root.querySelector('.compare-closed').hidden = true;
    this.root.hidden = false;
    this.minimise(false);
  }

  vote(id) {
    const msg = voteMessage(this, id);
    if (!msg || !this.send(msg)) return;
    for (const b of this.root.querySelectorAll('button[data-vote]')) {
      b.setAttribute('aria-pressed', String(b.dataset.vote === String(id)));
    }
  }

  tally(votes) {
    this.votes = votes;
    for (const entry of votes) {
      const el = this.root.querySelector(`[data-votes-for="${entry.look}"]`);
      if (el) el.textContent = fill('looks.votes', entry.votes);
    }
  }

  close() {
    this.open = false;
    for (const b of this.root.querySelectorAll('button[data-vote]')) b.disabled = true;
    this.root.querySelector('.compare-closed').hidden = false;
    this.root.classList.add('closed');
    const { winner } = result(this.votes);
    for (const look of this.root.querySelectorAll('[data-look]')) {
      look.classList.toggle('winner', look.dataset.look === String(winner));
    }
    this.summary();
  }

  /** Forget everything (the call ended). */
  clear() {
    this.stills.clear();
    this.round = null;
    this.ids = [];
    this.open = false;
    this.votes = [];
    this.minimise(false);
    this.root.classList.remove('closed');
    this.root.querySelector('.looks').replaceChildren();
    delete this.root.dataset.round;
    this.root.hidden = true;
  }
}
