// The console's small behaviours, bound by data attributes: the Content-Security-Policy runs no
// inline handlers (onclick=…), so pages say what they want and this file does it. Listeners sit
// on the document, so content htmx swaps in behaves the same without binding anything again.
(function () {
  "use strict";

  // <form data-confirm="…">: ask before sending.
  document.addEventListener("submit", function (event) {
    var ask = event.target.dataset.confirm;
    if (ask && !window.confirm(ask)) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    // <button data-copy="field-id" data-copied="Copied">: copy a field's value.
    var copy = target.closest("[data-copy]");
    if (copy) {
      var field = document.getElementById(copy.dataset.copy);
      field.select();
      var done = function () { copy.textContent = copy.dataset.copied; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
      } else { document.execCommand("copy"); done(); }
      return;
    }
    // <input data-select-on-click>: select all of a value shown to be copied.
    if (target.matches("[data-select-on-click]")) { target.select(); return; }
    // <button data-print>: print the page.
    if (target.closest("[data-print]")) { window.print(); return; }
    // <button data-add-condition="#form">: show the segment builder's next hidden condition.
    var add = target.closest("[data-add-condition]");
    if (add) {
      var next = document.querySelector(".cond[hidden]");
      if (!next) return;
      next.hidden = false;
      next.querySelector("select").value = "performed";
      next.dataset.kind = "performed";
      htmx.trigger(add.dataset.addCondition, "input");
    }
  });

  // Capturing, so the condition shows its fields before htmx sends the form for a count.
  document.addEventListener("change", function (event) {
    var target = event.target;
    // <select data-sets-kind>: the condition row shows the fields of the chosen kind.
    if (target.matches("[data-sets-kind]")) target.parentElement.dataset.kind = target.value;
    // <form data-samples='{"column": "value"}'>: a mapped column shows a sample of its values.
    var form = target.closest("form[data-samples]");
    if (form) {
      var shown = form.querySelector('[data-sample-for="' + target.id + '"]');
      if (!shown) return;
      var value = JSON.parse(form.dataset.samples || "{}")[target.value];
      shown.textContent = value ? form.dataset.samplePrefix + " " + value : "";
    }
  }, true);

  // <form data-drop-empty hx-get=…>: leave empty fields out, so the address reads ?lifecycle=active.
  document.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.elt.hasAttribute("data-drop-empty")) return;
    Array.from(event.detail.formData.entries()).forEach(function (entry) {
      if (entry[1] === "") event.detail.formData.delete(entry[0]);
    });
  });
})();
