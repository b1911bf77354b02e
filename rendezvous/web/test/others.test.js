import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arrange, othersOk } from '../others.js';

const shown = [
  { slot: 0, name: 'Ana' },
  { slot: 2, name: 'Camille' },
  { slot: 1, name: 'Jo' },
];

test('without anyone talking the tiles keep their slot order', () => {
  assert.deepEqual(
    arrange(shown, []).map((t) => t.name),
    ['Ana', 'Jo', 'Camille'],
  );
});

test('whoever talks moves to the top with a ring, the latest first', () => {
  const tiles = arrange(shown, ['Jo', 'Camille']);
  assert.deepEqual(tiles.map((t) => [t.name, t.talking]), [
    ['Camille', true],
    ['Jo', true],
    ['Ana', false],
  ]);
  assert.deepEqual(arrange(shown, ['Léo']).map((t) => t.name), ['Ana', 'Jo', 'Camille'], 'a name not shown');
});

test('an others list is checked before it is drawn', () => {
  const nameOk = (n) => typeof n === 'string' && n.trim() !== '';
  assert.ok(othersOk(shown, 7, nameOk));
  assert.ok(othersOk([], 7, nameOk));
  assert.ok(!othersOk('Ana', 7, nameOk));
  assert.ok(!othersOk([{ slot: 7, name: 'Ana' }], 7, nameOk), 'a slot the page does not have');
  assert.ok(!othersOk([{ slot: 0, name: 'Ana' }, { slot: 0, name: 'Jo' }], 7, nameOk), 'one slot twice');
  assert.ok(!othersOk([{ slot: 1.5, name: 'Ana' }], 7, nameOk));
  assert.ok(!othersOk([{ slot: 0, name: '' }], 7, nameOk));
  assert.ok(!othersOk([null], 7, nameOk));
});
