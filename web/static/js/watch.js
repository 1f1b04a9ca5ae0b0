// Watch page player: hls.js with low-latency mode while live; "Audio saja" switches to the
// audio-only media playlist for residents on slow mobile data.
(function () {
  "use strict";
  const video = document.getElementById("player");
  if (!video) return;
  const live = video.dataset.live === "true";
  const quality = document.getElementById("quality");
  const badge = document.getElementById("live-badge");
  const errorBox = document.getElementById("player-error");
  const LEVELS = { "720p": 720, "360p": 360 };
  let hls = null;
  window.sidangPlayerErrors = [];  // fatal errors, read by support staff and the browser tests
  let source = null;

  function showError(visible) {
    if (!errorBox) return;
    errorBox.hidden = !visible;
    errorBox.textContent = visible ? errorBox.dataset.message : "";
  }

  function load(url, startAt) {
    if (hls) hls.destroy();
    source = url;
    if (window.Hls && window.Hls.isSupported()) {
      hls = new window.Hls({ lowLatencyMode: live, backBufferLength: 60, liveDurationInfinity: true });
      window.sidangHls = hls;
      hls.on(window.Hls.Events.ERROR, function (_event, data) {
        if (!data.fatal) return;
        window.sidangPlayerErrors.push(data.type + ":" + data.details);
        showError(true);
        if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
        else setTimeout(function () { hls.startLoad(); }, 1000);
      });
      hls.on(window.Hls.Events.FRAG_BUFFERED, function () { showError(false); });
      hls.on(window.Hls.Events.MANIFEST_PARSED, function () {
        if (startAt) video.currentTime = startAt;
        pickLevel();
        video.play().catch(function () {});
      });
      hls.loadSource(url);
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = url;
      video.play().catch(function () {});
    }
  }

  function pickLevel() {
    if (!hls || !quality) return;
    const wanted = LEVELS[quality.value];
    if (!wanted) { hls.currentLevel = -1; return; }
    hls.levels.forEach(function (level, index) {
      if (level.height === wanted) hls.currentLevel = index;
    });
  }

  if (quality) {
    quality.addEventListener("change", function () {
      const wantAudio = quality.value === "audio";
      const url = wantAudio ? video.dataset.audioSrc : video.dataset.src;
      if (url !== source) load(url, live ? null : video.currentTime);
      else pickLevel();
    });
  }

  if (badge && live) {
    setInterval(function () {
      if (!hls || typeof hls.latency !== "number" || !isFinite(hls.latency)) return;
      const seconds = hls.latency.toFixed(1).replace(".", ",");
      badge.textContent = badge.dataset.label + " · " + badge.dataset.delayLabel + " " + seconds + " dtk";
    }, 1000);
  }

  load(video.dataset.src, Number(video.dataset.start) || null);
})();
