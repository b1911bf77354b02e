// The guest's RTCPeerConnection to the unit: the guest offers, the unit answers (it never
// offers). After a network blip the guest offers again on the same connection to restart
// ICE (restartIce, driven by reconnect.js); the unit answers that too. Video and audio
// transceivers are sendrecv (recvonly without a camera) so the unit's media comes back; one
// data channel, label "visavis", carries reactions, chat and votes.
//
// The camera goes as simulcast: a small layer the unit forwards to the other guests and the
// full one for the unit's screen. After its own transceivers the page offers FORWARD_SLOTS
// receive-only video transceivers, the slots: the unit fills them with other guests'
// pictures (the `others` data-channel message says whose), with no renegotiation. Then
// VOICE_SLOTS receive-only audio transceivers, the voice slots: the unit fills them with
// other guests' voices while they talk, unmixed (less delay than the mix on the audio
// transceiver), also with no renegotiation. Their tracks stay out of the remote stream (a
// <video> plays only its stream's first audio track): onVoiceTrack gets them.

import {
  DATA_CHANNEL_LABEL,
  FORWARD_SLOTS,
  FULL_RID,
  SMALL_LAYER_KBPS,
  SMALL_LAYER_SCALE,
  SMALL_RID,
  VOICE_SLOTS,
} from './limits.js';

/** The camera's layers: the small one at half the size each way, for the others' strips. */
export const SEND_ENCODINGS = [
  { rid: SMALL_RID, scaleResolutionDownBy: SMALL_LAYER_SCALE, maxBitrate: SMALL_LAYER_KBPS * 1000 },
  { rid: FULL_RID },
];

/** The shape of window.visavisGuest.stats(), all zero. */
export function emptyStats() {
  return {
    framesDecoded: 0,
    frameWidth: 0,
    frameHeight: 0,
    framesPerSecond: 0,
    videoBytesReceived: 0,
    audioPacketsReceived: 0,
    framesSent: 0,
    audioPacketsSent: 0,
  };
}

export class Call {
  /**
   * @param {object} opts
   * @param {RTCIceServer[]} opts.iceServers
   * @param {MediaStream|null} opts.localStream null: receive only
   * @param {(payload: object) => void} opts.sendSignal SignalPayload to the unit
   * @param {(stream: MediaStream) => void} opts.onRemoteStream the room's picture and sound
   * @param {(slot: number, track: MediaStreamTrack) => void} [opts.onSlotTrack] a slot's track
   * @param {(slot: number, track: MediaStreamTrack) => void} [opts.onVoiceTrack] a voice
   *   slot's track, to play on its own
   * @param {(state: string) => void} opts.onConnectionState
   * @param {(msg: object) => void} opts.onData
   */
  constructor(opts) {
    this.opts = opts;
    this.pc = null;
    this.channel = null;
    this.remoteStream = new MediaStream();
    this.pendingCandidates = [];
    this.remoteShown = false;
    /** The room's video and audio transceivers, then the slots' and the voice slots', in order. */
    this.camera = null;
    this.sound = null;
    this.slots = [];
    this.voices = [];
  }

  async start() {
    const { iceServers, localStream } = this.opts;
    // One transport for every section (the unit bundles them all): candidates are gathered
    // once, not for each of the seventeen sections, which would outrun rendezvous' limit on
    // a guest's signals.
    const pc = new RTCPeerConnection({ iceServers: iceServers ?? [], bundlePolicy: 'max-bundle' });
    this.pc = pc;

    const streams = localStream ? [localStream] : [];
    const video = localStream?.getVideoTracks()[0];
    const audio = localStream?.getAudioTracks()[0];
    this.camera = video
      ? pc.addTransceiver(video, { direction: 'sendrecv', streams, sendEncodings: SEND_ENCODINGS })
      : pc.addTransceiver('video', { direction: 'recvonly' });
    this.sound = pc.addTransceiver(audio ?? 'audio', { direction: audio ? 'sendrecv' : 'recvonly', streams });
    for (let i = 0; i < FORWARD_SLOTS; i += 1) this.slots.push(pc.addTransceiver('video', { direction: 'recvonly' }));
    for (let i = 0; i < VOICE_SLOTS; i += 1) this.voices.push(pc.addTransceiver('audio', { direction: 'recvonly' }));

    pc.addEventListener('track', (event) => {
      const slot = this.slots.indexOf(event.transceiver);
      if (slot >= 0) {
        this.opts.onSlotTrack?.(slot, event.track);
        return;
      }
      const voice = this.voices.indexOf(event.transceiver);
      if (voice >= 0) {
        this.opts.onVoiceTrack?.(voice, event.track);
        return;
      }
      this.remoteStream.addTrack(event.track);
      if (!this.remoteShown) {
        this.remoteShown = true;
        this.opts.onRemoteStream(this.remoteStream);
      }
    });
    pc.addEventListener('icecandidate', (event) => {
      const c = event.candidate;
      if (c && c.candidate === '') return; // per-section end marker; one marker is sent below
      this.opts.sendSignal({
        kind: 'candidate',
        candidate: c ? c.candidate : '',
        sdp_mid: c ? c.sdpMid : null,
        sdp_mline_index: c ? c.sdpMLineIndex : null,
      });
    });
    pc.addEventListener('connectionstatechange', () => {
      this.opts.onConnectionState(pc.connectionState);
    });

    this.channel = pc.createDataChannel(DATA_CHANNEL_LABEL);
    this.channel.addEventListener('message', (event) => {
      try {
        this.opts.onData(JSON.parse(event.data));
      } catch {
        console.warn('visavis: unreadable data-channel message');
      }
    });

    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    this.opts.sendSignal({ kind: 'offer', sdp: pc.localDescription.sdp });
  }

