/*
 * Dashboard search: filters cards by a case-insensitive substring of the pipeline name as
 * you type (debounced 200 ms, like GoCD), keeps the text in the URL hash (#!/text) so it
 * can be bookmarked, hides sections left empty, and filters again when live updates swap
 * cards in.
 */
(function () {
  "use strict";
  var input = document.getElementById("pipeline-search");
  if (!input) {
    return;
  }
  var timer = null;

  function apply() {
    var text = input.value.trim().toLowerCase();
    var any = false;
    document.querySelectorAll(".dashboard-group").forEach(function (section) {
      var shown = 0;
      section.querySelectorAll(".pipeline-card").forEach(function (card) {
        var match = !text || card.getAttribute("data-pipeline-name").indexOf(text) !== -1;
        card.hidden = !match;
        if (match) {
          shown += 1;
        }
      });
      section.hidden = shown === 0;
      any = any || shown > 0;
    });
    var none = document.querySelector(".dashboard-no-match");
    if (none) {
      none.hidden = any;
    }
  }

  function fromHash() {
    var hash = window.location.hash;
    if (hash.indexOf("#!/") === 0) {
      input.value = decodeURIComponent(hash.slice(3));
    }
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var text = input.value.trim();
      history.replaceState(null, "", text ? "#!/" + encodeURIComponent(text) : window.location.pathname + window.location.search);
      apply();
    }, 200);
  });
  fromHash();
  apply();
  document.addEventListener("htmx:load", function (event) {
    if (event.target.classList && (event.target.classList.contains("pipeline-card") || event.target.id === "dashboard-content")) {
      apply();
    }
  });
})();
