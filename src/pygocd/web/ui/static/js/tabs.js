/*
 * Tabs (WAI-ARIA tablist): [data-tabs] holds a [role=tablist] of [role=tab] buttons, each
 * controlling the [role=tabpanel] named by its aria-controls. Click selects; Left/Right
 * move to the previous/next tab and select it, Home/End to the first/last. Only the
 * selected tab is in the Tab order. GoCD's permalink: `#tab-<key>` in the address selects
 * that tab, and "Link to this tab" ([data-tab-permalink]) always points at the selected one.
 */
(function () {
  "use strict";

  function setUp(root) {
    var tabs = Array.prototype.slice.call(root.querySelectorAll("[role=tab]"));
    var permalink = root.querySelector("[data-tab-permalink]");

    function select(tab, focus) {
      tabs.forEach(function (other) {
        var selected = other === tab;
        other.setAttribute("aria-selected", selected ? "true" : "false");
        other.tabIndex = selected ? 0 : -1;
        var panel = document.getElementById(other.getAttribute("aria-controls"));
        if (panel) {
          panel.hidden = !selected;
        }
      });
      if (permalink) {
        permalink.setAttribute("href", "#" + tab.id);
      }
      if (focus) {
        tab.focus();
      }
    }

    tabs.forEach(function (tab, index) {
      tab.addEventListener("click", function () {
        select(tab, false);
        if (history.replaceState) {
          history.replaceState(null, "", "#" + tab.id);
        }
      });
      tab.addEventListener("keydown", function (event) {
        var next = null;
        if (event.key === "ArrowRight") {
          next = tabs[(index + 1) % tabs.length];
        } else if (event.key === "ArrowLeft") {
          next = tabs[(index - 1 + tabs.length) % tabs.length];
        } else if (event.key === "Home") {
          next = tabs[0];
        } else if (event.key === "End") {
          next = tabs[tabs.length - 1];
        }
        if (next) {
          event.preventDefault();
          select(next, true);
        }
      });
    });

    function fromHash() {
      var wanted = location.hash.slice(1);
      var found = tabs.filter(function (tab) { return tab.id === wanted; })[0];
      if (found) {
        select(found, false);
      }
    }
    fromHash();
    window.addEventListener("hashchange", fromHash);
  }

  document.querySelectorAll("[data-tabs]").forEach(setUp);
})();
