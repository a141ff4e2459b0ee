// Reading sessions (issue 16): copyable ids on the sessions list.
// Progressive: the page reads the same without it.
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest("button.copy-id") : null;
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.dataset.copy).then(function () {
      button.classList.add("copied");
      setTimeout(function () { button.classList.remove("copied"); }, 1200);
    });
  });
})();
