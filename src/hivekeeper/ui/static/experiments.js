// hivekeeper experiments pages: conveniences over pages that work without this file.
(function () {
  "use strict";

  // A run's grid: a click anywhere on a row opens its session (links and selected
  // text keep their own behaviour; a middle or modified click opens a new tab).
  var grid = document.getElementById("run-grid");
  if (grid) {
    grid.addEventListener("click", function (ev) {
      var row = ev.target.closest("tr[data-href]");
      if (!row || ev.target.closest("a, button, input, select")) return;
      if (window.getSelection && String(window.getSelection())) return;
      if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button === 1) {
        window.open(row.dataset.href, "_blank", "noopener");
      } else {
        window.location.assign(row.dataset.href);
      }
    });
  }

  // The runs list: "compare" is enabled once exactly two runs are ticked, and a third
  // tick replaces the oldest one.
  var form = document.getElementById("compare-form");
  if (form) {
    var button = document.getElementById("compare-selected");
    var ticked = [];
    var update = function () {
      button.disabled = ticked.length !== 2;
      button.textContent = ticked.length === 2
        ? "Compare the two selected runs"
        : "Tick two runs to compare (" + ticked.length + " ticked)";
    };
    form.querySelectorAll("input[name=run]").forEach(function (box) {
      if (box.checked) ticked.push(box);
      box.addEventListener("change", function () {
        if (box.checked) {
          ticked.push(box);
          if (ticked.length > 2) ticked.shift().checked = false;
        } else {
          ticked = ticked.filter(function (b) { return b !== box; });
        }
        update();
      });
    });
    update();
  }
})();
