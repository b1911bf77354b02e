// Where the invite leads (where.js), and sharing it, without a browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { inviteInfo, placeText, shareData, shareLink, titleKey } from '../where.js';

test('the page says the store and the place, from what rendezvous wrote', () => {
  const info = inviteInfo('{"store":"Paris 9e","location":"Cabine 3","mode":"fitting-room"}');
  assert.deepEqual(info, { store: 'Paris 9e', location: 'Cabine 3', mode: 'fitting-room' });
  assert.equal(placeText(info), 'Paris 9e · Cabine 3');
  assert.equal(titleKey(info), 'join.title.fitting-room');
  assert.equal(placeText(inviteInfo('{"store":"","location":"Table 12","mode":"table"}')), 'Table 12');
  assert.equal(titleKey(inviteInfo('{"store":"","location":"Table 12","mode":"table"}')), 'join.title.table');
});

test('nothing known, or something unreadable, says nothing of where', () => {
  for (const text of [undefined, '', 'not json', '{"store":1,"location":"x"}', 'null']) {
    assert.equal(inviteInfo(text), null, String(text));
    assert.equal(placeText(inviteInfo(text)), '');
    assert.equal(titleKey(inviteInfo(text)), 'join.title');
  }
  assert.equal(inviteInfo('{"store":"s","location":"l","mode":"disco"}').mode, null);
});

test('the link goes to the share sheet, else to the clipboard, else it is shown', async () => {
  const data = shareData({ store: 'Paris 9e', location: 'Cabine 3' }, 'https://v.example/i/tok');
  assert.equal(data.url, 'https://v.example/i/tok');
  assert.match(data.text, /Paris 9e · Cabine 3/);
  const shared = [];
  const copied = [];
  const clipboard = { writeText: async (s) => copied.push(s) };
  assert.equal(await shareLink({ share: async (d) => shared.push(d), clipboard }, data), 'shared');
  assert.deepEqual(shared, [data]);
  const abort = Object.assign(new Error('closed'), { name: 'AbortError' });
  assert.equal(await shareLink({ share: async () => { throw abort; }, clipboard }, data), 'cancelled');
  assert.equal(copied.length, 0, 'closing the sheet copies nothing');
  assert.equal(await shareLink({ clipboard }, data), 'copied');
  const refused = Object.assign(new Error('no'), { name: 'NotAllowedError' });
  assert.equal(await shareLink({ share: async () => { throw refused; }, clipboard }, data), 'copied');
  assert.deepEqual(copied, [data.url, data.url]);
  assert.equal(await shareLink({}, data), 'manual');
});
