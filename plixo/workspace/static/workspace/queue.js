/* My Queue keyboard: J/K move, Enter opens, S sends the approved draft, P promise, N note,
   E escalate, W write to the payer, / search, ? shortcuts. Nothing fires while typing in a
   field or with a modifier key held. On a narrow screen an item opens as its own page. */
(function () {
  "use strict";
  var list = function () { return document.querySelector("[data-queue-list]"); };
  var rows = function () {
    var l = list();
    return l ? Array.prototype.filter.call(l.querySelectorAll("[data-queue-row]"), function (r) {
      return !r.classList.contains("is-hidden");
    }) : [];
  };
  var selectedKey = null;
  // The inspector address asked for last: after J J K only its answer is shown (an earlier
  // one that arrives late is dropped). The actions' answers (POST) always show.
  var wanted = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var config = event.detail.requestConfig;
    if (!target || target.id !== "inspector" || !config || !wanted) return;
    if (String(config.verb).toLowerCase() === "get" && config.path !== wanted) event.detail.shouldSwap = false;
  });
  var narrow = function () { return window.matchMedia("(max-width: 1024px)").matches; };

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return el.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function select(row, open) {
    rows().forEach(function (r) { r.classList.remove("is-selected"); r.removeAttribute("aria-current"); });
    if (!row) return;
    row.classList.add("is-selected");
    row.setAttribute("aria-current", "true");
    selectedKey = row.getAttribute("data-key");
    var link = row.querySelector("[data-inspect]");
    link.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
    if (open) openRow(row);
  }

  function openRow(row) {
    var link = row.querySelector("[data-inspect]");
    if (narrow() || !window.htmx) { window.location.href = link.getAttribute("href"); return; }
    wanted = link.getAttribute("href");
    window.htmx.ajax("GET", wanted, { target: "#inspector", swap: "innerHTML" });
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.findIndex(function (r) { return r.classList.contains("is-selected"); });
    var next = index < 0 ? 0 : Math.min(all.length - 1, Math.max(0, index + step));
    select(all[next], true);
  }

  // The inspector shows the item in focus (not one it still shows while the next loads).
  function inspectorReady() {
    var shown = document.querySelector("#inspector [data-inspector]");
    if (!shown) return false;
    var row = rows().find(function (r) { return r.classList.contains("is-selected"); });
    return !row || row.getAttribute("data-invoice") === shown.getAttribute("data-invoice");
  }

  function openAction(id) {
    if (!inspectorReady()) return false;
    var panel = document.getElementById(id);
    if (!panel) return false;
    panel.open = true;
    var field = panel.querySelector("textarea, input:not([type=hidden]), select");
    if (field) field.focus(); else panel.querySelector("summary").focus();
    return true;
  }

  function showShortcuts() {
    var dialog = document.getElementById("queue-shortcuts");
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape" && typing(event.target)) { event.target.blur(); return; }
    if (typing(event.target) || event.defaultPrevented) return;
    var dialog = document.getElementById("queue-shortcuts");
    if (dialog && dialog.open) return;
    var key = event.key;
    var handled = true;
    if (key === "j" || key === "J") move(1);
    else if (key === "k" || key === "K") move(-1);
    else if (key === "s" || key === "S") {
      // Only the draft of the item in focus: never one the inspector still shows from before.
      var send = document.querySelector('#inspector [data-shortcut="send"]');
      if (send && inspectorReady()) send.click(); else handled = false;
    }
    else if (key === "p" || key === "P") handled = openAction("inspector-promise");
    else if (key === "n" || key === "N") handled = openAction("inspector-note");
    else if (key === "e" || key === "E") handled = openAction("inspector-escalate");
    else if (key === "w" || key === "W") handled = openAction("inspector-write");
    else if (key === "/") { var s = document.querySelector("[data-queue-search]"); if (s) s.focus(); else handled = false; }
    else if (key === "?") showShortcuts();
    else handled = false;
    if (handled) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-shortcuts-open]");
    if (opener) { showShortcuts(); return; }
    var link = event.target.closest("[data-queue-row] [data-inspect]");
    if (!link) return;
    if (narrow()) { event.preventDefault(); event.stopPropagation(); window.location.href = link.getAttribute("href"); return; }
    wanted = link.getAttribute("href");
    select(link.closest("[data-queue-row]"), false);
  }, true);

  document.addEventListener("input", function (event) {
    if (!event.target.matches("[data-queue-search]")) return;
    var term = event.target.value.trim().toLowerCase();
    var l = list();
    if (!l) return;
    l.querySelectorAll("[data-queue-row]").forEach(function (r) {
      r.classList.toggle("is-hidden", term !== "" && r.getAttribute("data-haystack").indexOf(term) < 0);
    });
  });

  // After the list refreshes (an action cleared an item), keep the place: the same item if it
  // is still there, else the one that took its position.
  var lastIndex = 0;
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "queue-list") {
      lastIndex = Math.max(0, rows().findIndex(function (r) { return r.classList.contains("is-selected"); }));
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "queue-list") return;
    var all = rows();
    var same = all.filter(function (r) { return r.getAttribute("data-key") === selectedKey; })[0];
    var row = same || all[Math.min(lastIndex, all.length - 1)];
    if (!row) return;
    if (same) {
      row.classList.add("is-selected");
      row.setAttribute("aria-current", "true");
      row.querySelector("[data-inspect]").focus({ preventScroll: true });
      return;
    }
    // The item was cleared: say what happened, and go on with the one that took its place.
    var flash = document.querySelector("#inspector .messages");
    var toast = document.getElementById("queue-toast");
    if (flash && toast) toast.innerHTML = flash.innerHTML;
    select(row, true);
  });
})();
