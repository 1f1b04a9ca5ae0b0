// Staff console: refresh the live ingest status (input, fps, bitrate, dropped frames, health)
// every 2 s.
(function () {
  "use strict";
  const panel = document.getElementById("live-status");
  if (!panel) return;
  const field = function (name) { return panel.querySelector('[data-field="' + name + '"]'); };

  async function refresh() {
    try {
      const response = await fetch(panel.dataset.url, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const s = await response.json();
      if (!s.live) { field("input").textContent = "—"; return; }
      field("input").textContent = s.input_connected ? panel.dataset.connected : panel.dataset.missing;
      field("fps").textContent = s.input_fps + " / " + s.output_fps;
      field("bitrate").textContent = Object.entries(s.bitrate_kbps)
        .map(function (e) { return e[0] + " " + e[1] + " kbps"; }).join(", ");
      field("dropped").textContent = String(s.dropped_frames);
      field("layout").textContent = s.layout;
      const error = field("error");
      error.hidden = !s.last_error && s.storage_ok;
      error.textContent = s.last_error || "";
      // Unhealthy renditions, a low frame rate, restarts and shed video, in the reader's
      // language, in red.
      const health = field("health");
      const notes = s.problems.concat(s.warnings, s.degraded ? [s.degraded] : []);
      health.hidden = notes.length === 0;
      health.textContent = notes.join(" ");
    } catch (err) {
      field("input").textContent = "?";
    }
  }
  refresh();
  setInterval(refresh, 2000);
})();

// The program preview: what residents see, in the small rendition, muted.
(function () {
  "use strict";
  const video = document.getElementById("program-preview");
  if (!video) return;
  function play() {
    if (window.Hls && window.Hls.isSupported()) {
      const hls = new window.Hls({ lowLatencyMode: true, backBufferLength: 10 });
      hls.on(window.Hls.Events.ERROR, function (_event, data) {
        if (data.fatal) setTimeout(function () { hls.startLoad(); }, 2000);
      });
      hls.loadSource(video.dataset.src);
      hls.attachMedia(video);
    } else video.src = video.dataset.src;
    video.play().catch(function () {});
  }
  if (window.Hls || !window.MediaSource) { play(); return; }
  const script = document.createElement("script");
  script.src = video.dataset.hls;
  script.onload = play;
  document.head.append(script);
})();

// The trim form: where each end of the cut really falls (the keyframe it snaps to), with that
// frame, as soon as a time is typed.
(function () {
  "use strict";
  const box = document.querySelector("[data-cut-preview]");
  if (!box) return;
  const form = box.closest("form");
  const sides = { trim_start: "mulai", trim_end: "selesai" };

  async function show(name) {
    const input = form.elements[name];
    const figure = box.querySelector('[data-cut="' + sides[name] + '"]');
    const caption = figure.querySelector("figcaption");
    const image = figure.querySelector("img");
    const typed = input.value.trim();
    if (!typed) { figure.hidden = true; return; }
    const url = box.dataset.url + "?sisi=" + sides[name] + "&t=" + encodeURIComponent(typed);
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const data = await response.json();
      if (input.value.trim() !== typed) return; // typed on since: a newer answer is coming
      figure.hidden = false;
      if (!response.ok) {
        caption.textContent = (data.fields && data.fields[name]) || data.error;
        image.hidden = true;
        return;
      }
      const label = name === "trim_start" ? box.dataset.labelStart : box.dataset.labelEnd;
      caption.textContent = label.replace("{clock}", data.clock);
      figure.dataset.at = data.at;
      image.hidden = !data.image;
      if (data.image) image.src = data.image;
    } catch (error) {
      figure.hidden = true;
    }
  }

  Object.keys(sides).forEach(function (name) {
    form.elements[name].addEventListener("change", function () { show(name); });
    show(name);
  });
})();
