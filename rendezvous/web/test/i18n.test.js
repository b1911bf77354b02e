// The guest page's words: both languages complete, and a text for every screen the page
// can choose (state.js) and every reaction.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { catalogue } from '../i18n.js';
import { ERROR_CODES, REACTIONS } from '../limits.js';
import { CALL_SCREENS, closeAction, connectionAction, errorAction, serverAction } from '../state.js';

const LANGS = ['en', 'fr'];

/** The i18n keys an action of state.js shows. */
function keysOf(action) {
  switch (action.do) {
    case 'finish':
      return [action.title, action.text];
    case 'invalid':
      return [`invalid.${action.reason}.title`, `invalid.${action.reason}.text`];
    case 'fail':
      return ['error.title', action.key];
    case 'name-error':
    case 'status':
      return [action.key];
    default:
      return [];
  }
}

test('French and English have the same keys, none empty', () => {
  assert.deepEqual(Object.keys(catalogue.fr).sort(), Object.keys(catalogue.en).sort());
  for (const lang of LANGS) {
    for (const [key, text] of Object.entries(catalogue[lang])) assert.ok(text.trim(), `${lang} ${key} is empty`);
  }
});

test('every screen the page can choose has its words in both languages', () => {
  const actions = [];
  for (const screen of ['join', 'waiting', ...CALL_SCREENS]) {
    for (const code of ERROR_CODES) actions.push(errorAction(code, screen, 'm'));
    for (const type of ['denied', 'session_ended']) actions.push(serverAction({ type }, screen));
    actions.push(closeAction(screen, { wasOpen: true, finished: false }));
    for (const state of ['connected', 'disconnected', 'failed']) actions.push(connectionAction(state, screen, false));
  }
  for (const reason of ['unknown', 'expired', 'ended', 'rate-limited']) actions.push({ do: 'invalid', reason });
  for (const key of actions.flatMap(keysOf)) {
    for (const lang of LANGS) assert.ok(catalogue[lang][key], `no ${lang} text for ${key}`);
  }
});

test('limits are filled in, not written in the sentences', () => {
  for (const lang of LANGS) {
    assert.match(catalogue[lang]['join.name_too_long'], /\{n\}/, lang);
    for (const [key, text] of Object.entries(catalogue[lang])) assert.doesNotMatch(text, /\b(40|280)\b/, `${lang} ${key}`);
  }
});

test('every reaction has a label in both languages', () => {
  for (const { name } of REACTIONS) {
    for (const lang of LANGS) assert.ok(catalogue[lang][`reaction.${name}`], `${lang} reaction.${name}`);
  }
});