  /**
   * Restart ICE: a new offer with new ICE credentials on the same connection, sent to the
   * unit. An offer still unanswered (the unit was away) is rolled back first. Rejects if the
   * offer could not be sent (no signaling socket).
   */
  async restartIce() {
    const pc = this.pc;
    if (!pc || pc.signalingState === 'closed') throw new Error('the call is closed');
    if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' });
    this.pendingCandidates = [];
    pc.restartIce();
    const offer = await pc.createOffer({ iceRestart: true });
    await pc.setLocalDescription(offer);
    if (!this.opts.sendSignal({ kind: 'offer', sdp: pc.localDescription.sdp })) {
      throw new Error('the signaling socket is closed');
    }
  }

  /** Roll back a restart's offer that was never answered (the call went on without it). */
  async abandonOffer() {
    const pc = this.pc;
    if (!pc || pc.signalingState !== 'have-local-offer') return;
    await pc.setLocalDescription({ type: 'rollback' });
    this.pendingCandidates = [];
  }

  /** Apply a SignalPayload from the unit. */
  async handleSignal(payload) {
    const pc = this.pc;
    if (!pc || pc.signalingState === 'closed') return;
    switch (payload.kind) {
      case 'answer':
        if (pc.signalingState !== 'have-local-offer') {
          // The answer to an offer a newer one replaced (the unit was slow to get it).
          console.warn('visavis: an answer to an older offer was ignored');
          return;
        }
        await pc.setRemoteDescription({ type: 'answer', sdp: payload.sdp });
        for (const c of this.pendingCandidates.splice(0)) await this.addCandidate(c);
        break;
      case 'candidate':
        // Held until the answer they belong with is applied (after a restart, too).
        if (!pc.remoteDescription || pc.signalingState === 'have-local-offer') this.pendingCandidates.push(payload);
        else await this.addCandidate(payload);
        break;
      default:
        console.warn('visavis: unknown signal', payload.kind);
    }
  }

  async addCandidate(payload) {
    try {
      if (!payload.candidate) {
        await this.pc.addIceCandidate();
        return;
      }
      const init = { candidate: payload.candidate };
      if (payload.sdp_mid != null) init.sdpMid = payload.sdp_mid;
      if (payload.sdp_mline_index != null) init.sdpMLineIndex = payload.sdp_mline_index;
      if (init.sdpMid === undefined && init.sdpMLineIndex === undefined) init.sdpMLineIndex = 0;
      await this.pc.addIceCandidate(init);
    } catch (e) {
      console.warn('visavis: ICE candidate refused', e);
    }
  }

  /** Send a JSON message on the data channel; false if it is not open. */
  send(msg) {
    if (!this.channel || this.channel.readyState !== 'open') return false;
    this.channel.send(JSON.stringify(msg));
    return true;
  }

