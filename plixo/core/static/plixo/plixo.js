// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Selects marked data-autosubmit apply their filter at once.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-autosubmit]") && target.form) {
      target.form.requestSubmit ? target.form.requestSubmit() : target.form.submit();
    }
  });

  // Forms marked data-confirm ask before an action that cannot be undone.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // "/" jumps to the page's search box, as in most data tools.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var active = document.activeElement;
    var tag = active ? active.tagName : "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (active && active.isContentEditable)) return;
    var search = document.querySelector("[data-search]");
    if (search) {
      event.preventDefault();
      search.focus();
      search.select();
    }
  });

  // Only one dropdown menu open at a time; a click elsewhere or Escape closes them.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });
  // A table wider than the screen says so: a hint line under it, and keyboard focus so the
  // arrow keys can scroll it. The edge shadows in the stylesheet work without this.
  function markOverflowingTables(root) {
    (root || document).querySelectorAll(".table-wrap").forEach(function (wrap) {
      var hint = wrap.nextElementSibling;
      if (!hint || !hint.classList.contains("scroll-hint")) {
        hint = document.createElement("p");
        hint.className = "scroll-hint";
        hint.setAttribute("aria-hidden", "true");
        hint.textContent = "Scroll sideways for more columns \u2192";
        wrap.insertAdjacentElement("afterend", hint);
      }
      var overflowing = wrap.scrollWidth > wrap.clientWidth + 1;
      wrap.classList.toggle("is-overflowing", overflowing);
      if (overflowing) {
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        if (!wrap.hasAttribute("aria-label")) wrap.setAttribute("aria-label", "Table, scrolls sideways");
      } else {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
      }
    });
  }
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(function () { markOverflowingTables(); }, 150);
  });
  document.addEventListener("htmx:afterSwap", function (event) { markOverflowingTables(event.target); });
  markOverflowingTables();
})();
