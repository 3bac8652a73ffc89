/*
 * Live pages. Fragments arrive over Server-Sent Events (htmx sse extension) and replace
 * elements by id. Flash messages clear themselves after 5 seconds, as GoCD's do. When a
 * stream comes back after an error (server restart), the page asks for its content afresh,
 * since it may have missed updates while away.
 */
(function () {
  "use strict";

  function expire(root) {
    var flashes = root.querySelectorAll ? root.querySelectorAll("[data-flash]") : [];
    if (root.hasAttribute && root.hasAttribute("data-flash")) {
      flashes = [root];
    }
    for (var i = 0; i < flashes.length; i++) {
      (function (flash) {
        if (flash.dataset.expiring) {
          return;
        }
        flash.dataset.expiring = "1";
        window.setTimeout(function () {
          flash.remove();
        }, 5000);
      })(flashes[i]);
    }
  }

  expire(document);
  document.addEventListener("htmx:load", function (event) {
    expire(event.target);
  });

  var stale = new WeakSet();
  document.addEventListener("htmx:sseError", function (event) {
    stale.add(event.target);
  });
  document.addEventListener("htmx:sseOpen", function (event) {
    var source = event.target;
    document.documentElement.dataset.live = "open";
    if (!stale.has(source)) {
      return;
    }
    stale.delete(source);
    var url = source.getAttribute("data-refresh-url");
    if (url && window.htmx) {
      window.htmx.ajax("GET", url, { target: "#dashboard-content", swap: "outerHTML" });
    }
  });
})();
