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
      // Unhealthy renditions and shed video, in the reader's language, in red.
      const health = field("health");
      const notes = s.problems.concat(s.degraded ? [s.degraded] : []);
      health.hidden = notes.length === 0;
      health.textContent = notes.join(" ");
    } catch (err) {
      field("input").textContent = "?";
    }
  }
  refresh();
  setInterval(refresh, 2000);
})();
