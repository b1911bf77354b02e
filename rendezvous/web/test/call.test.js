// call.js's transceivers and where each received track goes, on a fake RTCPeerConnection.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Call } from '../call.js';
import { FORWARD_SLOTS, VOICE_SLOTS } from '../limits.js';

/** Just what Call.start() uses of an RTCPeerConnection. */
class FakePc {
  constructor() {
    this.transceivers = [];
    this.listeners = {};
  }

  addTransceiver(trackOrKind, init) {
    const kind = typeof trackOrKind === 'string' ? trackOrKind : trackOrKind.kind;
    const transceiver = { kind, direction: init.direction };
    this.transceivers.push(transceiver);
    return transceiver;
  }

  addEventListener(type, f) {
    this.listeners[type] = f;
  }

  createDataChannel() {
    return { addEventListener() {} };
  }

  async createOffer() {
    return { type: 'offer', sdp: 'v=0' };
  }

  async setLocalDescription(description) {
    this.localDescription = description;
  }
}

class FakeStream {
  constructor(tracks = []) {
    this.tracks = [...tracks];
  }

  addTrack(track) {
    this.tracks.push(track);
  }

  getTracks() {
    return this.tracks;
  }
}

globalThis.RTCPeerConnection = FakePc;
globalThis.MediaStream = FakeStream;

/** A started receive-only call, and what its callbacks were given. */
async function started() {
  const seen = { remote: [], slots: [], voices: [] };
  const call = new Call({
    iceServers: [],
    localStream: null,
    sendSignal: () => true,
    onRemoteStream: (stream) => seen.remote.push(stream),
    onSlotTrack: (slot, track) => seen.slots.push([slot, track.id]),
    onVoiceTrack: (slot, track) => seen.voices.push([slot, track.id]),
    onConnectionState: () => {},
    onData: () => {},
  });
  await call.start();
  const arrive = (transceiver, id) => call.pc.listeners.track({ transceiver, track: { id, kind: transceiver.kind } });
  return { call, seen, arrive };
}

test('the offer has the room video and audio, then the picture slots, then the voice slots', async () => {
  const { call } = await started();
  const kinds = call.pc.transceivers.map((t) => `${t.kind} ${t.direction}`);
  assert.deepEqual(kinds, [
    'video recvonly',
    'audio recvonly',
    ...Array(FORWARD_SLOTS).fill('video recvonly'),
    ...Array(VOICE_SLOTS).fill('audio recvonly'),
  ]);
  assert.deepEqual(call.voices, call.pc.transceivers.slice(2 + FORWARD_SLOTS));
});

test('a voice track goes to its slot, not into the remote stream', async () => {
  const { call, seen, arrive } = await started();
  const [video, audio] = call.pc.transceivers;
  arrive(video, 'room-video');
  arrive(audio, 'room-audio');
  arrive(call.slots[1], 'picture');
  arrive(call.voices[0], 'voice-a');
  arrive(call.voices[VOICE_SLOTS - 1], 'voice-b');
  assert.equal(seen.remote.length, 1, 'the remote stream is handed over once');
  assert.deepEqual(seen.remote[0].getTracks().map((t) => t.id), ['room-video', 'room-audio']);
  assert.deepEqual(seen.slots, [[1, 'picture']]);
  assert.deepEqual(seen.voices, [
    [0, 'voice-a'],
    [VOICE_SLOTS - 1, 'voice-b'],
  ]);
});
