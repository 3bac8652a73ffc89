/*
 * The artifacts tree: "(+) Expand All" / "(−) Collapse All" open or close every folder.
 * Folders are <details>, so each one also folds by click or keyboard on its own. The tree
 * is replaced over SSE when the job changes, hence the delegated listener.
 */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-tree-action]");
    if (!button) {
      return;
    }
    var open = button.getAttribute("data-tree-action") === "expand";
    var tree = button.closest(".artifacts");
    tree.querySelectorAll("details").forEach(function (folder) {
      folder.open = open;
    });
  });
})();

/* Folders the user opened stay open when the tree is re-sent live. */
(function () {
  "use strict";
  var open = {};
  document.addEventListener(
    "toggle",
    function (event) {
      var folder = event.target;
      if (folder.matches && folder.matches(".artifact-tree__folder")) {
        open[folder.getAttribute("data-path")] = folder.open;
      }
    },
    true
  );
  document.addEventListener("htmx:oobAfterSwap", function () {
    document.querySelectorAll(".artifact-tree__folder").forEach(function (folder) {
      if (open[folder.getAttribute("data-path")]) {
        folder.open = true;
      }
    });
  });
})();
