// Reading sessions (issue 16): copyable ids on the sessions list, and the match count
// of a filtered list, asked for once the page is shown.
// Progressive: the page reads the same without it.
(function () {
  "use strict";
  var count = document.getElementById("match-count");
  if (count && count.dataset.count && window.fetch) {
    count.textContent = "counting…";
    fetch(count.dataset.count, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        count.textContent = data.count + (data.count === "1" ? " session matches" : " sessions match");
      })
      .catch(function () { count.textContent = ""; });
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest("button.copy-id") : null;
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.dataset.copy).then(function () {
      button.classList.add("copied");
      setTimeout(function () { button.classList.remove("copied"); }, 1200);
    });
  });
})();
