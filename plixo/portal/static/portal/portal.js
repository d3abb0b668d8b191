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
