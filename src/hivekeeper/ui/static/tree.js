// The session page's event tree and waterfall, virtualised: only the rows in view
// exist in the DOM, so a 10,000-event session scrolls like a 10-event one. The
// server-rendered rows stay when this script cannot run. Keyboard: the tree is one
// focus stop (aria-activedescendant); Up/Down move, Right opens or enters, Left
// closes or goes to the parent, Home/End, PageUp/PageDown, Enter/Space select.
(function () {
  "use strict";
  var tree = document.getElementById("outline");
  if (!tree || !window.fetch) return;
  var ROW = 28; // px; equals --row in app.css
  var OVERSCAN = 12;
  var detail = document.getElementById("detail");
  var base = tree.dataset.base;
  var detailBase = tree.dataset.detail;
  var selectedId = tree.dataset.selected;
  var rows = [];        // every event, depth-first
  var visible = [];     // indices of rows not inside a collapsed row
  var position = [];    // row index -> index in `visible` (-1 when hidden)
  var collapsed = {};
  var active = 0;       // index in `visible`
  var span = 1;
  var spacer = null;
  var pending = null;
  var framed = false;

  fetch(tree.dataset.outline, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(start)
    .catch(function () { /* keep the server-rendered rows */ });

  function start(data) {
    span = data.span || 1;
    var siblings = {};
    rows = data.rows.map(function (r, i) {
      var row = { i: i, id: r[0], parent: r[1], depth: r[2], kids: r[3] === 1, type: r[4], name: r[5],
                  start: r[6], dur: r[7], err: r[8] === 1, model: r[9] };
      (siblings[row.parent] = siblings[row.parent] || []).push(i);
      return row;
    });
    Object.keys(siblings).forEach(function (p) {
      siblings[p].forEach(function (i, n) { rows[i].pos = n + 1; rows[i].size = siblings[p].length; });
    });
    tree.textContent = "";
    tree.classList.add("virtual-host");
    spacer = document.createElement("div");
    spacer.className = "virtual";
    tree.appendChild(spacer);
    var pager = document.querySelector(".outline-pager");
    if (pager) pager.hidden = true;
    recompute();
    var chosen = rows.findIndex(function (r) { return r.id === selectedId; });
    setActive(chosen >= 0 ? position[chosen] : 0, true);
    tree.addEventListener("scroll", schedule, { passive: true });
    window.addEventListener("resize", schedule);
    tree.addEventListener("keydown", onKey);
    tree.addEventListener("click", onClick);
  }

  function recompute() {
    visible = [];
    position = new Array(rows.length);
    var hideBelow = -1;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      if (hideBelow >= 0 && row.depth > hideBelow) { position[i] = -1; continue; }
      hideBelow = -1;
      position[i] = visible.length;
      visible.push(i);
      if (collapsed[i]) hideBelow = row.depth;
    }
    spacer.style.height = visible.length * ROW + "px";
  }

  function schedule() {
    if (framed) return;
    framed = true;
    window.requestAnimationFrame(function () { framed = false; render(); });
  }

  function render() {
    var top = tree.scrollTop;
    var first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    var last = Math.min(visible.length, Math.ceil((top + tree.clientHeight) / ROW) + OVERSCAN);
    var fragment = document.createDocumentFragment();
    for (var p = first; p < last; p++) fragment.appendChild(rowElement(rows[visible[p]], p));
    spacer.textContent = "";
    spacer.appendChild(fragment);
  }

  function rowElement(row, p) {
    var el = document.createElement("div");
    el.className = "row t-" + row.type + (row.err ? " err" : "") + (p === active ? " active" : "");
    el.id = "r-" + row.i;
    el.dataset.i = row.i;
    el.setAttribute("role", "treeitem");
    el.setAttribute("aria-level", row.depth + 1);
    el.setAttribute("aria-setsize", row.size || 1);
    el.setAttribute("aria-posinset", row.pos || 1);
    el.setAttribute("aria-selected", row.id === selectedId ? "true" : "false");
    if (row.kids) el.setAttribute("aria-expanded", collapsed[row.i] ? "false" : "true");
    el.style.top = p * ROW + "px";
    var cell = document.createElement("span");
    cell.className = "tree-cell lvl-" + Math.min(row.depth, 30);
    var tog = document.createElement("span");
    tog.className = "tog";
    tog.setAttribute("aria-hidden", "true");
    tog.textContent = row.kids ? (collapsed[row.i] ? "▸" : "▾") : "";
    var type = document.createElement("span");
    type.className = "type";
    type.textContent = row.type;
    var name = document.createElement("a");
    name.className = "name";
    name.tabIndex = -1;
    name.href = base + "?event=" + encodeURIComponent(row.id);
    name.textContent = row.name || "(unnamed)";
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = (row.model ? row.model + " · " : "") + duration(row.dur);
    cell.append(tog, type, name, meta);
    var wf = document.createElement("span");
    wf.className = "wf-cell";
    if (row.start !== null) {
      var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      svg.setAttribute("viewBox", "0 0 1000 10");
      svg.setAttribute("preserveAspectRatio", "none");
      svg.setAttribute("aria-hidden", "true");
      var rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      var left = Math.min(Math.max(row.start / span * 1000, 0), 998);
      var width = Math.max((row.dur || 0) / span * 1000, 2);
      rect.setAttribute("x", left.toFixed(2));
      rect.setAttribute("y", "1");
      rect.setAttribute("width", Math.min(width, 1000 - left).toFixed(2));
      rect.setAttribute("height", "8");
      svg.appendChild(rect);
      wf.appendChild(svg);
    }
    el.append(cell, wf);
    return el;
  }

  function setActive(p, center) {
    if (!visible.length) return;
    active = Math.max(0, Math.min(p, visible.length - 1));
    var y = active * ROW;
    if (center) tree.scrollTop = Math.max(0, y - tree.clientHeight / 2);
    else if (y < tree.scrollTop) tree.scrollTop = y;
    else if (y + ROW > tree.scrollTop + tree.clientHeight) tree.scrollTop = y + ROW - tree.clientHeight;
    render();
    tree.setAttribute("aria-activedescendant", "r-" + visible[active]);
  }

  function toggle(i, open) {
    if (!rows[i].kids) return;
    var keep = visible[active];
    if (open) delete collapsed[i]; else collapsed[i] = true;
    recompute();
    // The active row may have been inside what closed: it moves to the closed row.
    setActive(position[keep] >= 0 ? position[keep] : position[i]);
  }

  function select(i) {
    var row = rows[i];
    selectedId = row.id;
    setActive(position[i]);
    history.replaceState(null, "", base + "?event=" + encodeURIComponent(row.id));
    if (pending) pending.abort();
    pending = window.AbortController ? new AbortController() : null;
    detail.classList.add("loading");
    fetch(detailBase + encodeURIComponent(row.id) + "/detail",
          { credentials: "same-origin", signal: pending ? pending.signal : undefined })
      .then(function (r) {
        if (r.redirected || !r.ok) { window.location.href = base + "?event=" + encodeURIComponent(row.id); return null; }
        return r.text();
      })
      .then(function (html) {
        if (html === null || row.id !== selectedId) return;
        detail.innerHTML = html; // server-rendered and escaped by Jinja
        detail.classList.remove("loading");
        detail.dispatchEvent(new CustomEvent("hk:detail", { bubbles: true }));
      })
      .catch(function (err) { if (!err || err.name !== "AbortError") detail.classList.remove("loading"); });
  }

  function onKey(ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    var i = visible[active];
    var row = rows[i];
    var page = Math.max(1, Math.floor(tree.clientHeight / ROW) - 1);
    switch (ev.key) {
      case "ArrowDown": setActive(active + 1); break;
      case "ArrowUp": setActive(active - 1); break;
      case "Home": setActive(0); break;
      case "End": setActive(visible.length - 1); break;
      case "PageDown": setActive(active + page); break;
      case "PageUp": setActive(active - page); break;
      case "ArrowRight":
        if (row.kids && collapsed[i]) toggle(i, true);
        else if (row.kids) setActive(active + 1);
        break;
      case "ArrowLeft":
        if (row.kids && !collapsed[i]) toggle(i, false);
        else if (row.parent >= 0) setActive(position[row.parent]);
        break;
      case "Enter": case " ": select(i); break;
      default: return;
    }
    ev.preventDefault();
  }

  function onClick(ev) {
    var el = ev.target.closest(".row");
    if (!el) return;
    if (ev.target.closest("a") && (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0)) return;
    ev.preventDefault();
    var i = Number(el.dataset.i);
    tree.focus({ preventScroll: true });
    if (ev.target.closest(".tog")) { setActive(position[i]); toggle(i, !!collapsed[i]); return; }
    select(i);
  }

  function duration(ms) {
    if (ms === null || ms === undefined) return "";
    if (ms < 1) return ms.toFixed(2) + " ms";
    if (ms < 1000) return Math.round(ms) + " ms";
    var s = ms / 1000;
    if (s < 60) return s.toFixed(2) + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + "m " + String(Math.floor(s % 60)).padStart(2, "0") + "s";
    return Math.floor(m / 60) + "h " + String(m % 60).padStart(2, "0") + "m";
  }
})();
