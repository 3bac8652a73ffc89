/*
 * Agents page: selection (kept across live swaps of the rows), the buttons that need one,
 * select-all over the rows the filter shows, the filter box (text across columns), and the
 * Resources / Environments drop-downs' tri-state check-boxes: checked when every selected
 * agent has the value, indeterminate when some do (sent as `<kind>_keep`: left as it is).
 */
(function () {
  "use strict";
  var form = document.getElementById("agents-form");
  if (!form) {
    return;
  }
  var selected = new Set();
  var filter = document.getElementById("agents-filter");

  function rows() {
    return Array.prototype.slice.call(form.querySelectorAll("tr[data-uuid]"));
  }

  function values(row, kind) {
    var text = row.getAttribute("data-" + kind + "s") || "";
    return text ? text.toLowerCase().split("\n") : [];
  }

  function refresh() {
    var present = new Set();
    rows().forEach(function (row) {
      var uuid = row.getAttribute("data-uuid");
      present.add(uuid);
      row.querySelector("input[name=uuid]").checked = selected.has(uuid);
      var text = filter ? filter.value.trim().toLowerCase() : "";
      row.hidden = !!text && row.getAttribute("data-search").indexOf(text) === -1;
    });
    selected.forEach(function (uuid) {
      if (!present.has(uuid)) {
        selected.delete(uuid);
      }
    });
    form.querySelectorAll("[data-needs-selection]").forEach(function (button) {
      button.disabled = selected.size === 0;
    });
    var all = document.getElementById("agents-select-all");
    var shown = rows().filter(function (row) { return !row.hidden; });
    all.checked = shown.length > 0 && shown.every(function (row) { return selected.has(row.getAttribute("data-uuid")); });
    triState();
  }

  function triState() {
    var chosen = rows().filter(function (row) { return selected.has(row.getAttribute("data-uuid")); });
    form.querySelectorAll(".agents-dropdown").forEach(function (dropdown) {
      var kind = dropdown.getAttribute("data-kind");
      dropdown.querySelectorAll("input[type=checkbox][name=" + kind + "]").forEach(function (box) {
        var value = box.value.toLowerCase();
        var having = chosen.filter(function (row) { return values(row, kind).indexOf(value) !== -1; }).length;
        box.checked = chosen.length > 0 && having === chosen.length;
        box.indeterminate = having > 0 && having < chosen.length;
      });
    });
  }

  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target.name === "uuid") {
      if (target.checked) {
        selected.add(target.value);
      } else {
        selected.delete(target.value);
      }
      refresh();
    } else if (target.id === "agents-select-all") {
      rows().forEach(function (row) {
        if (!row.hidden) {
          var uuid = row.getAttribute("data-uuid");
          if (target.checked) {
            selected.add(uuid);
          } else {
            selected.delete(uuid);
          }
        }
      });
      refresh();
    }
  });

  // indeterminate boxes travel as "<kind>_keep" so the server leaves those values alone
  form.addEventListener("htmx:configRequest", function (event) {
    form.querySelectorAll(".agents-dropdown input[type=checkbox]").forEach(function (box) {
      if (box.indeterminate) {
        var key = box.name + "_keep";
        var kept = event.detail.parameters[key];
        event.detail.parameters[key] = kept ? [].concat(kept, box.value) : box.value;
      }
    });
  });

  form.addEventListener("htmx:afterRequest", function () {
    form.querySelectorAll(".agents-dropdown.is-open").forEach(function (dropdown) {
      dropdown.classList.remove("is-open");
      dropdown.querySelector("[data-dropdown-toggle]").setAttribute("aria-expanded", "false");
    });
    var added = document.getElementById("agents-resource-new");
    if (added) {
      added.value = "";
    }
  });

  form.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.id === "agents-resource-new") {
      event.preventDefault();
      event.target.closest(".agents-dropdown").querySelector("button[type=submit]").click();
    }
  });

  if (filter) {
    filter.addEventListener("input", refresh);
  }
  document.addEventListener("htmx:load", function (event) {
    var id = event.target.id;
    if (id === "agents-table-scroll" || id === "agents-resource-choices" || id === "agents-environment-choices") {
      refresh();
    }
  });
  refresh();
})();
