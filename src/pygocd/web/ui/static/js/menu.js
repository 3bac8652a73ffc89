/*
 * Drop-down menus in the site header (Admin): a disclosure button whose
 * aria-expanded says whether its panel is open. Click, Enter or Space toggles;
 * Escape closes and gives focus back to the button; moving focus or clicking
 * outside closes. Hovering also shows the panel (CSS), as in GoCD.
 */
(function () {
  "use strict";

  function setUp(item) {
    var button = item.querySelector("[data-dropdown-toggle]");
    if (!button) {
      return;
    }

    function isOpen() {
      return button.getAttribute("aria-expanded") === "true";
    }

    function setOpen(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      item.classList.toggle("is-open", open);
    }

    button.addEventListener("click", function () {
      setOpen(!isOpen());
    });

    item.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && isOpen()) {
        setOpen(false);
        button.focus();
        event.preventDefault();
      }
    });

    item.addEventListener("focusout", function (event) {
      if (!item.contains(event.relatedTarget)) {
        setOpen(false);
      }
    });

    document.addEventListener("click", function (event) {
      if (isOpen() && !item.contains(event.target)) {
        setOpen(false);
      }
    });
  }

  document.querySelectorAll("[data-dropdown]").forEach(setUp);
})();
