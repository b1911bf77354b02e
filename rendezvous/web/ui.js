// DOM helpers for the guest app: the body's data-state (the contract tests drive), the
// message screen, the join form's inline error.

import { t } from './i18n.js';

const $ = (id) => document.getElementById(id);

/** Switch screens: sets body[data-state] (and data-reason when given). */
export function setState(screen, reason) {
  document.body.dataset.state = screen;
  if (reason) document.body.dataset.reason = reason;
  else delete document.body.dataset.reason;
  const heading = document.querySelector(`[data-screen~="${screen}"] h1`);
  if (heading) heading.focus({ preventScroll: true });
}

export function state() {
  return document.body.dataset.state;
}

/**
 * Show the message screen for `state` ('denied' | 'ended' | 'error' | 'invalid-invite').
 * @param {{title: string, text: string, detail?: string, again?: boolean, reason?: string}} m
 */
export function showMessage(screen, m) {
  $('message-title').textContent = m.title;
  $('message-text').textContent = m.text;
  const detail = $('message-detail');
  detail.hidden = !m.detail;
  detail.textContent = m.detail ? `${t('error.reason')} ${m.detail}` : '';
  $('again').hidden = !m.again;
  $('message-icon').dataset.kind = screen;
  setState(screen, m.reason);
}

/** The inline error under the name field ('' hides it). */
export function joinError(text) {
  const el = $('join-error');
  el.textContent = text;
  el.hidden = !text;
  $('name').setAttribute('aria-invalid', text ? 'true' : 'false');
}

/** A notice above the join form ('' hides it). */
export function joinNotice(text) {
  const el = $('join-notice');
  el.textContent = text;
  el.hidden = !text;
}

/** Disable the join button while connecting, with a label saying so. */
export function joinBusy(busy) {
  const button = $('join');
  button.disabled = busy;
  button.textContent = t(busy ? 'join.connecting' : 'join.button');
}

/** The status line over the remote video ('' hides it). */
export function callStatus(text) {
  const el = $('call-status');
  el.textContent = text;
  el.hidden = !text;
}
