// The member room: device check, WebRTC with the server (aiortc), the signaling socket, the
// member list, the floor countdown, votes, the chair's controls and the hall panel for staff.
// Protocol: docs/ROOM_PROTOCOL.md. All user text is set with textContent.
"use strict";

(function () {
  const root = document.getElementById("ruang");
  if (!root || !root.querySelector("[data-check]")) return;

  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const labelsOf = (el) => (name) =>
    el.dataset["label" + name.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase())] || "";
  const label = labelsOf(root);
  const $ = (selector) => root.querySelector(selector);
  const myMember = root.dataset.member ? Number(root.dataset.member) : null;
  const isChair = root.dataset.chair === "yes";
  const iceServers = JSON.parse(root.dataset.ice || "[]");
  const FINAL_CLOSES = new Set([4003, 4009, 4010]);
  const MAX_BACKOFF_MS = 2000;

  const room = {
    pc: null,
    ws: null,
    stream: null,
    audioOnly: false,
    state: null,
    backoff: 250,
    retry: null,
    finished: false,
    floorDeadline: null,
    pendingVote: null, // {vote, choice} from the tap until the server's state says it is recorded
    level: { context: null, analyser: null, source: null, samples: null, peak: 0 },
  };
  window.sidangRoom = room;

  // -- device check ------------------------------------------------------------------------------

  const preview = $("[data-preview]");
  const meter = $("[data-level]");
  const deviceStatus = $("[data-device-status]");
  const cameraPick = $("[data-camera]");
  const micPick = $("[data-microphone]");

  // Opens the chosen camera and microphone (the system's default at first), and again after
  // every change of choice.
  async function openDevices() {
    const chosen = (select) => (select.value ? { deviceId: { exact: select.value } } : {});
    if (room.stream) room.stream.getTracks().forEach((t) => t.stop());
    room.stream = null;
    deviceStatus.textContent = "";
    try {
      room.stream = await navigator.mediaDevices.getUserMedia({
        audio: micPick.value ? chosen(micPick) : true,
        video: { width: 1280, height: 720, ...chosen(cameraPick) },
      });
    } catch (error) {
      try {
        room.stream = await navigator.mediaDevices.getUserMedia({
          audio: micPick.value ? chosen(micPick) : true,
        });
      } catch (audioError) {
        deviceStatus.textContent = label("no-device") + " " + audioError.message;
        return;
      }
      deviceStatus.textContent = label("no-device") + " " + error.message;
    }
    preview.srcObject = room.stream;
    await listDevices();
    watchLevel(room.stream);
  }

  // Device names are readable once access is granted, so the lists are filled after opening.
  async function listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const inUse = (kind) => {
      const track = room.stream && room.stream.getTracks().find((t) => t.kind === kind);
      return track ? track.getSettings().deviceId : "";
    };
    fillPicker(cameraPick, devices.filter((d) => d.kind === "videoinput"), inUse("video"));
    fillPicker(micPick, devices.filter((d) => d.kind === "audioinput"), inUse("audio"));
  }

  function fillPicker(select, devices, current) {
    select.replaceChildren(
      ...devices.map((d, i) => new Option(d.label || label("default-device") + " " + (i + 1), d.deviceId)),
    );
    if (current) select.value = current;
    select.disabled = devices.length === 0;
  }
  cameraPick.addEventListener("change", openDevices);
  micPick.addEventListener("change", openDevices);

  // The level meter reads the microphone's waveform (time-domain samples) and holds its peak
  // briefly, so short sounds show. Browsers start an AudioContext suspended until the person
  // interacts with the page: it is resumed on the first tap or key.
  function watchLevel(stream) {
    const level = room.level;
    if (!stream.getAudioTracks().length) return;
    if (!level.context) {
      level.context = new AudioContext();
      level.analyser = level.context.createAnalyser();
      level.analyser.fftSize = 1024;
      level.samples = new Float32Array(level.analyser.fftSize);
      const draw = () => {
        level.analyser.getFloatTimeDomainData(level.samples);
        let peak = 0;
        for (const s of level.samples) peak = Math.max(peak, Math.abs(s));
        level.peak = Math.max(peak, level.peak * 0.95);
        meter.value = Math.min(1, level.peak);
        requestAnimationFrame(draw);
      };
      draw();
    }
    if (level.source) level.source.disconnect();
    level.source = level.context.createMediaStreamSource(stream);
    level.source.connect(level.analyser);
    resumeAudio();
  }

  function resumeAudio() {
    const context = room.level.context;
    if (context && context.state === "suspended") context.resume().catch(() => {});
  }
  ["pointerdown", "keydown"].forEach((type) => document.addEventListener(type, resumeAudio));

  root.querySelectorAll("[data-join]").forEach((button) =>
    button.addEventListener("click", () => {
      room.audioOnly = button.dataset.join === "audio";
      if (room.audioOnly && room.stream) {
        room.stream.getVideoTracks().forEach((t) => t.stop());
      }
      $("[data-check]").hidden = true;
      $("[data-room]").hidden = false;
      const self = $("[data-self]");
      if (!room.audioOnly && room.stream && room.stream.getVideoTracks().length) {
        self.srcObject = room.stream; // self-view: the member sees what they send
        self.hidden = false;
      }
      connect();
    }),
  );

  // -- connection and reconnection -----------------------------------------------------------------

  function status(text) {
    $("[data-connection]").textContent = text;
  }

  function showError(text) {
    const box = $("[data-error]");
    box.textContent = text;
    box.hidden = !text;
  }

  function send(frame) {
    if (room.ws && room.ws.readyState === WebSocket.OPEN) room.ws.send(JSON.stringify(frame));
  }

  function teardown() {
    if (room.pc) {
      room.pc.onconnectionstatechange = null;
      room.pc.close();
      room.pc = null;
    }
    if (room.ws) {
      room.ws.onclose = null;
      room.ws.close();
      room.ws = null;
    }
  }

  function scheduleReconnect() {
    if (room.finished || room.retry) return;
    teardown();
    status(label("reconnecting"));
    room.retry = setTimeout(() => {
      room.retry = null;
      connect();
    }, room.backoff);
    room.backoff = Math.min(room.backoff * 2, MAX_BACKOFF_MS);
  }

  window.addEventListener("online", () => {
    if (room.retry) {
      clearTimeout(room.retry);
      room.retry = null;
      room.backoff = 250;
      connect();
    }
  });

  function connect() {
    teardown();
    status(label("connecting"));
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + root.dataset.socket);
    room.ws = ws;
    ws.onmessage = (event) => onFrame(JSON.parse(event.data));
    ws.onclose = (event) => {
      if (FINAL_CLOSES.has(event.code)) {
        room.finished = true;
        teardown();
        status(label("ended"));
        return;
      }
      scheduleReconnect();
    };
  }

  async function startPeer() {
    const pc = new RTCPeerConnection({ iceServers });
    room.pc = pc;
    const tracks = room.stream ? room.stream.getTracks().filter((t) => t.readyState === "live") : [];
    const audio = tracks.find((t) => t.kind === "audio");
    const video = room.audioOnly ? null : tracks.find((t) => t.kind === "video");
    // The server expects audio then video; "audio only" means no camera up, the program down.
    pc.addTransceiver(audio || "audio", { direction: audio ? "sendrecv" : "recvonly" });
    const transceiver = pc.addTransceiver(video || "video", {
      direction: video ? "sendrecv" : "recvonly",
    });
    preferH264(transceiver);
    const program = $("[data-program]");
    const received = new MediaStream();
    program.srcObject = received;
    pc.ontrack = (event) => received.addTrack(event.track);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected") {
        room.backoff = 250;
        status(label("connected"));
      } else if (pc.connectionState === "failed" || pc.connectionState === "closed") {
        scheduleReconnect();
      }
    };
    await pc.setLocalDescription(await pc.createOffer());
    await iceGathered(pc);
    applyMic();
    send({ type: "join", sdp: pc.localDescription.sdp, audio_only: room.audioOnly });
  }

  function preferH264(transceiver) {
    // aiortc packetizes H.264 in mode 1 only; the program is H.264, so no transcoding either.
    const codecs = RTCRtpReceiver.getCapabilities("video").codecs.filter(
      (c) => c.mimeType === "video/H264" && /packetization-mode=1/.test(c.sdpFmtpLine || ""),
    );
    if (codecs.length && transceiver.setCodecPreferences) transceiver.setCodecPreferences(codecs);
  }

  function iceGathered(pc) {
    // aiortc does not trickle: the offer goes out with every candidate in it.
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (pc.iceGatheringState === "complete") resolve();
      };
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 2000);
    });
  }

  // -- frames from the server ----------------------------------------------------------------------

  function onFrame(frame) {
    if (frame.type === "hello") {
      clearPendingVote(); // a ballot in flight when the socket dropped may be sent again
      startPeer().catch((error) => showError(error.message));
    } else if (frame.type === "answer") {
      if (room.pc) room.pc.setRemoteDescription({ type: "answer", sdp: frame.sdp });
    } else if (frame.type === "state") {
      room.state = frame;
      render(frame);
    } else if (frame.type === "error") {
      clearPendingVote();
      showError(frame.message);
    } else if (frame.type === "removed" || frame.type === "ended") {
      room.finished = true;
      showError(frame.message);
    }
  }

  function me() {
    return room.state && room.state.members.find((m) => m.id === myMember);
  }

  function applyMic() {
    // The server drops audio it does not allow; this only spares the bandwidth and shows it.
    const seat = me();
    const open = !!(seat && seat.mic && !seat.muted);
    if (room.stream) room.stream.getAudioTracks().forEach((t) => (t.enabled = open));
  }

  function render(state) {
    showError("");
    applyMic();
    renderMembers(state);
    renderMine(state);
    renderFloor(state);
    renderVote(state);
    const q = state.quorum;
    if (q) {
      $("[data-quorum]").textContent = label("quorum")
        .replace("{present}", q.present)
        .replace("{seats}", q.seats)
        .replace("{required}", q.required);
      $("[data-quorum]").classList.toggle("short", !q.reached);
    }
    if (isChair) {
      $("[data-auto-mute]").checked = state.auto_mute;
      renderRemoved(state);
    }
  }

  function badge(text, kind) {
    const span = document.createElement("span");
    span.className = "badge badge-" + kind;
    span.textContent = text;
    return span;
  }

  function chairButton(text, frame) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = text;
    button.addEventListener("click", () => send(frame));
    return button;
  }

  function renderMembers(state) {
    const list = $("[data-members]");
    list.replaceChildren();
    for (const m of state.members) {
      const li = document.createElement("li");
      li.dataset.memberId = m.id;
      const name = document.createElement("span");
      name.textContent = m.name;
      li.append(name);
      if (!m.connected) li.append(badge(label("offline"), "offline"));
      if (m.floor) li.append(badge(label("floor"), "floor"));
      if (m.hand) li.append(badge(m.hand === "interupsi" ? label("interupsi") : label("hand"), "hand"));
      if (m.muted) li.append(badge(label("muted"), "muted"));
      else if (m.mic) li.append(badge(label("mic"), "mic"));
      if (isChair) {
        const actions = document.createElement("span");
        actions.className = "actions";
        actions.append(chairButton(label("give"), { type: "floor", member: m.id, limit_s: limit() }));
        actions.append(
          m.muted
            ? chairButton(label("allow"), { type: "allow", member: m.id })
            : chairButton(label("mute"), { type: "mute", member: m.id }),
        );
        actions.append(chairButton(label("remove"), { type: "remove", member: m.id }));
        li.append(actions);
      }
      list.append(li);
    }
    const queue = $("[data-queue]");
    queue.replaceChildren();
    for (const id of state.queue) {
      const m = state.members.find((x) => x.id === id);
      const li = document.createElement("li");
      li.textContent = m ? m.name : String(id);
      if (m && m.hand === "interupsi") li.append(" ", badge(label("interupsi"), "hand"));
      queue.append(li);
    }
  }

  // Removed members cannot rejoin until the chair lets them back in.
  function renderRemoved(state) {
    const list = $("[data-removed]");
    list.replaceChildren();
    for (const m of state.removed) {
      const li = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = m.name;
      li.append(name, " ", chairButton(label("readmit"), { type: "readmit", member: m.id }));
      list.append(li);
    }
    $("[data-removed-box]").hidden = state.removed.length === 0;
  }

  function renderMine() {
    const seat = me();
    const notice = $("[data-muted-notice]");
    if (notice) notice.hidden = !(seat && seat.muted);
    const mic = $("[data-mic]");
    if (!mic || !seat) return;
    mic.textContent = seat.mic ? label("mic-open") : label("mic-closed");
    mic.disabled = seat.muted;
    mic.title = seat.muted ? label("muted") : "";
    $("[data-hand]").textContent = seat.hand ? label("hand-up") : label("hand-down");
    $("[data-hand]").disabled = seat.floor;
    $("[data-interupsi]").disabled = seat.floor || seat.hand === "interupsi";
  }

  function renderFloor(state) {
    const box = $("[data-countdown]");
    if (!state.floor) {
      box.hidden = true;
      room.floorDeadline = null;
      return;
    }
    const speaker = state.members.find((m) => m.id === state.floor.member);
    $("[data-speaker]").textContent = speaker ? speaker.name + ":" : "";
    room.floorDeadline = performance.now() + state.floor.remaining_s * 1000;
    box.hidden = false;
    tick();
  }

  function tick() {
    if (room.floorDeadline === null) return;
    const left = Math.round((room.floorDeadline - performance.now()) / 1000);
    const box = $("[data-countdown]");
    box.classList.toggle("overtime", left <= 0);
    const abs = Math.abs(left);
    const clock = Math.floor(abs / 60) + ":" + String(abs % 60).padStart(2, "0");
    $("[data-remaining]").textContent = left <= 0 ? label("overtime") + " (−" + clock + ")" : clock;
  }
  setInterval(tick, 250);

  function renderVote(state) {
    const box = $("[data-vote]");
    const vote = state.vote;
    box.hidden = !vote;
    if (!vote) return;
    $("[data-vote-title]").textContent = vote.title;
    $("[data-vote-deadline]").textContent = vote.closes_at
      ? "(" + label("deadline").replace("{time}", clockTime(vote.closes_at)) + ")"
      : "";
    const seat = me();
    const buttons = $("[data-vote-buttons]");
    if (!buttons) return;
    const voted = !!(seat && seat.voted);
    const pending = room.pendingVote;
    if (voted || (pending && pending.vote !== vote.id)) clearPendingVote();
    buttons.hidden = voted;
    if (!room.pendingVote) $("[data-vote-status]").textContent = voted ? label("voted") : "";
  }

  // From the tap until the server's state says the ballot is recorded: the tapped choice is
  // marked, the buttons wait, and the member reads that it is being sent.
  function showPendingVote(choice) {
    const status = $("[data-vote-status]");
    root.querySelectorAll("[data-choice]").forEach((b) => {
      b.disabled = true;
      b.classList.toggle("pending", b.dataset.choice === choice);
      b.setAttribute("aria-pressed", String(b.dataset.choice === choice));
    });
    status.textContent = label("vote-pending");
    status.classList.add("pending");
  }

  function clearPendingVote() {
    room.pendingVote = null;
    root.querySelectorAll("[data-choice]").forEach((b) => {
      b.disabled = false;
      b.classList.remove("pending");
      b.removeAttribute("aria-pressed");
    });
    const status = $("[data-vote-status]");
    if (status) status.classList.remove("pending");
  }

  // Times read in the DPRD's zone (SIDANG_TIMEZONE) and the page's language, not the browser's.
  const clock = new Intl.DateTimeFormat(document.documentElement.lang || "id", {
    timeZone: root.dataset.timezone || undefined,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    timeZoneName: root.dataset.zoneLabel ? undefined : "short",
  });
  function clockTime(iso) {
    const text = clock.format(new Date(iso));
    return root.dataset.zoneLabel ? text + " " + root.dataset.zoneLabel : text;
  }

  function limit() {
    const input = $("[data-limit]");
    const minutes = input ? Number(input.value) : 5;
    return Math.max(10, Math.min(3600, Math.round(minutes * 60)));
  }

  // -- the member's and the chair's controls --------------------------------------------------------

  const on = (selector, handler) => {
    const el = $(selector);
    if (el) el.addEventListener("click", handler);
  };
  on("[data-mic]", () => {
    const seat = me();
    send({ type: "mic", open: !(seat && seat.mic) });
  });
  on("[data-hand]", () => {
    const seat = me();
    send({ type: "hand", raise: !(seat && seat.hand) });
  });
  on("[data-interupsi]", () => send({ type: "hand", raise: true, interupsi: true }));
  root.querySelectorAll("[data-choice]").forEach((button) =>
    button.addEventListener("click", () => {
      if (room.state && room.state.vote && !room.pendingVote) {
        room.pendingVote = { vote: room.state.vote.id, choice: button.dataset.choice };
        showPendingVote(button.dataset.choice);
        send({ type: "ballot", vote: room.state.vote.id, choice: button.dataset.choice });
      }
    }),
  );
  root.querySelectorAll("[data-chair-action]").forEach((button) =>
    button.addEventListener("click", () => {
      const action = button.dataset.chairAction;
      if (action === "next") send({ type: "next", limit_s: limit() });
      else if (action === "extend") send({ type: "extend", seconds: 60 });
      else send({ type: action });
    }),
  );
  const autoMute = $("[data-auto-mute]");
  if (autoMute) {
    autoMute.addEventListener("change", () =>
      send({ type: "auto_mute", on: autoMute.checked, default_limit_s: limit() }),
    );
  }
  on("[data-close-vote]", () => {
    if (room.state && room.state.vote) send({ type: "close_vote", vote: room.state.vote.id });
  });
  const voteForm = $("[data-open-vote]");
  if (voteForm) {
    voteForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(voteForm);
      send({
        type: "open_vote",
        agenda_item: data.get("agenda_item") ? Number(data.get("agenda_item")) : null,
        title: data.get("title") || "",
        duration_s: data.get("duration_s") ? Number(data.get("duration_s")) : null,
      });
    });
  }

  // -- staff: the hall --------------------------------------------------------------------------------
  // The hall panel works without joining the room: it reads its own state from the server, and
  // every ballot shows its outcome (or the refusal) in its row.

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  const hall = document.querySelector("[data-hall-panel]");
  const HALL_POLL_MS = 3000;
  const choiceLabels = JSON.parse(root.dataset.choiceLabels || "{}");
  const hallLabel = hall ? labelsOf(hall) : label;
  const hallRows = hall ? [...hall.querySelectorAll("[data-hall-member]")] : [];
  let hallVote = null;
  let hallTimer = null;

  function rowResult(row, text, failed) {
    const cell = row.querySelector("[data-hall-result]");
    cell.textContent = text;
    cell.classList.toggle("error", !!failed);
  }

  function renderHall(state) {
    hallVote = state.vote;
    hall.querySelector("[data-hall-vote-title]").textContent = state.vote
      ? hallLabel("open-vote") + " " + state.vote.title
      : hallLabel("no-vote");
    hall.querySelector("[data-hall-bulk] button").disabled = !state.vote;
    for (const row of hallRows) {
      const id = Number(row.dataset.hallMember);
      const remote = state.remote.includes(id);
      const ballot = state.ballots[String(id)];
      row.querySelector("[data-hall-present]").checked = state.hall.includes(id);
      const closed = !state.vote || remote || !!ballot;
      row.querySelector("[data-hall-choice]").disabled = closed;
      row.querySelector("[data-hall-vote]").disabled = closed;
      const cell = row.querySelector("[data-hall-result]");
      if (cell.classList.contains("error")) continue;
      if (ballot && ballot.via === "remote") rowResult(row, hallLabel("remote-voted"));
      else if (ballot) {
        const choice = ballot.choice ? ": " + (choiceLabels[ballot.choice] || ballot.choice) : "";
        rowResult(row, hallLabel("recorded") + choice);
      } else if (remote) rowResult(row, hallLabel("remote"));
      else rowResult(row, "");
    }
  }

  // A state fetched while a change of ours was on its way is stale: drawing it would undo,
  // on screen, the box staff just ticked. Such answers are dropped; the next refresh is fresh.
  let hallChanges = 0;
  let hallPending = 0;

  async function refreshHall() {
    clearTimeout(hallTimer);
    const seen = hallChanges;
    try {
      const response = await fetch(hall.dataset.state, { headers: { Accept: "application/json" } });
      const state = response.ok ? await response.json() : null;
      if (state && seen === hallChanges && hallPending === 0) renderHall(state);
    } finally {
      hallTimer = setTimeout(refreshHall, HALL_POLL_MS);
    }
  }

  function hallChange(request) {
    hallChanges += 1;
    hallPending += 1;
    return request.finally(() => {
      hallPending -= 1;
      hallChanges += 1;
    });
  }

  if (hall) {
    const summary = hall.querySelector("[data-hall-summary]");
    for (const row of hallRows) {
      const memberId = Number(row.dataset.hallMember);
      const present = row.querySelector("[data-hall-present]");
      present.addEventListener("change", () =>
        hallChange(post(root.dataset.hall, { member_id: memberId, present: present.checked }))
          .then(() => rowResult(row, ""))
          .catch((error) => {
            present.checked = !present.checked;
            rowResult(row, error.message, true);
          })
          .finally(refreshHall),
      );
      row.querySelector("[data-hall-choice]").addEventListener("change", () => rowResult(row, ""));
      row.querySelector("[data-hall-vote]").addEventListener("click", () => {
        const choice = row.querySelector("[data-hall-choice]").value;
        if (!choice || choice === "none") {
          rowResult(row, hallLabel("pick"), true);
          return;
        }
        if (!hallVote) return;
        hallChange(post(root.dataset.ballot + hallVote.id, { member_id: memberId, choice }))
          .then(() => rowResult(row, hallLabel("recorded") + ": " + (choiceLabels[choice] || choice)))
          .catch((error) => rowResult(row, error.message, true))
          .finally(refreshHall);
      });
    }
    hall.querySelector("[data-hall-bulk]").addEventListener("submit", (event) => {
      event.preventDefault();
      if (!hallVote) return;
      const exceptions = {};
      for (const row of hallRows) {
        const select = row.querySelector("[data-hall-choice]");
        if (select.value && !select.disabled) {
          exceptions[row.dataset.hallMember] = select.value === "none" ? null : select.value;
        }
      }
      const choice = new FormData(event.target).get("choice");
      summary.classList.remove("error");
      hallChange(post(root.dataset.ballot + hallVote.id + "/semua", { choice, except: exceptions }))
        .then((result) => {
          const skipped = result.remote.length + result.already_voted.length;
          let text = hallLabel("bulk-done").replace("{count}", Object.keys(result.recorded).length);
          if (skipped) text += " " + hallLabel("bulk-skipped").replace("{count}", skipped);
          summary.textContent = text;
        })
        .catch((error) => {
          summary.textContent = error.message;
          summary.classList.add("error");
        })
        .finally(refreshHall);
    });
    refreshHall();
  }

  openDevices();
})();
