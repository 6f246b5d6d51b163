"use strict";
// The admin's autocomplete (Select2) leaves its widgets without an accessible
// name, and puts a <span> inside a <ul>: name each after its field's label,
// and present that list as a plain group, for screen readers.
(function () {
  function fieldName(select) {
    const label = document.querySelector('label[for="' + select.id + '"]');
    return label ? label.textContent.replace(/\s*:\s*$/, "").trim() : select.name;
  }

  function describe(select) {
    const container = select.nextElementSibling;
    if (!container || !container.classList.contains("select2")) {
      return;
    }
    const name = fieldName(select);
    container
      .querySelectorAll(".select2-selection, .select2-selection__rendered, .select2-search__field")
      .forEach(function (element) {
        if (element.getAttribute("aria-label") !== name) {
          element.setAttribute("aria-label", name);
        }
      });
    container.querySelectorAll("ul.select2-selection__rendered").forEach(function (list) {
      list.setAttribute("role", "presentation");
    });
  }

  function describeAll() {
    document.querySelectorAll("select.admin-autocomplete").forEach(describe);
  }

  document.addEventListener("DOMContentLoaded", function () {
    describeAll();
    // Select2 draws its widgets after the page loads, and redraws them on each choice.
    new MutationObserver(describeAll).observe(document.body, { childList: true, subtree: true });
  });
})();
