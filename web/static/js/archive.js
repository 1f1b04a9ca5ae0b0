// Archive player extras: chapter and caption tracks, agenda items that seek, the poster, and
// the live comments replayed in step with playback. Works with watch.js's #player video.
(function () {
  "use strict";
  const panel = document.getElementById("arsip");
  const video = document.getElementById("player");
  if (!panel || !video) return;
  const base = panel.dataset.base;

  function addTrack(kind, src, label, isDefault) {
    const track = document.createElement("track");
    track.kind = kind;
    track.src = src;
    track.label = label;
    track.srclang = "id";
    if (isDefault) track.default = true;
    video.appendChild(track);
  }
  addTrack("chapters", base + "/bab.vtt", panel.dataset.chaptersLabel, false);
  if (panel.dataset.captions === "true") {
    addTrack("captions", base + "/teks.vtt", panel.dataset.captionsLabel, false);
  }
  if (panel.dataset.poster && !video.poster) video.poster = panel.dataset.poster;

  // Agenda items seek in place; the link itself (/sidang/{id}/agenda/{n}) is the deep link.
  document.querySelectorAll("a.seek[data-seek]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      const at = Number(link.dataset.seek);
      video.currentTime = at;
      video.play().catch(function () {});
      const url = new URL(window.location.href);
      url.searchParams.set("t", at.toFixed(1));
      window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    });
  });

  // Comment replay: comments whose offset has been reached, newest last.
  const toggle = document.getElementById("replay-toggle");
  const list = document.getElementById("replay-list");
  let comments = [];
  let shown = -1;

  function render() {
    if (!list) return;
    list.hidden = !(toggle && toggle.checked);
    if (list.hidden) return;
    const now = video.currentTime;
    let upto = 0;
    while (upto < comments.length && comments[upto].offset <= now) upto += 1;
    if (upto === shown) return;
    shown = upto;
    list.replaceChildren();
    const start = Math.max(0, upto - 30);
    for (let i = start; i < upto; i += 1) {
      const item = document.createElement("li");
      const name = document.createElement("strong");
      name.textContent = comments[i].name;
      const text = document.createElement("p");
      text.textContent = comments[i].text;
      item.append(name, text);
      list.appendChild(item);
    }
    if (upto === 0) {
      const empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = list.dataset.empty;
      list.appendChild(empty);
    }
    list.scrollTop = list.scrollHeight;
  }

  fetch(base + "/komentar.json", { headers: { Accept: "application/json" } })
    .then(function (response) { return response.ok ? response.json() : { items: [] }; })
    .then(function (body) { comments = body.items || []; shown = -1; render(); })
    .catch(function () {});
  video.addEventListener("timeupdate", render);
  video.addEventListener("seeked", render);
  if (toggle) toggle.addEventListener("change", function () { shown = -1; render(); });
})();
