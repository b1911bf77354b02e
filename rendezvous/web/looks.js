// "Which one?": the unit sends each saved look's still ({type:'look'}), then a comparison
// of two ({type:'compare'}); the guest votes for one ({type:'vote'}) and may change their
// mind; tallies ({type:'tally'}) update the counts; {type:'compare_ended'} closes the vote.
// DOM contract (docs/contracts.md): #compare[data-round], [data-look=id] > img,
// button[data-vote=id][aria-pressed], [data-votes-for=id].

import { t } from './i18n.js';

const MAX_KEPT = 6; // looks a session holds (applianced's limit)

export class Looks {
  /** `root` is the #compare element; `send(msg)` puts a message on the data channel. */
  constructor(root, send) {
    this.root = root;
    this.send = send;
    this.stills = new Map(); // id → data: URL
    this.round = null;
    this.root.hidden = true;
  }

  /** Handle a unit message; false when it is not about looks. */
  handle(msg) {
    switch (msg.type) {
      case 'look':
        if (Number.isInteger(msg.id) && typeof msg.jpeg === 'string') {
          this.stills.set(msg.id, `data:image/jpeg;base64,${msg.jpeg}`);
          while (this.stills.size > MAX_KEPT) this.stills.delete(this.stills.keys().next().value);
        }
        return true;
      case 'compare':
        if (Array.isArray(msg.looks) && msg.looks.length === 2) this.show(msg.round, msg.looks);
        return true;
      case 'tally':
        if (msg.round === this.round && Array.isArray(msg.votes)) this.tally(msg.votes);
        return true;
      case 'compare_ended':
        if (msg.round === this.round) this.close();
        return true;
      default:
        return false;
    }
  }

  show(round, ids) {
    this.round = round;
    this.root.dataset.round = String(round);
    const list = this.root.querySelector('.looks');
    list.replaceChildren();
    ids.forEach((id, i) => {
      const look = document.createElement('figure');
      look.className = 'look';
      look.dataset.look = String(id);
      const img = document.createElement('img');
      img.alt = t('looks.look').replace('{n}', String(i + 1));
      img.src = this.stills.get(id) ?? '';
      const count = document.createElement('figcaption');
      count.dataset.votesFor = String(id);
      count.textContent = t('looks.votes').replace('{n}', '0');
      const vote = document.createElement('button');
      vote.type = 'button';
      vote.className = 'button primary';
      vote.dataset.vote = String(id);
      vote.setAttribute('aria-pressed', 'false');
      vote.textContent = t('looks.vote_for').replace('{n}', String(i + 1));
      vote.addEventListener('click', () => this.vote(id));
      look.append(img, count, vote);
      list.append(look);
    });
    this.root.querySelector('.compare-closed').hidden = true;
    this.root.hidden = false;
  }

  vote(id) {
    if (this.round === null) return;
    if (!this.send({ type: 'vote', round: this.round, look: id })) return;
    for (const b of this.root.querySelectorAll('button[data-vote]')) {
      b.setAttribute('aria-pressed', String(b.dataset.vote === String(id)));
    }
  }

  tally(votes) {
    for (const { look, votes: n } of votes) {
      const el = this.root.querySelector(`[data-votes-for="${look}"]`);
      if (el && Number.isInteger(n)) el.textContent = t('looks.votes').replace('{n}', String(n));
    }
  }

  close() {
    for (const b of this.root.querySelectorAll('button[data-vote]')) b.disabled = true;
    this.root.querySelector('.compare-closed').hidden = false;
  }

  /** Forget everything (the call ended). */
  clear() {
    this.stills.clear();
    this.round = null;
    this.root.querySelector('.looks').replaceChildren();
    delete this.root.dataset.round;
    this.root.hidden = true;
  }
}
