/*
 * The job console. Lines come from the server as <div class="cl" data-tag data-ts>; this
 * groups them into foldable task sections (a task starts at a "!!" line and ends at its
 * "?0"/"?1" status line; preparation and publishing lines form their own sections),
 * collapses a finished section unless it failed, follows the end of the log while
 * "Scroll to end of logs" is on, shows timestamps on demand, and streams new lines over
 * Server-Sent Events from the byte offset the page was rendered at.
 */
(function () {
  "use strict";
  var log = document.getElementById("console");
  if (!log) {
    return;
  }
  var follow = true;
  var current = null; // the open section, if any
  var kindOf = { "pr": "prep", "pe": "prep", "ar": "publish", "ae": "publish" };

  function startSection(line, kind) {
    var section = document.createElement("details");
    section.className = "cl-section cl-section--" + kind;
    section.open = true;
    var summary = document.createElement("summary");
    summary.appendChild(line);
    section.appendChild(summary);
    log.appendChild(section);
    current = { element: section, kind: kind };
  }

  function endSection(status) {
    if (!current) {
      return;
    }
    current.element.classList.add("is-" + status);
    if (status === "passed") {
      current.element.open = false;
    }
    current = null;
  }

  function add(line) {
    var tag = line.getAttribute("data-tag") || "";
    if (tag === "!!" || tag === "!x") {
      endSection("done");
      startSection(line, "task");
      return;
    }
    var group = kindOf[tag];
    if (group) {
      if (!current || current.kind !== group) {
        endSection("passed");
        startSection(line, group);
        if (tag === "pe" || tag === "ae") {
          current.element.classList.add("is-failed");
        }
        return;
      }
      if (tag === "pe" || tag === "ae") {
        current.element.classList.add("is-failed");
      }
    } else if (current && current.kind !== "task") {
      endSection(current.element.classList.contains("is-failed") ? "failed" : "passed");
    }
    if (current) {
      current.element.appendChild(line);
    } else {
      log.appendChild(line);
    }
    if (tag === "?0" || tag === "x0") {
      endSection("passed");
    } else if (tag === "?1" || tag === "x1" || tag === "^C") {
      endSection("failed");
    }
  }

  function addAll(container) {
    var lines = Array.prototype.slice.call(container.children);
    lines.forEach(function (line) {
      container.removeChild(line);
      add(line);
    });
  }

  function scroll() {
    if (follow) {
      log.scrollTop = log.scrollHeight;
      var rect = log.getBoundingClientRect();
      if (rect.bottom > window.innerHeight) {
        window.scrollTo(0, window.scrollY + rect.bottom - window.innerHeight + 20);
      }
    }
  }

  // regroup what the server rendered
  var initial = document.createElement("div");
  while (log.firstChild) {
    initial.appendChild(log.firstChild);
  }
  addAll(initial);

  var waiting = document.getElementById("console-waiting");
  var url = log.getAttribute("data-console-url") + "?offset=" + log.getAttribute("data-offset");
  var source = new EventSource(url);
  source.addEventListener("lines", function (event) {
    var data = JSON.parse(event.data);
    var box = document.createElement("div");
    box.innerHTML = data.html;
    addAll(box);
    log.setAttribute("data-offset", data.offset);
    scroll();
  });
  source.addEventListener("done", function () {
    source.close();
    if (waiting) {
      waiting.hidden = true;
    }
    endSection("done");
    log.setAttribute("data-done", "true");
  });

  document.querySelectorAll("[data-console-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      var action = button.getAttribute("data-console-action");
      var pressed = button.getAttribute("aria-pressed") === "true";
      if (action === "follow") {
        follow = !pressed;
        button.setAttribute("aria-pressed", follow ? "true" : "false");
        scroll();
      } else if (action === "timestamps") {
        log.classList.toggle("show-timestamps", !pressed);
        button.setAttribute("aria-pressed", pressed ? "false" : "true");
      } else if (action === "expand") {
        log.querySelectorAll("details").forEach(function (d) {
          d.open = !pressed;
        });
        button.setAttribute("aria-pressed", pressed ? "false" : "true");
        button.textContent = pressed ? "Expand all" : "Collapse all";
      } else if (action === "first-error") {
        var error = log.querySelector(".is-failed, .cl--stderr, .cl--task-failed, .cl--job-failed");
        if (error) {
          var section = error.closest("details");
          if (section) {
            section.open = true;
          }
          follow = false;
          document.querySelector("[data-console-action=follow]").setAttribute("aria-pressed", "false");
          error.scrollIntoView({ block: "center" });
        }
      }
    });
  });
  scroll();
})();
