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

  // Upload forms marked data-upload-progress show how much of the file has been sent, then
  // that the server is working on it. Without JavaScript the form posts as usual.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-upload-progress") || !window.FormData) return;
    if (event.defaultPrevented) return;
    var input = form.querySelector("input[type=file]");
    if (!input || !input.files || !input.files.length) return;
    event.preventDefault();
    var box = form.querySelector("[data-upload-status]");
    var bar = box && box.querySelector("progress");
    var label = box && box.querySelector("[data-upload-label]");
    var working = form.getAttribute("data-upload-progress") || "Processing the file…";
    var button = form.querySelector("button[type=submit]");
    if (box) box.hidden = false;
    if (button) button.disabled = true;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.setRequestHeader("X-Upload-Progress", "1");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable || !bar) return;
      var percent = Math.round((e.loaded / e.total) * 100);
      bar.value = percent;
      bar.textContent = percent + "%";
      if (label) label.textContent = percent < 100 ? "Uploading… " + percent + "%" : working;
    });
    xhr.upload.addEventListener("load", function () {
      if (bar) bar.removeAttribute("value"); // indeterminate while the server works
      if (label) label.textContent = working;
    });
    xhr.addEventListener("load", function () {
      // Whatever the server answered (the page the upload led to, with its one-time messages,
      // or the form again with its errors) is shown as the browser would have shown it.
      var landed = xhr.responseURL;
      document.open();
      document.write(xhr.responseText);
      document.close();
      if (landed && landed !== window.location.href && xhr.status < 400) {
        window.history.replaceState(null, "", landed);
      }
    });
    xhr.addEventListener("error", function () {
      if (button) button.disabled = false;
      if (label) label.textContent = "The upload failed: check the connection and try again.";
    });
    xhr.send(new FormData(form));
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

