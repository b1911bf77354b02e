// Every string of the Visavis guest app, in French and English.
// The language follows navigator.language: fr* → French, anything else → English.

/** Every string, by language then key (test/i18n.test.js checks both have the same keys). */
export const catalogue = {
  en: {
    'app.title': 'Visavis — live video',
    'join.title': 'You’re invited to a live video',
    'join.lead': 'Type your name. Someone in the room will see it and let you in.',
    'join.name_label': 'Your name',
    'join.name_placeholder': 'e.g. Camille',
    'join.button': 'Join',
    'share.button': 'Send to friends',
    'share.title': 'Come and see, live',
    'share.text': 'Join me live on Visavis: tap the link, type your name, and I’ll let you in.',
    'share.text_place': 'Join me live at {n} on Visavis: tap the link, type your name, and I’ll let you in.',
    'share.copied': 'Link copied: paste it in a message to your friends.',
    'share.manual': 'Copy this link and send it to your friends:',
    'join.title.fitting-room': 'Someone in the fitting room wants your opinion',
    'join.title.table': 'You’re invited to join a dinner, live',
    'waiting.preview': 'Your camera, seen only by you',
    'waiting.check': 'Check my camera',
    'waiting.check_off': 'Stop the camera check',
    'waiting.check_note': 'Only you see this check. Nothing is sent before you’re let in.',
    'bar.mic': 'Mic',
    'bar.mic_off': 'Mic off',
    'bar.camera': 'Camera',
    'bar.camera_off': 'Camera off',
    'bar.react': 'React',
    'bar.chat': 'Chat',
    'leave.title': 'Leave the call?',
    'leave.text': 'You can come back while the invitation is valid.',
    'leave.stay': 'Stay',
    'leave.confirm': 'Leave',
    'live.one': 'LIVE · 1 watching',
    'live.many': 'LIVE · {n} watching',
    'looks.minimise': 'Minimise the vote',
    'looks.expand': 'Show the vote',
    'looks.open_summary': 'Vote open: which look?',
    'looks.winner': 'Look {n} wins',
    'looks.tie': 'It’s a tie',
    'looks.no_votes': 'No votes',
    'join.connecting': 'Connecting…',
    'join.privacy':
      'Your camera and microphone only start once you are let in. When the session ends, everything from it is erased.',
    'join.name_empty': 'Type your name first.',
    'join.name_too_long': 'Your name is too long ({n} characters at most).',
    'join.name_invalid': 'This name can’t be used. Try another one.',
    'join.left': 'You left the call. You can join again while the invitation is valid.',
    'waiting.title': 'Waiting to be let in…',
    'waiting.text': 'Someone in the room has been told you’re here. Keep this page open.',
    'call.connecting': 'Connecting the video…',
    'call.reconnecting': 'Reconnecting… the call will pick up again by itself.',
    'call.unit_away': 'The room went offline. Waiting for it to come back…',
    'call.unmute': 'Tap to turn on the sound',
    'call.leave': 'Leave',
    'call.reactions': 'Send a reaction',
    'call.receive_only': 'You are watching without camera or microphone.',
    'call.picture_held': 'The others can’t see you for now: your phone sends more than the call can carry. You’ll be back as soon as it sends less.',
    'call.remote': 'Live video from the room',
    'call.local': 'Your camera',
    'call.others': 'The other guests',
    'reaction.heart': 'Love it',
    'reaction.thumbs_up': 'Yes',
    'reaction.fire': 'Stunning',
    'reaction.laugh': 'Funny',
    'reaction.wow': 'Wow',
    'reaction.clap': 'Bravo',
    'call.camera_off': 'The camera is paused in the room.',
    'looks.title': 'Which look do you prefer?',
    'looks.look': 'Look {n}',
    'looks.vote_for': 'Vote for look {n}',
    'looks.votes': 'Votes: {n}',
    'looks.closed': 'The vote is closed.',
    'chat.placeholder': 'Write a message',
    'chat.send': 'Send',
    'perm.denied.title': 'Your camera and microphone are blocked',
    'perm.denied.text':
      'You’re in, but your browser did not let this page use the camera and microphone.',
    'perm.no_device.title': 'No camera or microphone found',
    'perm.no_device.text':
      'This phone has no camera or microphone available, or another app is using them. Close the other app and try again.',
    'perm.insecure.title': 'The camera needs a secure link',
    'perm.insecure.text':
      'This page was not opened over HTTPS, so the browser will not share the camera. Ask for a link starting with https://.',
    'perm.howto.title': 'How to allow them',
    'perm.howto.android':
      'Android (Chrome): tap the icon left of the address bar → Permissions → allow Camera and Microphone, then tap “Try again”.',
    'perm.howto.ios':
      'iPhone (Safari): tap “aA” in the address bar → Website Settings → set Camera and Microphone to Allow, then tap “Try again”.',
    'perm.howto.other':
      'Other browsers: look for a camera icon in the address bar, or for Site settings in the browser’s settings.',
    'perm.retry': 'Try again',
    'perm.receive_only': 'Join without camera or microphone',
    'perm.receive_only_hint': 'You will see and hear the room; the people there won’t see or hear you.',
    'denied.title': 'Not right now',
    'denied.text': 'The person in the room didn’t let you in this time.',
    'ended.title': 'The session has ended',
    'ended.text': 'Everything from it was erased. Thank you for joining!',
    'removed.title': 'The call has ended for you',
    'removed.text': 'The connection was lost for too long. To join again, ask for a new invitation.',
    'place_ended.title': 'Your place in the call has ended',
    'place_ended.text':
      'Your connection was away for too long, so the room let your place go. To join again, ask for a new invitation.',
    'error.title': 'Something went wrong',
    'error.reason': 'Reason:',
    'error.device_offline':
      'The unit in the room is not connected right now. Try again in a moment.',
    'error.not_allowed': 'The server refused this request.',
    'error.full': 'This call is full. Try again later.',
    'error.network': 'Could not reach the server. Check your connection and try again.',
    'error.lost': 'The connection to the server was lost.',
    'error.room_offline':
      'The room went offline and the call has ended. To join again, ask for a new invitation.',
    'error.reconnect_failed':
      'The connection to the room was lost and could not be restored within a minute. Check your network; to join again, ask for a new invitation.',
    'error.connection_failed':
      'The video connection could not be set up. Your network may be blocking it: try another Wi-Fi network or mobile data.',
    'error.internal': 'The server had a problem. Please try again.',
    'error.unexpected': 'Something unexpected happened.',
    'again': 'Try again',
    'invalid.unknown.title': 'This invitation link doesn’t work',
    'invalid.unknown.text':
      'Check that the link is complete, or ask the person who invited you for a new one.',
    'invalid.expired.title': 'This invitation link has expired',
    'invalid.expired.text':
      'Invitations only last a few minutes. Ask the person who invited you for a new one.',
    'invalid.ended.title': 'This session has ended',
    'invalid.ended.text':
      'Everything from it was erased. To join again, ask for a new invitation.',
    'invalid.rate-limited.title': 'Too many attempts',
    'invalid.rate-limited.text': 'Please wait a minute, then try again.',
  },
  fr: {
    'app.title': 'Visavis — vidéo en direct',
    'join.title': 'Vous êtes invité·e à une vidéo en direct',
    'join.lead': 'Indiquez votre prénom. Une personne sur place le verra et vous fera entrer.',
    'join.name_label': 'Votre prénom',
    'join.name_placeholder': 'ex. Camille',
    'join.button': 'Rejoindre',
    'share.button': 'Envoyer à des amis',
    'share.title': 'Venez voir, en direct',
    'share.text': 'Rejoignez-moi en direct sur Visavis : touchez le lien, indiquez votre prénom, je vous fais entrer.',
    'share.text_place': 'Rejoignez-moi en direct à {n} sur Visavis : touchez le lien, indiquez votre prénom, je vous fais entrer.',
    'share.copied': 'Lien copié : collez-le dans un message à vos amis.',
    'share.manual': 'Copiez ce lien et envoyez-le à vos amis :',
    'join.title.fitting-room': 'Quelqu’un en cabine aimerait votre avis',
    'join.title.table': 'Vous êtes invité·e à partager un dîner, en direct',
    'waiting.preview': 'Votre caméra, vue de vous seul·e',
    'waiting.check': 'Tester ma caméra',
    'waiting.check_off': 'Arrêter le test',
    'waiting.check_note': 'Vous seul·e voyez ce test. Rien n’est envoyé avant qu’on vous fasse entrer.',
    'bar.mic': 'Micro',
    'bar.mic_off': 'Micro coupé',
    'bar.camera': 'Caméra',
    'bar.camera_off': 'Caméra coupée',
    'bar.react': 'Réagir',
    'bar.chat': 'Écrire',
    'leave.title': 'Quitter l’appel ?',
    'leave.text': 'Vous pourrez revenir tant que l’invitation est valable.',
    'leave.stay': 'Rester',
    'leave.confirm': 'Quitter',
    'live.one': 'EN DIRECT · 1 regarde',
    'live.many': 'EN DIRECT · {n} regardent',
    'looks.minimise': 'Réduire le vote',
    'looks.expand': 'Afficher le vote',
    'looks.open_summary': 'Vote en cours : quelle tenue ?',
    'looks.winner': 'La tenue {n} l’emporte',
    'looks.tie': 'Égalité',
    'looks.no_votes': 'Aucun vote',
    'join.connecting': 'Connexion…',
    'join.privacy':
      'Votre caméra et votre micro ne démarrent qu’une fois que l’on vous a fait entrer. À la fin de la session, tout ce qui en faisait partie est effacé.',
    'join.name_empty': 'Indiquez d’abord votre prénom.',
    'join.name_too_long': 'Votre prénom est trop long ({n} caractères au maximum).',
    'join.name_invalid': 'Ce prénom ne peut pas être utilisé. Essayez-en un autre.',
    'join.left': 'Vous avez quitté l’appel. Vous pouvez revenir tant que l’invitation est valable.',
    'waiting.title': 'En attente d’autorisation…',
    'waiting.text': 'Les personnes sur place savent que vous êtes là. Gardez cette page ouverte.',
    'call.connecting': 'Connexion de la vidéo…',
    'call.reconnecting': 'Reconnexion… l’appel va reprendre tout seul.',
    'call.unit_away': 'La pièce est hors ligne. En attente de son retour…',
    'call.unmute': 'Touchez pour activer le son',
    'call.leave': 'Quitter',
    'call.reactions': 'Envoyer une réaction',
    'call.receive_only': 'Vous regardez sans caméra ni micro.',
    'call.picture_held': 'Les autres ne vous voient plus pour l’instant : votre téléphone envoie plus que l’appel ne peut porter. Vous réapparaîtrez dès qu’il enverra moins.',
    'call.remote': 'Vidéo en direct depuis la salle',
    'call.local': 'Votre caméra',
    'call.others': 'Les autres invités',
    'reaction.heart': 'J’adore',
    'reaction.thumbs_up': 'Oui',
    'reaction.fire': 'Canon',
    'reaction.laugh': 'Drôle',
    'reaction.wow': 'Waouh',
    'reaction.clap': 'Bravo',
    'call.camera_off': 'La caméra est en pause dans la pièce.',
    'looks.title': 'Quelle tenue préférez-vous ?',
    'looks.look': 'Tenue {n}',
    'looks.vote_for': 'Voter pour la tenue {n}',
    'looks.votes': 'Votes : {n}',
    'looks.closed': 'Le vote est clos.',
    'chat.placeholder': 'Écrire un message',
    'chat.send': 'Envoyer',
    'perm.denied.title': 'Votre caméra et votre micro sont bloqués',
    'perm.denied.text':
      'Vous êtes entré·e, mais votre navigateur n’a pas autorisé cette page à utiliser la caméra et le micro.',
    'perm.no_device.title': 'Aucune caméra ni aucun micro trouvé',
    'perm.no_device.text':
      'Ce téléphone n’a pas de caméra ou de micro disponible, ou une autre application les utilise. Fermez-la et réessayez.',
    'perm.insecure.title': 'La caméra demande un lien sécurisé',
    'perm.insecure.text':
      'Cette page n’a pas été ouverte en HTTPS : le navigateur refuse donc de partager la caméra. Demandez un lien commençant par https://.',
    'perm.howto.title': 'Comment les autoriser',
    'perm.howto.android':
      'Android (Chrome) : touchez l’icône à gauche de la barre d’adresse → Autorisations → autorisez Caméra et Micro, puis touchez « Réessayer ».',
    'perm.howto.ios':
      'iPhone (Safari) : touchez « aA » dans la barre d’adresse → Réglages du site web → Caméra et Micro sur Autoriser, puis touchez « Réessayer ».',
    'perm.howto.other':
      'Autres navigateurs : cherchez une icône de caméra dans la barre d’adresse, ou les Paramètres des sites dans les réglages du navigateur.',
    'perm.retry': 'Réessayer',
    'perm.receive_only': 'Rejoindre sans caméra ni micro',
    'perm.receive_only_hint':
      'Vous verrez et entendrez la salle ; les personnes sur place ne vous verront ni ne vous entendront.',
    'denied.title': 'Pas pour le moment',
    'denied.text': 'La personne sur place ne vous a pas fait entrer cette fois-ci.',
    'ended.title': 'La session est terminée',
    'ended.text': 'Tout ce qui en faisait partie a été effacé. Merci d’avoir participé !',
    'removed.title': 'L’appel est terminé pour vous',
    'removed.text': 'La connexion a été coupée trop longtemps. Pour revenir, demandez une nouvelle invitation.',
    'place_ended.title': 'Votre place dans l’appel a pris fin',
    'place_ended.text':
      'Votre connexion a été absente trop longtemps : la salle a libéré votre place. Pour revenir, demandez une nouvelle invitation.',
    'error.title': 'Un problème est survenu',
    'error.reason': 'Raison :',
    'error.device_offline':
      'L’appareil sur place n’est pas connecté pour le moment. Réessayez dans un instant.',
    'error.not_allowed': 'Le serveur a refusé cette demande.',
    'error.full': 'Cet appel est complet. Réessayez plus tard.',
    'error.network': 'Impossible de joindre le serveur. Vérifiez votre connexion et réessayez.',
    'error.lost': 'La connexion au serveur a été perdue.',
    'error.room_offline':
      'La pièce est hors ligne et l’appel est terminé. Pour revenir, demandez une nouvelle invitation.',
    'error.reconnect_failed':
      'La connexion avec la pièce a été coupée et n’a pas pu être rétablie en une minute. Vérifiez votre réseau ; pour revenir, demandez une nouvelle invitation.',
    'error.connection_failed':
      'La connexion vidéo n’a pas pu être établie. Votre réseau la bloque peut-être : essayez un autre Wi-Fi ou les données mobiles.',
    'error.internal': 'Le serveur a rencontré un problème. Veuillez réessayer.',
    'error.unexpected': 'Un événement inattendu s’est produit.',
    'again': 'Réessayer',
    'invalid.unknown.title': 'Ce lien d’invitation ne fonctionne pas',
    'invalid.unknown.text':
      'Vérifiez que le lien est complet, ou demandez-en un nouveau à la personne qui vous a invité·e.',
    'invalid.expired.title': 'Ce lien d’invitation a expiré',
    'invalid.expired.text':
      'Les invitations ne durent que quelques minutes. Demandez-en une nouvelle à la personne qui vous a invité·e.',
    'invalid.ended.title': 'Cette session est terminée',
    'invalid.ended.text':
      'Tout ce qui en faisait partie a été effacé. Pour participer à nouveau, demandez une nouvelle invitation.',
    'invalid.rate-limited.title': 'Trop de tentatives',
    'invalid.rate-limited.text': 'Patientez une minute, puis réessayez.',
  },
};

/** The page's language: 'fr' or 'en'. */
export const lang = String(globalThis.navigator?.language || 'en').toLowerCase().startsWith('fr') ? 'fr' : 'en';

/**
 * The string for `key` in the page's language (English, then the key, as fallbacks), with
 * `{n}` replaced by `n` when given.
 */
export function t(key, n) {
  const text = catalogue[lang][key] ?? catalogue.en[key] ?? key;
  return n === undefined ? text : text.replace('{n}', String(n));
}

/** Fill `data-i18n` (text), `data-i18n-label` (aria-label) and `data-i18n-placeholder`. */
export function translatePage(root = document) {
  document.documentElement.lang = lang;
  document.title = t('app.title');
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nLabel));
    el.title = t(el.dataset.i18nLabel);
  }
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
}
