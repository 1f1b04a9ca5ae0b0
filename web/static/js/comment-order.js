// Shared by the watch page and the moderator console: where a comment goes back in a list.
(function () {
  "use strict";
  window.Sidang = window.Sidang || {};

  // A comment whose hiding was undone ("restored"), or one that reached the node after newer
  // ones while the bus was down ("late"), goes before the first newer one (ids grow with
  // time). Returns false when nothing newer is listed, so it belongs at the end.
  window.Sidang.insertRestored = function (list, item, id) {
    var next = null, node = list.lastElementChild;
    while (node && Number(node.dataset.id) > Number(id)) {
      next = node;
      node = node.previousElementSibling;
    }
    if (next === null) return false;
    list.insertBefore(item, next);
    return true;
  };
})();
