// Where the invite leads, said before the guest joins, and the "Send to friends" button
// for the shopper who scanned the code. Rendezvous writes the unit's store, location and
// mode into the page (visavis_api::signaling::InviteInfo, as JSON in
// <script type="application/json" id="invite-info">); the page shows "Paris 9e · Cabine 3"
// on the join and waiting screens. Sharing uses the phone's share sheet
// (navigator.share), else copies the link, else shows it to copy by hand.
// The pure parts are exported for test/where.test.js.

import { t } from './i18n.js';

const MODES = ['fitting-room', 'table'];

/** InviteInfo from the page's JSON text; null when absent or not of that shape. */
export function inviteInfo(text) {
  if (!text) return null;
  let v;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object' || typeof v.store !== 'string' || typeof v.location !== 'string') return null;
  const mode = MODES.includes(v.mode) ? v.mode : null;
  return { store: v.store.trim(), location: v.location.trim(), mode };
}

/** "Paris 9e · Cabine 3": the parts that are known, or '' when none is. */
export function placeText(info) {
  if (!info) return '';
  return [info.store, info.location].filter(Boolean).join(' · ');
}

/** The join screen's title key: by the unit's mode when known. */
export function titleKey(info) {
  return info?.mode ? `join.title.${info.mode}` : 'join.title';
}

/** What the share sheet gets: a title, a line of text and the invite link. */
export function shareData(info, url) {
  const place = placeText(info);
  return { title: t('share.title'), text: place ? t('share.text_place', place) : t('share.text'), url };
}

/**
 * Share `data` with the phone's share sheet, else copy its link. Resolves to 'shared',
 * 'cancelled' (the guest closed the sheet), 'copied', or 'manual' (nothing worked: show
 * the link). `nav` is navigator (a stand-in in tests).
 */
export async function shareLink(nav, data) {
  if (typeof nav?.share === 'function' && (typeof nav.canShare !== 'function' || nav.canShare(data))) {
    try {
      await nav.share(data);
      return 'shared';
    } catch (e) {
      if (e?.name === 'AbortError') return 'cancelled';
      // not allowed here: copy instead
    }
  }
  try {
    await nav.clipboard.writeText(data.url);
    return 'copied';
  } catch {
    return 'manual';
  }
}

/** Read the invite info from the page and show where the invite leads. */
export function showWhere(doc = document) {
  const info = inviteInfo(doc.getElementById('invite-info')?.textContent);
  const place = placeText(info);
  for (const el of doc.querySelectorAll('.where')) {
    el.querySelector('.where-text').textContent = place;
    el.hidden = !place;
  }
  const title = doc.querySelector('.screen-join h1');
  if (title) title.dataset.i18n = titleKey(info);
  return info;
}
