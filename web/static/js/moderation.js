// The moderator console: a live socket for comments and the held queue, JSON POSTs for actions.
// User text goes through textContent only.
(function () {
  "use strict";
  var root = document.getElementById("moderasi");
  if (!root) return;
  var sitting = root.dataset.sitting;
  var list = root.querySelector("[data-list]");
  var held = root.querySelector("[data-held]");
  var statusLine = root.querySelector("[data-status]");
  var viewers = root.querySelector("[data-viewers]");
  var banMinutes = root.querySelector("[data-ban-minutes]");
  var banIp = root.querySelector("[data-ban-ip]");
  var banReason = root.querySelector("[data-ban-reason]");
  var hiddenList = root.querySelector("[data-hidden-list]");
  var hiddenEmpty = root.querySelector("[data-hidden-empty]");
  var bans = root.querySelector("[data-bans]");
  var records = new Map(); // comment id -> the record last seen, to list it once hidden
  var questionsOnly = root.querySelector("[data-questions-only]");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var MAX_ITEMS = 500;
  var retry = 500;

  function post(path, body) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) {
          var error = new Error(data.error || response.statusText);
          error.fields = data.fields || {};
          throw error;
        }
        return data;
      });
    }).catch(function (error) { statusLine.textContent = error.message; throw error; });
  }

  function action(comment, verb) {
    return post("/moderasi/" + sitting + "/komentar/" + comment.id + "/" + verb);
  }

  function button(label, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  function render(comment, queue) {
    records.set(comment.id, comment);
    var item = document.createElement("li");
    item.dataset.id = comment.id;
    if (comment.question) item.classList.add("question");
    var head = document.createElement("strong");
    head.textContent = comment.name;
    var tag = document.createElement("small");
    tag.textContent = " #" + comment.identity + (comment.question ? " · " + root.dataset.labelQuestion : "");
    var text = document.createElement("p");
    text.textContent = comment.text;
    item.append(head, tag, text);
    var actions = document.createElement("div");
    actions.className = "actions";
    if (queue) {
      actions.append(button(root.dataset.labelApprove, function () { action(comment, "tampilkan"); }));
    }
    actions.append(
      button(root.dataset.labelHide, function () {
        action(comment, "sembunyikan").then(function () {
          statusLine.textContent = root.dataset.labelHiddenDone;
        });
      }),
      button(root.dataset.labelBan, function () { ban(comment); })
    );
    item.append(actions);
    return item;
  }

  // The identity by default; the address only when chosen, confirmed, and for a short time.
  function ban(comment) {
    var minutes = parseInt(banMinutes.value, 10);
    var ip = banIp.checked;
    if (ip) {
      if (!window.confirm(root.dataset.labelIpWarning)) return;
      minutes = Math.min(minutes, parseInt(root.dataset.maxIpBan, 10));
    }
    var reason = banReason.value.trim();
    post("/moderasi/" + sitting + "/komentar/" + comment.id + "/blokir",
      { minutes: minutes, ip: ip, reason: reason })
      .then(function (data) {
        statusLine.textContent = root.dataset.labelBanned.replace("{until}", data.until_text);
        addBanRow(data, comment);
        banReason.value = "";
      });
  }

  function cell(text) {
    var td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function addBanRow(data, comment) {
    var row = document.createElement("tr");
    row.dataset.ban = data.id;
    var who = document.createElement("td");
    var tag = document.createElement("code");
    tag.textContent = comment.identity;
    who.append(tag);
    var lift = button(root.dataset.labelLift, function () { liftBan(data.id, row); });
    lift.className = "link";
    var actions = document.createElement("td");
    actions.append(lift);
    row.append(who, cell(data.until_text), cell(data.reason), cell(data.actor), actions);
    bans.prepend(row);
    showBans();
  }

  function showBans() {
    var any = bans.childElementCount > 0;
    root.querySelector("[data-bans-table]").hidden = !any;
    root.querySelector("[data-bans-empty]").hidden = any;
  }

  function liftBan(id, row) {
    post("/moderasi/blokir/" + id + "/cabut").then(function () { row.remove(); showBans(); });
  }

  // Hidden comments stay listed, newest first, each with an undo.
  function listHidden(comment) {
    var item = document.createElement("li");
    item.dataset.id = comment.id;
    var head = document.createElement("strong");
    head.textContent = comment.name;
    var tag = document.createElement("small");
    tag.textContent = " #" + comment.identity;
    var text = document.createElement("p");
    text.textContent = comment.text;
    var actions = document.createElement("div");
    actions.className = "actions";
    var undo = button(root.dataset.labelUndo, function () { undoHide(comment.id); });
    undo.dataset.undo = comment.id;
    actions.append(undo);
    item.append(head, tag, text, actions);
    hiddenList.prepend(item);
    hiddenChanged();
  }

  function hiddenChanged() { hiddenEmpty.hidden = hiddenList.childElementCount > 0; }

  function undoHide(id) {
    post("/moderasi/" + sitting + "/komentar/" + id + "/tampilkan").then(function () {
      var item = hiddenList.querySelector('[data-id="' + CSS.escape(id) + '"]');
      if (item) item.remove();
      hiddenChanged();
    });
  }

  function removeEverywhere(id) {
    [list, held, hiddenList].forEach(function (parent) {
      var item = parent.querySelector('[data-id="' + CSS.escape(id) + '"]');
      if (item) item.remove();
    });
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "hello": list.textContent = ""; held.textContent = ""; viewers.textContent = frame.viewers; break;
      case "viewers": viewers.textContent = frame.count; break;
      case "comment":
        removeEverywhere(frame.id);
        hiddenChanged();
        var item = render(frame, false);
        if (!((frame.restored || frame.late) && Sidang.insertRestored(list, item, frame.id))) list.append(item);
        while (list.childElementCount > MAX_ITEMS) {
          records.delete(list.firstElementChild.dataset.id);
          list.firstElementChild.remove();
        }
        list.scrollTop = list.scrollHeight;
        break;
      case "held": held.append(render(frame, true)); break;
      case "hidden":
        removeEverywhere(frame.id);
        if (records.has(frame.id)) listHidden(records.get(frame.id));
        break;
    }
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/moderasi/" + sitting + "/ws");
    socket.addEventListener("open", function () { retry = 500; });
    socket.addEventListener("message", function (event) { onFrame(JSON.parse(event.data)); });
    socket.addEventListener("close", function () {
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    });
  }

  questionsOnly.addEventListener("change", function () {
    list.classList.toggle("questions-only", questionsOnly.checked);
  });

  root.querySelector("[data-settings]").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var slow = form.elements.slow_mode_s;
    var slowError = root.querySelector('[data-error-for="slow_mode_s"]');
    // What was typed goes to the server as it is, so a negative, fractional or unreadable
    // value is refused there, with its message beside the field; only an empty field is 0.
    var typed = slow.value.trim();
    slowError.hidden = true;
    slow.removeAttribute("aria-invalid");
    post("/moderasi/" + sitting + "/pengaturan", {
      slow_mode_s: typed === "" ? (slow.validity.badInput ? "" : 0) : Number(typed),
      premoderation: form.elements.premoderation.checked,
      allow_links: form.elements.allow_links.checked,
      pinned: form.elements.pinned.value
    }).then(function () { statusLine.textContent = root.dataset.labelSaved; }, function (error) {
      if (error.fields && error.fields.slow_mode_s) {
        slowError.textContent = error.fields.slow_mode_s;
        slowError.hidden = false;
        slow.setAttribute("aria-invalid", "true");
        slow.focus();
      }
    });
  });

  var words = root.querySelector("[data-words]");
  root.querySelector("[data-word-form]").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var select = form.elements.action;
    post("/moderasi/kata-terlarang", { pattern: form.elements.pattern.value, action: select.value })
      .then(function (word) {
        var row = document.createElement("tr");
        row.dataset.word = word.id;
        var pattern = document.createElement("td");
        pattern.textContent = word.pattern;
        var kind = document.createElement("td");
        kind.textContent = select.options[select.selectedIndex].textContent;
        var cell = document.createElement("td");
        var remove = button(root.dataset.labelDelete, function () { deleteWord(word.id); });
        remove.className = "link";
        cell.append(remove);
        row.append(pattern, kind, cell);
        words.prepend(row);
        form.reset();
      });
  });

  root.querySelectorAll("[data-lift-ban]").forEach(function (lift) {
    lift.addEventListener("click", function () { liftBan(lift.dataset.liftBan, lift.closest("tr")); });
  });
  hiddenList.querySelectorAll("[data-undo]").forEach(function (undo) {
    undo.addEventListener("click", function () { undoHide(undo.dataset.undo); });
  });

  function deleteWord(id) {
    post("/moderasi/kata-terlarang/" + id + "/hapus").then(function () {
      var row = words.querySelector('[data-word="' + id + '"]');
      if (row) row.remove();
    });
  }
  words.addEventListener("click", function (event) {
    var id = event.target.dataset.deleteWord;
    if (id) deleteWord(id);
  });

  connect();
})();
