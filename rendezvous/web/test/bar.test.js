// The call bar's words (bar.js), without a browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { liveText, talkingText, toggleCaption } from '../bar.js';

test('the live pill counts who is watching, and says nothing before it knows', () => {
  assert.equal(liveText(1), 'LIVE · 1 watching');
  assert.equal(liveText(3), 'LIVE · 3 watching');
  for (const nobody of [0, -1, 1.5, undefined, '3']) assert.equal(liveText(nobody), '', String(nobody));
});

test('the talking pill names the first to speak and counts the others', () => {
  assert.equal(talkingText([]), '');
  assert.equal(talkingText(['Jo']), 'Jo');
  assert.equal(talkingText(['Jo', 'Ana', 'Papi']), 'Jo +2');
});

test('a muted mic and a paused camera say so in words', () => {
  assert.equal(toggleCaption('mic', true), 'Mic off');
  assert.equal(toggleCaption('mic', false), 'Mic');
  assert.equal(toggleCaption('camera', true), 'Camera off');
});
