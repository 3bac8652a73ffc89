/*
 * The value stream map: pointing at (or tabbing into) a node darkens its edges, as GoCD's
 * map does. Delegated, because the map is replaced over SSE when a pipeline on it changes.
 */
(function () {
  "use strict";
  function highlight(node, on) {
    var id = node.getAttribute("data-node");
    document.querySelectorAll(".vsm-edge").forEach(function (edge) {
      if (edge.getAttribute("data-source") === id || edge.getAttribute("data-target") === id) {
        edge.classList.toggle("is-highlighted", on);
      }
    });
  }
  ["mouseover", "focusin"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var node = event.target.closest && event.target.closest(".vsm-node");
      if (node) {
        highlight(node, true);
      }
    });
  });
  ["mouseout", "focusout"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var node = event.target.closest && event.target.closest(".vsm-node");
      if (node && !node.contains(event.relatedTarget)) {
        highlight(node, false);
      }
    });
  });
})();

/* GoCD opens the map scrolled to its pipeline: centre the current node in the canvas. */
(function () {
  "use strict";
  var scroller = document.querySelector(".vsm-scroll");
  var current = scroller && scroller.querySelector(".vsm-node.is-current");
  if (current) {
    scroller.scrollLeft = current.offsetLeft - (scroller.clientWidth - current.offsetWidth) / 2;
    scroller.scrollTop = current.offsetTop - (scroller.clientHeight - current.offsetHeight) / 2;
  }
})();
