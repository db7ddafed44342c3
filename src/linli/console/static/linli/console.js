/* Linli console: the few behaviours plain HTML lacks. No dependencies. */
(function () {
  "use strict";
  // Copy buttons: <button data-copy="#input-id" data-copied="Copied">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    source.select();
    var done = function () {
      var label = button.textContent;
      button.textContent = button.getAttribute("data-copied") || label;
      setTimeout(function () { button.textContent = label; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(done);
    } else if (document.execCommand("copy")) {
      done();
    }
  });
  // Forms that undo something ask first: <form data-confirm="Are you sure?">.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
  // Bring the form's error summary into view so keyboard and screen-reader users hear it.
  var summary = document.getElementById("form-errors");
  if (summary) {
    summary.setAttribute("tabindex", "-1");
    summary.focus();
  }
})();
