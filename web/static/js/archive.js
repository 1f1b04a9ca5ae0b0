// Archive player extras: chapter and caption tracks, agenda items that seek, the poster, a
// filmstrip of thumbnails that seek, and the live comments replayed in step with playback.
// Works with watch.js's #player video.
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

  // Filmstrip: one tile per cue of the WebVTT thumbnail track, cut from the sprite by its
  // #xywh fragment; the tile being played is marked.
  const strip = document.getElementById("filmstrip");
  let tiles = [];

  function clock(seconds) {
    const s = Math.floor(seconds);
    const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
    return (hms[0] ? hms[0] + ":" : "") + hms.slice(1).map((n) => String(n).padStart(2, "0")).join(":");
  }

  function vttSeconds(text) {
    return text.split(":").reduce((total, part) => total * 60 + Number(part), 0);
  }

  function buildStrip(vtt, vttUrl) {
    tiles = [];
    for (const block of vtt.split(/\r?\n\r?\n/)) {
      const lines = block.trim().split(/\r?\n/);
      const timing = lines.findIndex((line) => line.includes("-->"));
      const image = timing >= 0 ? lines[timing + 1] : null;
      const box = image && /#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(image);
      if (!box) continue;
      const start = vttSeconds(lines[timing].split("-->")[0].trim());
      const button = document.createElement("button");
      button.type = "button";
      button.className = "filmstrip-tile";
      button.setAttribute("aria-label", strip.dataset.seekLabel + " " + clock(start));
      const picture = document.createElement("span");
      picture.className = "thumb";
      picture.style.backgroundImage = 'url("' + new URL(image.split("#")[0], vttUrl).href + '")';
      picture.style.backgroundPosition = "-" + box[1] + "px -" + box[2] + "px";
      picture.style.width = box[3] + "px";
      picture.style.height = box[4] + "px";
      const time = document.createElement("span");
      time.className = "time";
      time.textContent = clock(start);
      button.append(picture, time);
      button.addEventListener("click", function () {
        video.currentTime = start;
        video.play().catch(function () {});
      });
      tiles.push({ start: start, button: button });
    }
    strip.replaceChildren(...tiles.map((tile) => tile.button));
    markTile();
  }

  function markTile() {
    let current = -1;
    tiles.forEach(function (tile, index) { if (tile.start <= video.currentTime) current = index; });
    tiles.forEach(function (tile, index) {
      if (index === current) tile.button.setAttribute("aria-current", "true");
      else tile.button.removeAttribute("aria-current");
    });
  }

  if (strip && panel.dataset.thumbnails) {
    const vttUrl = new URL(panel.dataset.thumbnails, window.location.href).href;
    fetch(vttUrl)
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (vtt) { buildStrip(vtt, vttUrl); })
      .catch(function () {});
    video.addEventListener("timeupdate", markTile);
    video.addEventListener("seeked", markTile);
  }

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
