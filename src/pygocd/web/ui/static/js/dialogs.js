/*
 * Popups and modals. The server sends a <dialog> into a [data-dialog-root]; this opens it
 * with showModal() (focus moves in and stays in, Escape closes, the page behind is inert),
 * anchors popups ("anchored" roots) under the control that opened them on wide screens,
 * closes on [data-dialog-close], on a click outside the box, and after a successful form
 * post; focus returns to the opener.
 */
(function () {
  "use strict";
  var openers = new WeakMap();

  function place(dialog, opener) {
    if (!opener || window.innerWidth < 768) {
      return;
    }
    var rect = opener.getBoundingClientRect();
    var width = dialog.offsetWidth;
    var left = Math.max(10, Math.min(rect.left - 20, window.innerWidth - width - 10));
    var top = rect.bottom + 12;
    if (top + dialog.offsetHeight > window.innerHeight - 10) {
      top = Math.max(10, window.innerHeight - dialog.offsetHeight - 10);
    }
    dialog.style.margin = "0";
    dialog.style.left = left + "px";
    dialog.style.top = top + "px";
  }

  function open(root, opener) {
    var dialog = root.querySelector("dialog");
    if (!dialog) {
      return;
    }
    openers.set(dialog, opener);
    dialog.addEventListener("close", function () {
      var back = openers.get(dialog);
      dialog.remove();
      if (back && document.body.contains(back)) {
        back.focus();
      } else if (back && back.id) {
        var again = document.getElementById(back.id);
        if (again) {
          again.focus();
        }
      }
    });
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) {
        var r = dialog.getBoundingClientRect();
        var inside = event.clientX >= r.left && event.clientX <= r.right &&
          event.clientY >= r.top && event.clientY <= r.bottom;
        if (!inside) {
          dialog.close();
        }
      }
      if (event.target.closest("[data-dialog-close]")) {
        dialog.close();
      }
    });
    dialog.showModal();
    if (root.getAttribute("data-dialog-root") === "anchored") {
      dialog.classList.add("is-anchored");
      place(dialog, opener);
    }
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var root = event.detail.target;
    if (root && root.hasAttribute && root.hasAttribute("data-dialog-root")) {
      var opener = event.detail.requestConfig ? event.detail.requestConfig.elt : null;
      open(root, opener);
    }
  });

  // a successful post from inside a dialog closes it (errors stay inside the dialog)
  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    var elt = event.detail.elt;
    var dialog = elt && elt.closest ? elt.closest("dialog") : null;
    if (dialog && xhr && xhr.getResponseHeader("X-Flash-Kind") === "success") {
      dialog.close();
    }
  });
})();
