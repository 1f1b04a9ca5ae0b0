// Watch page player: hls.js with low-latency mode while live; "Audio saja" switches to the
// audio-only media playlist for residents on slow mobile data. While the sitting is scheduled or
// live, the page follows its status with a light poll of the cached summary: it starts playing
// when the sitting goes live, and when it ends it says so, lets go of the stream and stops asking.
// When the stream is lost (a node taking the sitting over, a network drop, a stall), the player
// says so calmly and keeps trying with a growing, jittered delay until the stream is back; then it
// plays on from the live edge. Nobody has to reload the page.
(function () {
  "use strict";
  const frame = document.getElementById("player-frame");
  const video = document.getElementById("player");
  if (!frame || !video) return;
  const quality = document.getElementById("quality");
  const badge = document.getElementById("live-badge");
  const toLive = document.getElementById("to-live");
  const bar = document.getElementById("player-bar");
  const placeholder = document.getElementById("player-placeholder");
  const errorBox = document.getElementById("player-error");
  const LEVELS = { "720p": 720, "360p": 360 };
  const POLL_MS = 5000;
  const BEHIND_S = 6; // further than this from the live edge offers "back to live"
  const JOIN_BEHIND_S = 1; // a first frame further behind the sync position jumps to it
  const RETRY_MS = 1000; // first delay before loading again; doubles up to RETRY_MAX_MS
  const RETRY_MAX_MS = 8000;
  const FRESH_AFTER = 3; // failed restarts after which hls.js starts over with a new instance
  const STALL_S = 10; // live video that should play but has not moved for this long is lost
  const number = new Intl.NumberFormat(document.documentElement.lang || "id", {
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  });
  const player = {
    status: frame.dataset.status,
    polling: false,
    timer: null,
    retrying: false, // the stream was lost and a reload is scheduled or under way
    attempts: 0,
    recoveries: 0,
  };
  window.sidangPlayer = player; // read by support staff and the browser tests
  window.sidangPlayerErrors = []; // fatal errors
  let live = video.dataset.live === "true";
  let hls = null;
  let source = null;
  let retryTimer = null;
  let mediaErrorAt = 0;
  let freshNext = false; // the next retry starts over with a new hls.js instance
  const progress = { time: -1, still: 0, started: false };

  function showError(visible) {
    if (!errorBox) return;
    errorBox.hidden = !visible;
    errorBox.textContent = visible ? errorBox.dataset.message : "";
  }

  function load(url, startAt) {
    if (hls) hls.destroy();
    source = url;
    if (window.Hls && window.Hls.isSupported()) {
      hls = new window.Hls({
        lowLatencyMode: live,
        // Startup costs about a second (playlist, init, first parts): play up to 1.5x until
        // back at the target (PART-HOLD-BACK), instead of staying that far behind for good.
        maxLiveSyncPlaybackRate: 1.5,
        // Start on, and stay within, the rendition the player's size needs, in CSS pixels: a
        // 360 px phone gets 360p, whatever its pixel density, and saves its data.
        capLevelToPlayerSize: true,
        ignoreDevicePixelRatio: true,
        backBufferLength: 60,
        liveDurationInfinity: true,
      });
      window.sidangHls = hls;
      hls.on(window.Hls.Events.ERROR, function (_event, data) {
        if (!data.fatal) return;
        window.sidangPlayerErrors.push(data.type + ":" + data.details);
        if (data.type !== window.Hls.ErrorTypes.MEDIA_ERROR) lost();
        else if (Date.now() - mediaErrorAt > 5000) {
          mediaErrorAt = Date.now(); // one quick repair in place
          hls.recoverMediaError();
        } else {
          freshNext = true; // a second one within 5 s: start over
          lost();
        }
      });
      hls.on(window.Hls.Events.FRAG_BUFFERED, resumed);
      if (live) joinLiveEdge(hls);
      hls.on(window.Hls.Events.MANIFEST_PARSED, function () {
        if (startAt) video.currentTime = startAt;
        pickLevel();
        video.play().catch(function () {});
      });
      hls.attachMedia(video);
      const instance = hls;
      afterLayout(function () {
        if (instance === hls) hls.loadSource(url);
      });
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = url;
      video.play().catch(function () {});
    }
  }

  function afterLayout(then) {
    // hls.js caps the rendition to the player's size from a ResizeObserver of its own, created
    // by attachMedia, which reports at the next rendering frame. A playlist read before then (a
    // nearby origin, a busy phone that has not laid the page out yet) starts on 720p and fetches
    // parts a 360 px phone never shows. Observers report in the order they were created, so
    // once this one has, hls.js knows the size. A player with no size yet has nothing to cap.
    const box = video.getBoundingClientRect();
    if (!window.ResizeObserver || !box.width || !box.height) return then();
    const observer = new window.ResizeObserver(function () {
      observer.disconnect();
      then();
    });
    observer.observe(video);
  }

  // -- losing the stream and getting it back -------------------------------------------------------

  function lost() {
    // hls.js has given up (a playlist or part that 404s or times out while another node takes
    // the sitting over, the origin unreachable) or playback stalled. Say so and try again later.
    player.retrying = true;
    showError(true);
    if (live) check(); // a stream that went away may mean the sitting has ended
    if (retryTimer === null) retryTimer = setTimeout(retry, retryDelay(player.attempts));
  }

  function retryDelay(attempt) {
    // Exponential, with jitter: thousands of viewers lose a stream at the same moment, and must
    // not all come back to the origin in the same second.
    const ceiling = Math.min(RETRY_MAX_MS, RETRY_MS * Math.pow(2, attempt));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  function retry() {
    retryTimer = null;
    if (!player.retrying || !source) return;
    player.attempts += 1;
    progress.still = 0;
    // hls.startLoad() reloads the playlist and goes on from where it was; a failed master
    // playlist, or restarts that keep failing, need a new instance (a fresh view of the stream).
    // Native HLS (iPhones) gets its source again.
    if (!hls) {
      video.src = source;
      video.play().catch(function () {});
    } else if (freshNext || player.attempts > FRESH_AFTER || !hls.levels.length) {
      freshNext = false;
      load(source, live ? null : video.currentTime);
    } else {
      hls.startLoad();
    }
    // If this attempt fails too, hls.js reports it and lost() schedules the next one; if it
    // neither fails nor brings media, the stall check does.
  }

  function resumed() {
    if (!player.retrying) return;
    player.retrying = false;
    player.attempts = 0;
    player.recoveries += 1;
    clearTimeout(retryTimer);
    retryTimer = null;
    showError(false);
    const edge = live ? liveEdge() : null;
    if (edge !== null && edge - video.currentTime > BEHIND_S) video.currentTime = edge;
    video.play().catch(function () {});
  }

  function giveUp() {
    player.retrying = false;
    clearTimeout(retryTimer);
    retryTimer = null;
    showError(false);
  }

  // Native HLS reports a lost stream as an error of the video element, and its return by playing.
  video.addEventListener("error", function () {
    if (!hls && source && video.error) lost();
  });
  video.addEventListener("playing", function () {
    if (!hls) resumed();
  });

  function watchStall() {
    // Live video that should be playing and has not moved for STALL_S seconds, with no error
    // from hls.js (a playlist that stays the same, parts that never arrive), is lost as well.
    if (!live || !source || video.paused || video.currentTime !== progress.time) {
      progress.time = video.currentTime;
      progress.still = 0;
      if (video.currentTime > 0) progress.started = true;
      return;
    }
    progress.still += 1;
    if (progress.started && progress.still >= STALL_S) {
      window.sidangPlayerErrors.push("stall");
      progress.still = 0;
      lost();
    }
  }

  function joinLiveEdge(instance) {
    // hls.js starts its target latency behind the edge of the first playlist it reads; a slow
    // start (a busy phone, the first seconds of a stream) can leave it further behind than its
    // catch-up reaches (target plus one segment), and there it would stay for the whole sitting.
    video.addEventListener("playing", function () {
      const edge = instance === hls ? hls.liveSyncPosition : null;
      if (typeof edge === "number" && edge - video.currentTime > JOIN_BEHIND_S) {
        video.currentTime = edge;
      }
    }, { once: true });
  }

  function pickLevel() {
    if (!hls || !quality) return;
    const wanted = LEVELS[quality.value];
    if (!wanted) {
      if (!hls.autoLevelEnabled) hls.currentLevel = -1; // a switch flushes what is buffered
      return;
    }
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

  // -- the live edge -------------------------------------------------------------------------------

  function liveEdge() {
    if (hls) return typeof hls.liveSyncPosition === "number" ? hls.liveSyncPosition : null;
    const ranges = video.seekable;
    return ranges.length ? ranges.end(ranges.length - 1) : null;
  }

  if (toLive) {
    toLive.addEventListener("click", function () {
      const edge = liveEdge();
      if (edge !== null) video.currentTime = edge;
      video.play().catch(function () {});
    });
  }

  setInterval(function () {
    watchStall();
    if (!live) return;
    const edge = liveEdge();
    if (toLive) toLive.hidden = edge === null || edge - video.currentTime < BEHIND_S;
    if (!badge || !hls || typeof hls.latency !== "number" || !isFinite(hls.latency)) return;
    const delay = badge.dataset.delayLabel.replace("{seconds}", number.format(hls.latency));
    badge.textContent = badge.dataset.label + " · " + delay;
  }, 1000);

  // -- following the sitting's status --------------------------------------------------------------

  function loadHls() {
    // hls.js is preferred wherever it can run (MSE); native HLS is the fallback, as in load().
    // Chromium, Android's included, answers "maybe" for HLS, but its own player ignores LL-HLS
    // parts and picks 720p on a phone (measured: 7-8 s behind live); iPhones have no
    // MediaSource and play LL-HLS natively, so they never download hls.js.
    if (window.Hls || !frame.dataset.hls || !window.MediaSource) return Promise.resolve();
    return new Promise(function (resolve) {
      const script = document.createElement("script");
      script.src = frame.dataset.hls;
      script.onload = resolve;
      script.onerror = resolve;
      document.head.append(script);
    });
  }

  function goLive() {
    live = true;
    video.dataset.src = frame.dataset.liveSrc;
    video.dataset.audioSrc = frame.dataset.liveAudioSrc;
    placeholder.hidden = true;
    video.hidden = false;
    bar.hidden = false;
    if (badge) badge.hidden = false;
    loadHls().then(function () { load(video.dataset.src, null); });
  }

  function ended() {
    live = false;
    stopPolling();
    giveUp();
    if (hls) hls.destroy();
    hls = null;
    source = null;
    window.sidangHls = null;
    video.removeAttribute("src");
    video.load();
    video.hidden = true;
    bar.hidden = true;
    placeholder.textContent = frame.dataset.ended;
    placeholder.hidden = false;
  }

  function follow(status) {
    const was = player.status;
    player.status = status;
    if (status === was) return;
    if (status === "live") goLive();
    else if (was === "live" || status === "ended" || status === "published") ended();
  }

  async function check() {
    if (!player.polling) return;
    clearTimeout(player.timer);
    try {
      const response = await fetch(frame.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const summary = await response.json();
        markAgenda(summary.agenda_item);
        follow(summary.status);
      }
    } catch (error) {
      // A missed poll is harmless: the next one catches up.
    }
    if (player.polling) player.timer = setTimeout(check, POLL_MS);
  }

  // The agenda item under discussion is marked while live, as staff start each one.
  const agenda = document.querySelector("[data-agenda]");
  function markAgenda(position) {
    if (!agenda) return;
    agenda.querySelectorAll("li[data-position]").forEach(function (item) {
      const now = Number(item.dataset.position) === position;
      item.classList.toggle("current", now);
      if (now) item.setAttribute("aria-current", "true");
      else item.removeAttribute("aria-current");
      const badge = item.querySelector(":scope > [data-now]");
      if (now && !badge) {
        const mark = document.createElement("span");
        mark.className = "badge now";
        mark.dataset.now = "";
        mark.textContent = agenda.dataset.nowLabel;
        item.prepend(mark);
      } else if (!now && badge) badge.remove();
    });
  }

  function stopPolling() {
    player.polling = false;
    clearTimeout(player.timer);
  }

  if (frame.dataset.statusUrl) {
    player.polling = true;
    player.timer = setTimeout(check, POLL_MS);
  }
  if (video.dataset.src) {
    const startAt = Number(video.dataset.start) || null;
    loadHls().then(function () { load(video.dataset.src, startAt); });
  }
  else if (player.status === "live") goLive(); // the page was built before the stream was up
})();
