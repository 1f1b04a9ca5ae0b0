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
        if (!response.ok) throw new Error(data.error || response.statusText);
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
      button(root.dataset.labelHide, function () { action(comment, "sembunyikan"); }),
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
    post("/moderasi/" + sitting + "/komentar/" + comment.id + "/blokir", { minutes: minutes, ip: ip })
      .then(function (data) { statusLine.textContent = root.dataset.labelBan + " → " + data.until; });
  }

  function removeEverywhere(id) {
    [list, held].forEach(function (parent) {
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
        var item = render(frame, false);
        if (!((frame.restored || frame.late) && Sidang.insertRestored(list, item, frame.id))) list.append(item);
        while (list.childElementCount > MAX_ITEMS) list.firstElementChild.remove();
        list.scrollTop = list.scrollHeight;
        break;
      case "held": held.append(render(frame, true)); break;
      case "hidden": removeEverywhere(frame.id); break;
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
    post("/moderasi/" + sitting + "/pengaturan", {
      slow_mode_s: parseInt(form.elements.slow_mode_s.value || "0", 10),
      premoderation: form.elements.premoderation.checked,
      allow_links: form.elements.allow_links.checked,
      pinned: form.elements.pinned.value
    }).then(function () { statusLine.textContent = root.dataset.labelSaved; });
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
    lift.addEventListener("click", function () {
      post("/moderasi/blokir/" + lift.dataset.liftBan + "/cabut").then(function () {
        lift.closest("tr").remove();
      });
    });
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
