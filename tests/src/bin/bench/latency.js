// Injected into a guest page (the result, 'ok' or why not, lands in window.__visavisProbe) by the benchmark: reads the capture timestamp applianced
// draws into each frame (appliance/src/media/stamp.rs) and records, per displayed frame,
// display time minus capture time on this machine's clock. Also notes the first frame.
window.__visavisProbe = (() => {
  const video = document.querySelector('video#remote');
  if (!video || !video.requestVideoFrameCallback) return 'no video#remote with requestVideoFrameCallback';
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const out = (window.__visavisBench = { samples: [], firstFrameAt: null, frames: 0, unreadable: 0 });
  const blockSize = (w) => Math.max(8, Math.floor(w / 64) & ~1);
  const onFrame = (now, meta) => {
    if (out.firstFrameAt === null) out.firstFrameAt = performance.timeOrigin + now;
    out.frames++;
    const w = meta.width, b = blockSize(w);
    if (56 * b <= w) {
      if (canvas.width !== w || canvas.height !== b) { canvas.width = w; canvas.height = b; }
      ctx.drawImage(video, 0, 0, w, b, 0, 0, w, b);
      const px = ctx.getImageData(0, 0, w, b).data;
      let value = 0, check = 0;
      for (let i = 0; i < 56; i++) {
        const p = ((b >> 1) * w + i * b + (b >> 1)) * 4;
        const bit = (px[p] + px[p + 1] + px[p + 2]) / 3 > 128 ? 1 : 0;
        if (i < 48) value = value * 2 + bit; else check = check * 2 + bit;
      }
      let x = 0, t = value;
      for (let k = 0; k < 6; k++) { x ^= t % 256; t = Math.floor(t / 256); }
      if (x === check && value > 0) out.samples.push(performance.timeOrigin + meta.expectedDisplayTime - value);
      else out.unreadable++;
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  return 'ok';
})();
