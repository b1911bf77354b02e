// The checks on looks, votes, chat lines and reactions the page sends or shows.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { MAX_CHAT_CHARS, MAX_LOOKS, REACTIONS } from '../limits.js';
import {
  isId,
  keepStill,
  lookIds,
  lookNumber,
  result,
  stillUrl,
  validVotes,
  voteMessage,
} from '../looks.js';
import { chatMessage } from '../chat.js';
import { reactionMessage } from '../reactions.js';

test('a comparison needs two different look ids', () => {
  assert.deepEqual(lookIds([3, 5]), [3, 5]);
  assert.equal(lookIds([3, 3]), null);
  assert.equal(lookIds([3]), null);
  assert.equal(lookIds([3, -1]), null);
  assert.equal(lookIds([3, 1.5]), null);
  assert.equal(lookIds('3,5'), null);
  assert.ok(isId(0));
  assert.ok(!isId('1'));
});

test('a look goes by the number the mirror shows, not its place in the comparison', () => {
  const [first, second] = lookIds([2, 5]);
  assert.equal(lookNumber(first), 2);
  assert.equal(lookNumber(second), 5);
});

test('a vote goes out only for a look of the open comparison', () => {
  const compare = { round: 2, ids: [3, 5], open: true };
  assert.deepEqual(voteMessage(compare, 5), { type: 'vote', round: 2, look: 5 });
  assert.equal(voteMessage(compare, 4), null);
  assert.equal(voteMessage({ ...compare, open: false }, 5), null);
  assert.equal(voteMessage({ round: null, ids: [], open: false }, 5), null);
});

test('tallies keep only entries with an id and a count', () => {
  const good = { look: 3, votes: 2 };
  assert.deepEqual(validVotes([good, { look: 4, votes: -1 }, { look: 'x', votes: 1 }, null]), [good]);
  assert.deepEqual(validVotes('nope'), []);
});

test('stills: base64 only, and no more than a session holds', () => {
  assert.equal(stillUrl('QUJD'), 'data:image/jpeg;base64,QUJD');
  assert.equal(stillUrl('<svg>'), null);
  assert.equal(stillUrl(42), null);
  const stills = new Map();
  for (let id = 0; id <= MAX_LOOKS; id += 1) keepStill(stills, id, `u${id}`);
  assert.equal(stills.size, MAX_LOOKS);
  assert.ok(!stills.has(0), 'the oldest still goes first');
  keepStill(stills, 1, 'again'); // kept again: now the newest
  keepStill(stills, MAX_LOOKS + 1, 'new');
  assert.ok(stills.has(1));
  assert.ok(!stills.has(2));
});

test('chat lines are trimmed and bounded', () => {
  assert.deepEqual(chatMessage('  so good '), { type: 'chat', text: 'so good' });
  assert.equal(chatMessage(' \t '), null);
  const longest = 'é'.repeat(MAX_CHAT_CHARS);
  assert.deepEqual(chatMessage(longest), { type: 'chat', text: longest });
  assert.equal(chatMessage(`${longest}!`), null);
});

test('only known reactions are sent', () => {
  for (const { name } of REACTIONS) assert.deepEqual(reactionMessage(name), { type: 'reaction', reaction: name });
  assert.equal(reactionMessage('poop'), null);
});

test('the closed vote names its winner by the number the mirror shows, or says it is a tie', () => {
  assert.deepEqual(result([{ look: 3, votes: 2 }, { look: 5, votes: 1 }]), { key: 'looks.winner', n: 3, winner: 3 });
  assert.deepEqual(result([{ look: 3, votes: 1 }, { look: 5, votes: 1 }]), { key: 'looks.tie', winner: null });
  assert.deepEqual(result([{ look: 3, votes: 0 }, { look: 5, votes: 0 }]), { key: 'looks.no_votes', winner: null });
  assert.deepEqual(result([]), { key: 'looks.no_votes', winner: null });
  assert.deepEqual(result([{ look: 5, votes: 4 }, { look: -1, votes: 9 }]).winner, 5, 'a malformed entry does not win');
});
