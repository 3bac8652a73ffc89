/*
 * Dashboard card buttons: one delegated listener instead of hx-* attributes on every button
 * (htmx would wire thousands of elements one by one at load). A button's `data-get` URL is
 * fetched into the `data-target` of its nearest holder (a popup or modal root); a
 * `data-post` URL (after its `data-confirm` question, if any) and the cards' POST forms are
 * sent with htmx and answer a flash message. Without JavaScript the forms post as usual.
 */
(function () {
  "use strict";
  var board = document.getElementById("dashboard");
  if (!board) {
    return;
  }

  function send(verb, url, source, target, swap) {
    window.htmx.ajax(verb, url, { source: source, target: target, swap: swap });
  }

  // A post's answer is a flash message. Its source is the flash area, not the button: a live
  // update may replace the card (and the button) before the answer comes, and htmx resolves
  // the answer's target from the source.
  function post(url) {
    var flash = document.getElementById("flash");
    send("POST", url, flash, flash, "afterbegin");
  }

  board.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-get], [data-post]") : null;
    if (!button || !window.htmx || button.disabled) {
      return;
    }
    if (button.hasAttribute("data-get")) {
      var holder = button.closest("[data-target]");
      send("GET", button.getAttribute("data-get"), button, holder ? holder.getAttribute("data-target") : "#popup-root", "innerHTML");
      return;
    }
    var question = button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      return;
    }
    post(button.getAttribute("data-post"));
  });

  board.addEventListener("submit", function (event) {
    var form = event.target;
    if (!window.htmx || !form.classList || !form.classList.contains("action-form")) {
      return;
    }
    event.preventDefault();
    post(form.getAttribute("action"));
  });
})();

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

/*
 * The stage popup stays live while it is open: when a live update replaces the card of its
 * pipeline (a job of it changed; the card arrives over the dashboard's SSE stream) or the
 * whole content, the popup is fetched again and its contents are swapped in place, so it
 * stays open, keeps the jobs ticked for a rerun and keeps focus on the same control.
 */
(function () {
  "use strict";

  function swap(dialog, html) {
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.querySelector("dialog");
    if (!fresh) {
      return;
    }
    var ticked = {};
    dialog.querySelectorAll("input[name=job]:checked").forEach(function (box) {
      ticked[box.value] = true;
    });
    var focused = dialog.contains(document.activeElement) ? document.activeElement.getAttribute("aria-label") : null;
    var anchored = dialog.classList.contains("is-anchored");
    dialog.className = fresh.className;
    dialog.classList.toggle("is-anchored", anchored);
    dialog.innerHTML = fresh.innerHTML;
    dialog.querySelectorAll("input[name=job]").forEach(function (box) {
      box.checked = !box.disabled && ticked[box.value] === true;
    });
    if (window.htmx) {
      window.htmx.process(dialog);
    }
    if (focused !== null) {
      var again = null;
      dialog.querySelectorAll("[aria-label]").forEach(function (element) {
        if (!again && element.getAttribute("aria-label") === focused) {
          again = element;
        }
      });
      (again || dialog.querySelector("[data-dialog-close]")).focus();
    }
  }

  function refresh(dialog) {
    // one request at a time per popup; changes meanwhile ask for one more afterwards
    if (dialog.dataset.refreshing) {
      dialog.dataset.again = "1";
      return;
    }
    dialog.dataset.refreshing = "1";
    window.fetch(dialog.getAttribute("data-refresh-url"), { headers: { "HX-Request": "true" } })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .catch(function () {
        return null;
      })
      .then(function (html) {
        delete dialog.dataset.refreshing;
        if (html && dialog.isConnected && dialog.open) {
          swap(dialog, html);
        }
        if (dialog.dataset.again) {
          delete dialog.dataset.again;
          refresh(dialog);
        }
      });
  }

  document.addEventListener("htmx:load", function (event) {
    var element = event.target;
    if (!element.classList) {
      return;
    }
    var name = null;
    if (element.classList.contains("pipeline-card")) {
      name = element.getAttribute("data-pipeline-name");
    } else if (element.id !== "dashboard-content") {
      return;
    }
    document.querySelectorAll("dialog.stage-overview[open][data-refresh-url]").forEach(function (dialog) {
      if (name === null || dialog.getAttribute("data-pipeline-name") === name) {
        refresh(dialog);
      }
    });
  });
})();
