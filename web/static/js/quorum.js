// Watch page: quorum ("Kuorum: 24/35 hadir, syarat 24") and vote results, polled while live.
"use strict";

(function () {
  const box = document.getElementById("kuorum");
  if (!box) return;
  const POLL_MS = 5000;
  const text = box.querySelector("[data-quorum-text]");
  const list = box.querySelector("[data-votes]");

  function voteItem(vote, labels) {
    const li = document.createElement("li");
    const title = document.createElement("strong");
    title.textContent = vote.title;
    li.append(title);
    if (vote.secret) li.append(" (" + box.dataset.labelSecret + ")");
    const detail = document.createElement("span");
    if (!vote.totals) {
      detail.textContent = " — " + box.dataset.labelOpen;
    } else {
      const parts = Object.entries(vote.totals).map(([choice, n]) => labels[choice] + " " + n);
      const outcome = vote.adopted ? box.dataset.labelAdopted : box.dataset.labelRejected;
      detail.textContent = " — " + parts.join(", ") + (vote.status === "closed" ? " · " + outcome : "");
    }
    li.append(detail);
    return li;
  }

  async function refresh() {
    try {
      const response = await fetch(box.dataset.summary, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const summary = await response.json();
      text.textContent = summary.text;
      text.classList.toggle("short", !summary.quorum.reached);
      list.replaceChildren(...summary.votes.map((vote) => voteItem(vote, summary.labels)));
    } catch (error) {
      // A missed poll is harmless: the next one catches up.
    }
  }

  refresh();
  if (box.dataset.live) setInterval(refresh, POLL_MS);
})();
