/*
 * GoCD shows times in the browser's zone: "02 Jan, 2026 at 03:04:05 Local Time". The server
 * writes <time datetime="UTC instant" data-local-time>; this rewrites the text (the title
 * keeps the server time). Runs again on every fragment htmx swaps in.
 */
(function () {
  "use strict";
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function two(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function format(date) {
    return two(date.getDate()) + " " + MONTHS[date.getMonth()] + ", " + date.getFullYear() +
      " at " + two(date.getHours()) + ":" + two(date.getMinutes()) + ":" + two(date.getSeconds()) +
      " Local Time";
  }

  function localise(root) {
    var nodes = root.querySelectorAll ? root.querySelectorAll("time[data-local-time]") : [];
    for (var i = 0; i < nodes.length; i++) {
      var date = new Date(nodes[i].getAttribute("datetime"));
      if (!isNaN(date.getTime())) {
        nodes[i].textContent = format(date);
      }
    }
  }

  localise(document);
  document.addEventListener("htmx:load", function (event) {
    localise(event.target.parentNode || event.target);
  });
})();
