// Values the guest page shares with the Rust side, in one place. Nothing here touches the
// DOM. rendezvous/tests/web_contract.rs loads this module with node and checks every value
// against the visavis_api crate: change one side only and that test fails.

/** Longest guest name, in characters (visavis_api::signaling::MAX_NAME_CHARS). */
export const MAX_NAME_CHARS = 40;

/** Longest chat line, in characters (visavis_api::datachannel::MAX_CHAT_CHARS). */
export const MAX_CHAT_CHARS = 280;

/** Most looks a session holds, so most stills worth keeping (visavis_api::local::MAX_LOOKS). */
export const MAX_LOOKS = 6;

/** Label of the data channel (visavis_api::datachannel::LABEL). */
export const DATA_CHANNEL_LABEL = 'visavis';

/**
 * Other guests' pictures the page can show: it offers this many receive-only video
 * transceivers after its own (visavis_api::datachannel::FORWARD_SLOTS).
 */
export const FORWARD_SLOTS = 7;

/**
 * Other guests' voices the page can play, unmixed: it offers this many receive-only audio
 * transceivers after the slots for pictures (visavis_api::datachannel::VOICE_SLOTS).
 */
export const VOICE_SLOTS = 7;

/** The camera's simulcast layers: small for the other guests, full for the unit's screen
 * (visavis_api::datachannel::SMALL_RID and FULL_RID). */
export const SMALL_RID = 'l';
export const FULL_RID = 'h';

/** What the page asks its camera for: no more than the unit shows (the ideal width and
 * height, visavis_api::datachannel::CAMERA_SIZE), and how many times smaller the small layer
 * is each way (visavis_api::datachannel::SMALL_LAYER_SCALE). */
export const CAMERA_WIDTH = 640;
export const CAMERA_HEIGHT = 480;
export const SMALL_LAYER_SCALE = 2;
/** What the small layer sends at most until the unit says otherwise, kbit/s
 * (visavis_api::datachannel::SMALL_LAYER_KBPS). */
export const SMALL_LAYER_KBPS = 150;

/** Reactions, in the order the page shows them (visavis_api::datachannel::Reaction::ALL). */
export const REACTIONS = [
  { name: 'heart', emoji: '❤️' },
  { name: 'thumbs_up', emoji: '👍' },
  { name: 'fire', emoji: '🔥' },
  { name: 'laugh', emoji: '😂' },
  { name: 'wow', emoji: '😮' },
  { name: 'clap', emoji: '👏' },
];

/** Every code of an `error` message (the serde names of visavis_api::signaling::ErrorCode). */
export const ERROR_CODES = [
  'bad_message',
  'unauthorized',
  'revoked',
  'enrollment_refused',
  'invite_unknown',
  'invite_expired',
  'session_ended',
  'device_offline',
  'rate_limited',
  'invalid_name',
  'invalid_field',
  'unknown_guest',
  'not_allowed',
  'session_full',
  'too_many_invites',
  'replaced',
  'place_ended',
  'internal',
];
