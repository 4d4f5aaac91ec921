// Switches workspace as soon as another one is chosen (without JavaScript, the form's button
// does it). A file rather than an onchange attribute: the Content-Security-Policy allows no
// inline script.
(function () {
  document.querySelectorAll("select[data-submit-on-change]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
