// The share button: the phone's own share sheet (Web Share API) where there is one, otherwise the
// link is copied, and where even that is refused the link is shown selected to copy by hand.
(function () {
  "use strict";
  const button = document.querySelector("[data-share]");
  if (!button) return;
  const note = document.querySelector("[data-share-note]");
  const url = button.dataset.url || location.href;

  function say(text) {
    note.textContent = text;
    note.hidden = false;
  }

  function showLink() {
    const field = document.createElement("input");
    field.readOnly = true;
    field.value = url;
    field.setAttribute("aria-label", button.dataset.linkLabel);
    note.textContent = "";
    note.hidden = false;
    note.append(field);
    field.select();
  }

  button.addEventListener("click", function () {
    if (navigator.share) {
      navigator.share({ title: button.dataset.title, url: url }).catch(function () {});
      return;
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(url).then(function () { say(button.dataset.copied); }, showLink);
    } else showLink();
  });
})();