// Keyboard lists (the Drafts page; any list can opt in). The list is marked data-keyboard-list
// and each row data-row; a row holds a[data-action="open"], and form[data-action="approve"] /
// form[data-action="send"]. J/K move the focus between rows and the preview follows (the same
// request a click makes, once the keys rest for 150 ms), so A and S act on the email shown;
// Enter opens the focused row, A approves it, S sends it (through requestSubmit, so a form's
// data-confirm still asks), ? shows the shortcuts ([data-shortcuts-help]). Nothing fires while
// typing in a field or with Ctrl, Alt or Cmd held. After an action reloads the page, the focus
// returns to the same place in the list, so the next row is ready. Where the preview sits under
// the list (narrow screens), opening a row by tap or Enter scrolls the preview into view, and
// its "Back to list" link returns to the row.
(function () {
  "use strict";

  var STORE_KEY = "plixo-keyboard-row:" + window.location.pathname;
  var PREVIEW_DELAY = 150;
  var previewTimer = null;
  var scrollToPreview = false;

  function isNarrow() {
    return window.matchMedia ? window.matchMedia("(max-width: 1024px)").matches : false;
  }

  function isTyping(element) {
    if (!element) return false;
    var tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  function theList() { return document.querySelector("[data-keyboard-list]"); }

  function rowsOf(list) { return Array.prototype.slice.call(list.querySelectorAll("[data-row]")); }

  function focusedRow(list) {
    var active = document.activeElement;
    if (active && active.matches && active.matches("[data-row]") && list.contains(active)) return active;
    return list.querySelector("[data-row].is-focused");
  }

  function focusRow(list, row) {
    if (!row) return;
    rowsOf(list).forEach(function (other) {
      other.classList.remove("is-focused");
      other.setAttribute("tabindex", "-1");
    });
    row.classList.add("is-focused");
    row.setAttribute("tabindex", "0");
    row.focus();
    if (row.scrollIntoView) row.scrollIntoView({ block: "nearest" });
  }

  function openRow(list, row, scroll) {
    var link = row && row.querySelector('[data-action="open"]');
    if (!link) return;
    window.clearTimeout(previewTimer);
    scrollToPreview = !!scroll;
    rowsOf(list).forEach(function (other) {
      other.classList.remove("is-selected");
      other.removeAttribute("aria-selected");
    });
    row.classList.add("is-selected");
    row.setAttribute("aria-selected", "true");
    link.click();
  }

  // The preview follows the keyboard focus, once the keys rest.
  function previewSoon(list, row) {
    window.clearTimeout(previewTimer);
    if (!row || row.classList.contains("is-selected") || !window.htmx) return;
    previewTimer = window.setTimeout(function () { openRow(list, row, false); }, PREVIEW_DELAY);
  }

  function submitRow(list, row, action) {
    var form = row && row.querySelector('form[data-action="' + action + '"]');
    if (!form) return false;
    var index = String(rowsOf(list).indexOf(row));
    var button = form.querySelector('button[type="submit"], button:not([type])');
    if (form.requestSubmit) {
      // Listeners on window run after the document's data-confirm check: remember the row only
      // if the submit was not called off.
      window.addEventListener("submit", function (event) {
        if (event.defaultPrevented) return;
        try { window.sessionStorage.setItem(STORE_KEY, index); } catch (e) { /* private mode */ }
      }, { once: true });
      form.requestSubmit(button || undefined);
    } else {
      var question = form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) return true;
      try { window.sessionStorage.setItem(STORE_KEY, index); } catch (e) { /* private mode */ }
      form.submit();
    }
    return true;
  }

  function toggleHelp(force) {
    var help = document.querySelector("[data-shortcuts-help]");
    if (!help) return;
    var show = typeof force === "boolean" ? force : help.hidden;
    help.hidden = !show;
    document.querySelectorAll("[data-shortcuts-toggle]").forEach(function (button) {
      button.setAttribute("aria-expanded", show ? "true" : "false");
    });
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("[data-shortcuts-toggle]");
    if (toggle) { toggleHelp(); return; }
    var list = theList();
    if (!list) return;
    var back = event.target.closest && event.target.closest("[data-back-to-list]");
    if (back) {
      var target = document.getElementById((back.getAttribute("href") || "").slice(1));
      if (target && list.contains(target)) {
        event.preventDefault();
        focusRow(list, target);
        if (target.scrollIntoView) target.scrollIntoView({ block: "center" });
      }
      return;
    }
    var row = event.target.closest && event.target.closest("[data-row]");
    if (!row || !list.contains(row)) return;
    window.clearTimeout(previewTimer);
    // Links, buttons and fields inside the row keep their own behaviour; the row's own open
    // link loads the preview by itself (htmx), which then comes into view on a narrow screen.
    if (event.target.closest("a, button, input, select, textarea, label, form")) {
      if (event.target.closest('[data-action="open"]')) scrollToPreview = true;
      focusRow(list, row);
      return;
    }
    focusRow(list, row);
    openRow(list, row, true);
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(document.activeElement)) return;
    var list = theList();
    if (!list) return;
    var key = event.key;
    if (key === "?") { event.preventDefault(); toggleHelp(); return; }
    if (key === "Escape") { toggleHelp(false); return; }
    if (event.shiftKey) return;
    var rows = rowsOf(list);
    if (!rows.length) return;
    var row = focusedRow(list);
    var index = row ? rows.indexOf(row) : -1;
    switch (key.toLowerCase()) {
      case "j":
        event.preventDefault();
        row = rows[Math.min(index + 1, rows.length - 1)];
        focusRow(list, row);
        previewSoon(list, row);
        break;
      case "k":
        event.preventDefault();
        row = rows[Math.max(index - 1, 0)];
        focusRow(list, row);
        previewSoon(list, row);
        break;
      case "enter":
        // Enter on a link or button inside the row does what it always does.
        if (row && document.activeElement === row) { event.preventDefault(); openRow(list, row, true); }
        break;
      case "a":
        if (row && submitRow(list, row, "approve")) event.preventDefault();
        break;
      case "s":
        if (row && submitRow(list, row, "send")) event.preventDefault();
        break;
    }
  });

  // A preview opened by tap or Enter comes into view where it sits under the list.
  document.addEventListener("htmx:afterSwap", function (event) {
    var preview = event.target;
    if (!preview || preview.id !== "preview") return;
    var wanted = scrollToPreview;
    scrollToPreview = false;
    if (!wanted || !isNarrow()) return;
    if (preview.scrollIntoView) preview.scrollIntoView({ block: "start" });
    if (preview.focus) preview.focus({ preventScroll: true });
  });

  // Back from an action: focus the row that now stands where the acted-on one was, and show
  // its preview.
  var list = theList();
  if (list) {
    var stored = null;
    try {
      stored = window.sessionStorage.getItem(STORE_KEY);
      window.sessionStorage.removeItem(STORE_KEY);
    } catch (e) { /* private mode */ }
    var rows = rowsOf(list);
    if (stored !== null && rows.length) {
      var restored = rows[Math.min(parseInt(stored, 10) || 0, rows.length - 1)];
      focusRow(list, restored);
      previewSoon(list, restored);
    } else {
      var selected = list.querySelector("[data-row].is-selected");
      if (selected) selected.classList.add("is-focused");
    }
  }
})();

// A button marked data-copy="#field" copies that field's value and says so.
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-copy]") : null;
  if (!button) return;
  var field = document.querySelector(button.getAttribute("data-copy"));
  if (!field) return;
  var label = button.textContent;
  function done() {
    button.textContent = button.getAttribute("data-copied-text") || "Copied";
    window.setTimeout(function () { button.textContent = label; }, 2000);
  }
  field.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});
