// hivekeeper UI, shared by every page: theme toggle, copy buttons, filter rows.
// Progressive: every page works without this file; nothing here is required to read data.
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");

  // Theme: the server renders data-theme from the hk_theme cookie, so the choice
  // survives reloads without a flash; no cookie means the system's preference.
  var toggle = document.getElementById("theme-toggle");
  if (toggle) {
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var dark = root.dataset.theme
        ? root.dataset.theme === "dark"
        : window.matchMedia("(prefers-color-scheme: dark)").matches;
      var next = dark ? "light" : "dark";
      root.dataset.theme = next;
      document.cookie = "hk_theme=" + next + "; path=/; max-age=31536000; samesite=strict";
    });
  }

  // Copy buttons of JSON sections (also those of detail panes loaded later).
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest("button.copy") : null;
    if (!button) return;
    var pre = button.parentElement.querySelector("pre");
    if (!pre || !navigator.clipboard) return;
    navigator.clipboard.writeText(pre.textContent).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 1200);
    });
  });
  showCopyButtons(document);
  document.addEventListener("hk:detail", function (ev) { showCopyButtons(ev.target); });

  function showCopyButtons(scope) {
    scope.querySelectorAll("button.copy").forEach(function (b) { b.hidden = false; });
  }

  // Filter rows: add and remove without a round trip; empty rows are not submitted.
  var filters = document.getElementById("filters");
  if (filters) {
    filters.querySelectorAll(".remove-filter").forEach(function (b) { b.hidden = false; });
    var add = document.createElement("button");
    add.type = "button";
    add.className = "add-filter";
    add.textContent = "+ filter";
    filters.appendChild(add);
    add.addEventListener("click", function () {
      var rows = filters.querySelectorAll(".filter-row");
      var copy = rows[rows.length - 1].cloneNode(true);
      copy.querySelectorAll("input").forEach(function (i) { i.value = ""; });
      copy.querySelector("select[name=op]").value = "is";
      copy.querySelector("select[name=t]").value = "auto";
      rows[rows.length - 1].after(copy);
      copy.querySelector("input[name=f]").focus();
    });
    filters.addEventListener("click", function (ev) {
      var button = ev.target.closest(".remove-filter");
      if (!button) return;
      var row = button.closest(".filter-row");
      if (filters.querySelectorAll(".filter-row").length > 1) row.remove();
      else row.querySelectorAll("input").forEach(function (i) { i.value = ""; });
    });
  }
  var query = document.getElementById("query");
  if (query) {
    query.addEventListener("submit", function () {
      // Shorter, cleaner URLs: blank fields and filter rows without a field stay out.
      query.querySelectorAll(".filter-row").forEach(function (row) {
        if (!row.querySelector("input[name=f]").value.trim()) {
          row.querySelectorAll("input, select").forEach(function (i) { i.disabled = true; });
        }
      });
      query.querySelectorAll("input[name=q], input[name=from], input[name=to], input[name=col], input[name=run], input[name=dataset]")
        .forEach(function (i) { if (!i.value.trim()) i.disabled = true; });
      setTimeout(function () {
        query.querySelectorAll(":disabled").forEach(function (i) { i.disabled = false; });
      }, 0);
    });
  }
})();