  /** Counters from getStats(), in the shape of the DOM contract: the room's picture and
   * sound, and the full layer of the guest's camera (the others' pictures: slotStats; their
   * voices are left out). */
  async stats() {
    const out = emptyStats();
    if (!this.pc) return out;
    const report = await this.pc.getStats();
    const roomMid = this.camera?.mid;
    const soundMid = this.sound?.mid;
    report.forEach((s) => {
      const kind = s.kind ?? s.mediaType;
      if (s.type === 'inbound-rtp' && kind === 'video') {
        if (roomMid != null && s.mid != null && s.mid !== roomMid) return;
        out.framesDecoded += s.framesDecoded ?? 0;
        out.frameWidth = s.frameWidth ?? out.frameWidth;
        out.frameHeight = s.frameHeight ?? out.frameHeight;
        out.framesPerSecond = s.framesPerSecond ?? out.framesPerSecond;
        out.videoBytesReceived += s.bytesReceived ?? 0;
      } else if (s.type === 'inbound-rtp' && kind === 'audio') {
        if (soundMid != null && s.mid != null && s.mid !== soundMid) return;
        out.audioPacketsReceived += s.packetsReceived ?? 0;
      } else if (s.type === 'outbound-rtp' && kind === 'video') {
        if (s.rid && s.rid !== FULL_RID) return;
        out.framesSent += s.framesSent ?? 0;
      } else if (s.type === 'outbound-rtp' && kind === 'audio') {
        out.audioPacketsSent += s.packetsSent ?? 0;
      }
    });
    return out;
  }

  /** Send the camera's small layer (for the other guests) or not: a unit that does not
   * forward guests' pictures to each other would only throw it away. */
  smallLayer(on) {
    return this.setLayer(SMALL_RID, on);
  }

  /** Send the camera's full layer (for the unit's screen) or not: a unit whose screen
   * shows small tiles decodes the small layer and would throw the full one away. */
  fullLayer(on) {
    return this.setLayer(FULL_RID, on);
  }

  /** Send the camera's layer `rid` or not, after the changes asked before (a sender takes
   * one getParameters/setParameters round at a time). */
  setLayer(rid, on) {
    return this.changeLayer(rid, (layer) => {
      if (layer.active === on) return false;
      layer.active = on;
      return true;
    });
  }

  /** Send the small layer (the others' picture of this guest) at most `kbps` kbit/s and
   * `fps` frames a second, as the unit asks when a full table must fit in its uplink. */
  smallLayerRate(kbps, fps) {
    this.askedSmallRate = { kbps, fps };
    return this.changeLayer(SMALL_RID, (layer) => {
      const bps = kbps * 1000;
      if (layer.maxBitrate === bps && layer.maxFramerate === fps) return false;
      layer.maxBitrate = bps;
      layer.maxFramerate = fps;
      return true;
    });
  }

  /** Set the small layer back to what it was asked (its first size, and the rate the unit
   * asked or the usual one): the unit stopped forwarding it because it came faster. */
  keepSmallLayer() {
    const asked = this.askedSmallRate ?? { kbps: SMALL_LAYER_KBPS, fps: undefined };
    return this.changeLayer(SMALL_RID, (layer) => {
      layer.scaleResolutionDownBy = SMALL_LAYER_SCALE;
      layer.maxBitrate = asked.kbps * 1000;
      if (asked.fps === undefined) delete layer.maxFramerate;
      else layer.maxFramerate = asked.fps;
      return true;
    });
  }

  /** Apply `change` to the camera's encoding `rid` (it says whether it changed anything),
   * after the changes asked before. */
  changeLayer(rid, change) {
    const next = (this.layerChange ?? Promise.resolve()).catch(() => {}).then(() => this.applyChange(rid, change));
    this.layerChange = next;
    return next;
  }

  async applyChange(rid, change) {
    const sender = this.camera?.sender;
    if (!sender?.track) return;
    const params = sender.getParameters();
    const layer = params.encodings?.find((e) => e.rid === rid);
    if (!layer || !change(layer)) return;
    await sender.setParameters(params);
  }

  /** Each slot's received picture: [{slot, framesDecoded, frameWidth, frameHeight,
   * framesPerSecond, bytesReceived}], slots that never received anything left out. */
  async slotStats() {
    const out = [];
    for (const [slot, t] of this.slots.entries()) {
      if (t.currentDirection !== 'recvonly') continue;
      const report = await t.receiver.getStats();
      report.forEach((s) => {
        if (s.type !== 'inbound-rtp' || !s.bytesReceived) return;
        out.push({
          slot,
          framesDecoded: s.framesDecoded ?? 0,
          frameWidth: s.frameWidth ?? 0,
          frameHeight: s.frameHeight ?? 0,
          framesPerSecond: s.framesPerSecond ?? 0,
          bytesReceived: s.bytesReceived ?? 0,
        });
      });
    }
    return out;
  }

  close() {
    try {
      this.channel?.close();
      this.pc?.close();
    } catch {
      // already closed
    }
    for (const track of this.remoteStream.getTracks()) track.stop();
  }
}
