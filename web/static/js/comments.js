// Live comments on the watch page. Protocol: DESIGN.md "Comment socket protocol".
// Every piece of user text goes through textContent; nothing from the socket becomes HTML.
(function () {
  "use strict";
  var root = document.getElementById("komentar");
  if (!root) return;

  var MAX_ITEMS = 300; // the list is pruned so that hours of chat never slow the page
  var list = root.querySelector("[data-list]");
  var statusLine = root.querySelector("[data-status]");
  var viewers = root.querySelector("[data-viewers]");
  var pinned = root.querySelector("[data-pinned]");
  var form = root.querySelector("[data-form]");
  var questionsOnly = root.querySelector("[data-questions-only]");
  var csrf = document.querySelector('meta[name="csrf-token"]');
  var byId = new Map();
  var pending = [];
  var scheduled = false;
  var allowLinks = false;
  var socket = null;
  var retry = 500;
  var empty = root.querySelector("[data-empty]");
  var slowMode = 0; // seconds between one resident's comments, from the moderator's settings
  var countdown = null;

  function socketUrl() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + root.dataset.socket;
  }

  function connect() {
    socket = new WebSocket(socketUrl());
    socket.addEventListener("open", function () { retry = 500; statusLine.textContent = ""; });
    socket.addEventListener("message", function (event) { onFrame(JSON.parse(event.data)); });
    socket.addEventListener("close", function () {
      statusLine.textContent = root.dataset.labelReconnecting;
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    });
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "hello":
        list.textContent = "";
        byId.clear();
        pending.length = 0;
        viewers.textContent = frame.viewers;
        slowMode = frame.slow_mode || 0;
        showEmpty();
        break;
      case "comment": pending.push(frame); schedule(); break;
      case "hidden": remove(frame.id); break;
      case "viewers": viewers.textContent = frame.count; break;
      case "settings": applySettings(frame); break;
      case "error":
        statusLine.textContent = frame.message;
        if (frame.code !== "slow_mode") stopCountdown(); // nothing was counted against them
        break;
      case "held": statusLine.textContent = frame.message; break;
    }
  }

  // Batch DOM work into one frame: at 20 messages a second the page repaints once per frame.
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(flush);
  }

  function flush() {
    scheduled = false;
    var stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    var batch = pending.splice(0, pending.length).slice(-MAX_ITEMS);
    var fragment = document.createDocumentFragment();
    batch.forEach(function (frame) {
      if (byId.has(frame.id)) return;
      var item = render(frame);
      byId.set(frame.id, item);
      if (frame.restored || frame.late) {
        list.appendChild(fragment); // what came before it in this batch is listed first
        if (Sidang.insertRestored(list, item, frame.id)) return;
      }
      fragment.appendChild(item);
    });
    list.appendChild(fragment);
    while (list.childElementCount > MAX_ITEMS) {
      byId.delete(list.firstElementChild.dataset.id);
      list.removeChild(list.firstElementChild);
    }
    if (stick) list.scrollTop = list.scrollHeight;
    showEmpty();
  }

  function showEmpty() { empty.hidden = list.childElementCount > 0; }

  function render(frame) {
    var item = document.createElement("li");
    item.dataset.id = frame.id;
    if (frame.question) item.className = "question";
    var name = document.createElement("strong");
    name.textContent = frame.name;
    item.appendChild(name);
    if (frame.question) {
      var badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = root.dataset.labelQuestion;
      item.appendChild(badge);
    }
    var text = document.createElement("p");
    appendText(text, frame.text);
    item.appendChild(text);
    return item;
  }

  // Links become clickable only when a moderator allowed them, and only http(s) ones.
  function appendText(parent, text) {
    if (!allowLinks) { parent.textContent = text; return; }
    var pattern = /https?:\/\/[^\s<>"]+/g;
    var last = 0, match;
    while ((match = pattern.exec(text)) !== null) {
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      var link = document.createElement("a");
      link.href = match[0];
      link.rel = "nofollow ugc noopener noreferrer";
      link.target = "_blank";
      link.textContent = match[0];
      parent.appendChild(link);
      last = match.index + match[0].length;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function remove(id) {
    var item = byId.get(id);
    if (item) { item.remove(); byId.delete(id); }
    pending = pending.filter(function (frame) { return frame.id !== id; });
    showEmpty();
  }

  function applySettings(frame) {
    allowLinks = frame.links;
    pinned.textContent = frame.pinned;
    pinned.hidden = !frame.pinned;
    slowMode = frame.slow_mode || 0;
    if (!slowMode) stopCountdown();
    if (frame.slow_mode > 0 && form) {
      statusLine.textContent = root.dataset.labelSlowMode.replace("{s}", frame.slow_mode);
    }
  }

  if (questionsOnly) {
    questionsOnly.addEventListener("change", function () {
      list.classList.toggle("questions-only", questionsOnly.checked);
    });
  }

  // In slow mode the send button counts down to the moment the next comment is accepted.
  function startCountdown(seconds) {
    stopCountdown();
    var send = form.querySelector("[data-send]");
    var note = form.querySelector("[data-countdown]");
    var until = Date.now() + seconds * 1000;
    function tick() {
      var left = Math.ceil((until - Date.now()) / 1000);
      if (left <= 0) { stopCountdown(); return; }
      send.disabled = true;
      note.hidden = false;
      note.textContent = root.dataset.labelWait.replace("{s}", left);
    }
    tick();
    countdown = setInterval(tick, 250);
  }

  function stopCountdown() {
    if (!form) return;
    clearInterval(countdown);
    countdown = null;
    form.querySelector("[data-send]").disabled = false;
    form.querySelector("[data-countdown]").hidden = true;
  }

  if (form) {
    var nameInput = form.elements.name;
    nameInput.value = localStorage.getItem("sidang-nama") || "";
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!socket || socket.readyState !== WebSocket.OPEN) return;
      localStorage.setItem("sidang-nama", nameInput.value);
      socket.send(JSON.stringify({
        type: "post",
        name: nameInput.value,
        text: form.elements.text.value,
        question: form.elements.question.checked
      }));
      statusLine.textContent = "";
      if (slowMode > 0) startCountdown(slowMode);
      form.elements.text.value = "";
      form.elements.question.checked = false;
    });
  }

  // A player without an open socket still counts as a viewer through a heartbeat.
  var viewerId = sessionStorage.getItem("sidang-penonton");
  if (!viewerId) {
    viewerId = Array.from(crypto.getRandomValues(new Uint8Array(12)), function (b) {
      return b.toString(16).padStart(2, "0");
    }).join("");
    sessionStorage.setItem("sidang-penonton", viewerId);
  }
  setInterval(function () {
    var video = document.querySelector("video");
    if (!video || video.paused || (socket && socket.readyState === WebSocket.OPEN)) return;
    fetch(root.dataset.heartbeat, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf ? csrf.content : "" },
      body: JSON.stringify({ viewer: viewerId })
    });
  }, 30000);

  connect();
})();
