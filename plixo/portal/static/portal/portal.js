// A form marked data-once submits once: a double tap must not send two payments or plans.
// (Buttons are not disabled, which would drop the pressed button's name from the request.)
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.hasAttribute || !form.hasAttribute("data-once")) return;
  if (form.dataset.sent === "1") {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "1";
  form.setAttribute("aria-busy", "true");
  window.setTimeout(function () { form.dataset.sent = ""; form.removeAttribute("aria-busy"); }, 8000);
});

// The plan form: choosing another number of installments lays the rows out again at once (the
// same as pressing "Split evenly", which stays for browsers without JavaScript).
document.addEventListener("change", function (event) {
  var field = event.target;
  if (!field.name || field.name !== "count") return;
  var layout = field.form && field.form.querySelector("[data-plan-layout]");
  if (layout && !layout.disabled) layout.click();
});

// Amount fields say how the amount will be recorded while the payer types ("1,50" on a
// German browser: 1.50 EUR), by the same rules as the server (plixo.core.money.
// parse_typed_amount); the server decides, this only shows it before the payer sends.
(function () {
  function readAmount(text, decimal) {
    var compact = text.replace(/[\s\u00a0\u202f\u2009']/g, "");
    if (!compact || /[^0-9.,]/.test(compact)) return null;
    var seps = compact.replace(/[0-9]/g, "");
    if (!seps) return compact;
    var kinds = seps.split("").filter(function (c, i, all) { return all.indexOf(c) === i; });
    if (kinds.length === 2) {
      var dec = seps.charAt(seps.length - 1);
      var group = dec === "." ? "," : ".";
      if (compact.split(dec).length > 2) return null;
      return compact.split(group).join("").replace(dec, ".");
    }
    if (seps.length > 1) {
      var groups = compact.split(seps.charAt(0));
      if (!groups[0] || groups[groups.length - 1].length !== 3) return null;
      return groups.join("");
    }
    var parts = compact.split(seps);
    if (parts[1].length !== 3 || !parts[0]) return (parts[0] || "0") + "." + parts[1];
    if (decimal !== "," && decimal !== ".") return "ambiguous:" + parts[0] + parts[1] + ":" + parts[0] + "." + parts[1];
    return decimal === seps ? parts[0] + "." + parts[1] : parts[0] + parts[1];
  }

  function show(field) {
    var note = field.parentNode.querySelector(".amount-preview");
    if (!note) {
      note = document.createElement("p");
      note.className = "amount-preview help";
      note.setAttribute("aria-live", "polite");
      field.parentNode.appendChild(note);
    }
    var read = readAmount(field.value, field.getAttribute("data-decimal"));
    var currency = field.getAttribute("data-currency");
    var digits = parseInt(field.getAttribute("data-digits"), 10);
    if (!field.value.trim()) { note.textContent = ""; return; }
    if (read === null) { note.textContent = "Not an amount yet."; return; }
    if (read.indexOf("ambiguous:") === 0) {
      var both = read.split(":");
      note.textContent = "Could be " + both[1] + " or " + both[2] + " " + currency + ": type it without the thousands separator.";
      return;
    }
    var decimals = (read.split(".")[1] || "").replace(/0+$/, "");
    if (decimals.length > digits) { note.textContent = currency + " has " + digits + " decimal places."; return; }
    // Written out as text, never through a float.
    var whole = (read.split(".")[0] || "0").replace(/^0+(?=\d)/, "");
    var fraction = (decimals + "0000").slice(0, digits);
    note.textContent = "Recorded as " + whole + (digits ? "." + fraction : "") + " " + currency + ".";
  }

  document.addEventListener("input", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-amount-preview")) show(event.target);
  });
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-amount-preview]"), show);
  });
})();
