// A microphone recorder and file picker for "try your own voice" (chapter 7).
// Used twice by fser_utils/record.py: in Colab through google.colab.output.eval_js, in
// JupyterLab as the module of an anywidget. Either way it resolves to
// {name, b64}: a file name and its bytes in base64, a 16-bit mono WAV for a recording.

async function fserEncodeWav(blob, rate) {
  // the browser records compressed audio (webm/ogg); decode it here and write a WAV, so
  // that Python can read it without ffmpeg
  const ctx = new AudioContext();
  const decoded = await ctx.decodeAudioData(await blob.arrayBuffer());
  await ctx.close();
  const offline = new OfflineAudioContext(1, Math.ceil(decoded.duration * rate), rate);
  const source = offline.createBufferSource();
  source.buffer = decoded;
  source.connect(offline.destination);
  source.start();
  const pcm = (await offline.startRendering()).getChannelData(0);
  const view = new DataView(new ArrayBuffer(44 + 2 * pcm.length));
  const text = (at, s) => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF"); view.setUint32(4, 36 + 2 * pcm.length, true); text(8, "WAVE");
  text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true);
  view.setUint16(22, 1, true); view.setUint32(24, rate, true);
  view.setUint32(28, 2 * rate, true); view.setUint16(32, 2, true);
  view.setUint16(34, 16, true); text(36, "data"); view.setUint32(40, 2 * pcm.length, true);
  pcm.forEach((x, i) => view.setInt16(44 + 2 * i, Math.max(-1, Math.min(1, x)) * 0x7fff, true));
  return view.buffer;
}

function fserBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function fserVoiceInput(el, seconds, rate) {
  // a "Record" button, a file picker and a status line; resolves with the first clip
  const box = document.createElement("div");
  const record = document.createElement("button");
  const pick = document.createElement("input");
  const status = document.createElement("span");
  record.textContent = `Record ${seconds} s`;
  pick.type = "file";
  pick.accept = "audio/*";
  status.style.marginLeft = "1em";
  box.append(record, " or upload a file: ", pick, status);
  el.appendChild(box);
  return new Promise((resolve, reject) => {
    pick.onchange = async () => {
      const file = pick.files[0];
      status.textContent = `read ${file.name}`;
      resolve({name: file.name, b64: fserBase64(await file.arrayBuffer())});
    };
    record.onclick = async () => {
      try {
        const stream = await navigator.mediaDevices.getUserMedia({audio: true});
        const recorder = new MediaRecorder(stream);
        const chunks = [];
        recorder.ondataavailable = (e) => chunks.push(e.data);
        recorder.onstop = async () => {
          stream.getTracks().forEach((t) => t.stop());
          status.textContent = "recorded; converting";
          const wav = await fserEncodeWav(new Blob(chunks), rate);
          status.textContent = "recorded";
          resolve({name: `recording-${Date.now()}.wav`, b64: fserBase64(wav)});
        };
        recorder.start();
        record.disabled = true;
        status.textContent = `recording for ${seconds} s: act an emotion now`;
        setTimeout(() => recorder.stop(), 1000 * seconds);
      } catch (err) {
        status.textContent = `no microphone: ${err.message}`;
        reject(err);
      }
    };
  });
}
