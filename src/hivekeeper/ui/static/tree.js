// The session page's event tree and waterfall, virtualised: only the rows in view
// exist in the DOM, so a 10,000-event session scrolls like a 10-event one. The
// server-rendered rows stay when this script cannot run. Keyboard: the tree is one
// focus stop (aria-activedescendant); Up/Down move, Right opens or enters, Left
// closes or goes to the parent, Home/End, PageUp/PageDown, Enter/Space select.
// Long sessions: search inside the session, next/previous match and error, a type
// filter, collapse/expand all, and a waterfall that zooms (+ − 0, or "Zoom to event")
// and pans ([ ], or drag); the selected event and the zoom live in the URL.
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
  var byId = {};        // event id -> row index
  var typeFilter = "";
  var matches = [];     // row indices of the search's matches, in tree order
  var view = null;      // [from, to] ms offsets the waterfall shows; null: all of it
  var params = new URLSearchParams(window.location.search);

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
    rows.forEach(function (r) { byId[r.id] = r.i; });
    view = parseZoom(params.get("zoom"));
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
    tools();
    drawAxis();
  }

  function recompute() {
    visible = [];
    position = new Array(rows.length);
    var keep = typeFilter ? kept() : null;
    var hideBelow = -1;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      if (hideBelow >= 0 && row.depth > hideBelow) { position[i] = -1; continue; }
      if (keep && !keep[i]) { position[i] = -1; continue; }
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
    el.className = "row t-" + row.type + (row.err ? " err" : "") + (p === active ? " active" : "") +
      (matches.indexOf(row.i) >= 0 ? " match" : "");
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
      var from = view ? view[0] : 0;
      var width_ms = view ? view[1] - view[0] : span;
      var x0 = (row.start - from) / width_ms * 1000;
      var x1 = (row.start + (row.dur || 0) - from) / width_ms * 1000;
      if (x1 >= 0 && x0 <= 1000) {
        var left = Math.min(Math.max(x0, 0), 998);
        var right = Math.min(Math.max(x1, left + 2), 1000);
        rect.setAttribute("x", left.toFixed(2));
        rect.setAttribute("y", "1");
        rect.setAttribute("width", (right - left).toFixed(2));
        rect.setAttribute("height", "8");
        svg.appendChild(rect);
      }
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
    reveal(i);
    selectedId = row.id;
    setActive(position[i]);
    writeUrl();
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
      case "+": case "=": zoom(0.5); break;
      case "-": case "_": zoom(2); break;
      case "0": setView(null); break;
      case "[": pan(-0.25); break;
      case "]": pan(0.25); break;
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

  // --- long sessions: search, errors, types, collapse, zoom --------------------

  function kept() {
    // Rows of the chosen type, and their ancestors so the tree keeps its shape.
    var keep = {};
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].type !== typeFilter) continue;
      for (var j = i; j >= 0 && !keep[j]; j = rows[j].parent) keep[j] = true;
    }
    keep[0] = true;
    return keep;
  }

  function reveal(i) {
    // Open every collapsed ancestor, and drop a type filter that hides the row.
    var changed = false;
    for (var j = rows[i].parent; j >= 0; j = rows[j].parent) {
      if (collapsed[j]) { delete collapsed[j]; changed = true; }
    }
    if (changed) recompute();
    if (position[i] < 0 && typeFilter) {
      typeFilter = "";
      var choice = document.getElementById("type-filter");
      if (choice) choice.value = "";
      recompute();
    }
  }

  function step(list, forward) {
    // The next (or previous) row of `list`, in tree order, after the selected one.
    if (!list.length) return;
    var at = byId[selectedId] !== undefined ? byId[selectedId] : -1;
    var target = null;
    for (var n = 0; n < list.length; n++) {
      var k = forward ? list[n] : list[list.length - 1 - n];
      if (forward ? k > at : k < at) { target = k; break; }
    }
    if (target === null) target = forward ? list[0] : list[list.length - 1];
    select(target);
    if (list === matches) status((list.indexOf(target) + 1) + " of " + list.length);
  }

  function errors() {
    return rows.filter(function (r) { return r.err; }).map(function (r) { return r.i; });
  }

  function status(text) {
    var el = document.getElementById("search-status");
    if (el) el.textContent = text;
  }

  function search(text) {
    if (!text) { matches = []; status(""); render(); return; }
    fetch(base + "/search.json?q=" + encodeURIComponent(text),
          { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        if (data.q !== text) return;
        matches = data.ids.map(function (id) { return byId[id]; })
          .filter(function (i) { return i !== undefined; })
          .sort(function (a, b) { return a - b; });
        if (!matches.length) { status("no match"); render(); return; }
        select(matches[0]);
        status("1 of " + matches.length);
      })
      .catch(function () { status("search failed"); });
  }

  function setAll(closed) {
    collapsed = {};
    if (closed) rows.forEach(function (r) { if (r.kids && r.i !== 0) collapsed[r.i] = true; });
    recompute();
    var at = byId[selectedId];
    setActive(at !== undefined && position[at] >= 0 ? position[at] : 0);
  }

  function parseZoom(text) {
    var m = /^(-?[\d.]+)-(-?[\d.]+)$/.exec(text || "");
    if (!m) return null;
    var a = Number(m[1]), b = Number(m[2]);
    return isFinite(a) && isFinite(b) && b > a ? clampView([a, b]) : null;
  }

  function clampView(v) {
    var width = Math.max(Math.min(v[1] - v[0], span), span / 1e6, 0.001);
    var from = Math.min(Math.max(v[0], 0), Math.max(span - width, 0));
    if (width >= span) return null;
    return [from, from + width];
  }

  function setView(v) {
    view = v ? clampView(v) : null;
    drawAxis();
    render();
    writeUrl();
  }

  function zoom(factor, centre) {
    var v = view || [0, span];
    var width = (v[1] - v[0]) * factor;
    var mid = centre !== undefined ? centre : (v[0] + v[1]) / 2;
    setView([mid - width / 2, mid + width / 2]);
  }

  function pan(fraction) {
    if (!view) return;
    var shift = (view[1] - view[0]) * fraction;
    setView([view[0] + shift, view[1] + shift]);
  }

  function zoomToSelected() {
    var row = rows[byId[selectedId]];
    if (!row || row.start === null) return;
    var dur = Math.max(row.dur || 0, span / 1e5, 0.001);
    setView([row.start - dur * 0.05, row.start + dur * 1.05]);
  }

  function drawAxis() {
    var axis = document.querySelector(".trace-head .axis");
    if (!axis) return;
    var v = view || [0, span];
    var spans = axis.querySelectorAll("span");
    spans.forEach(function (el, n) {
      var t = v[0] + (v[1] - v[0]) * n / Math.max(spans.length - 1, 1);
      el.textContent = t ? duration(t) : "0";
    });
    axis.dataset.from = v[0];
    axis.dataset.to = v[1];
    axis.classList.toggle("zoomed", !!view);
  }

  function writeUrl() {
    var query = "?event=" + encodeURIComponent(selectedId);
    if (view) query += "&zoom=" + view[0].toFixed(3) + "-" + view[1].toFixed(3);
    history.replaceState(null, "", base + query);
  }

  function tools() {
    var bar = document.getElementById("session-tools");
    if (!bar) return;
    bar.hidden = false;
    var input = document.getElementById("session-search");
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { search(input.value.trim()); }, 250);
    });
    input.addEventListener("keydown", function (ev) {
      if (ev.key !== "Enter") return;
      ev.preventDefault();
      clearTimeout(timer);
      if (matches.length) step(matches, !ev.shiftKey); else search(input.value.trim());
    });
    on("match-next", function () { step(matches, true); });
    on("match-prev", function () { step(matches, false); });
    on("error-next", function () { step(errors(), true); });
    on("error-prev", function () { step(errors(), false); });
    on("collapse-all", function () { setAll(true); });
    on("expand-all", function () { setAll(false); });
    on("zoom-in", function () { zoom(0.5); });
    on("zoom-out", function () { zoom(2); });
    on("zoom-reset", function () { setView(null); });
    on("zoom-selected", zoomToSelected);
    document.getElementById("type-filter").addEventListener("change", function (ev) {
      typeFilter = ev.target.value;
      recompute();
      var at = byId[selectedId];
      setActive(at !== undefined && position[at] >= 0 ? position[at] : 0);
    });
    dragToPan();
  }

  function on(id, fn) {
    var el = document.getElementById(id);
    if (el) el.addEventListener("click", fn);
  }

  function dragToPan() {
    // Drag across the waterfall column (rows or axis) to move the zoomed window.
    var origin = null;
    document.querySelector(".trace").addEventListener("pointerdown", function (ev) {
      var cell = ev.target.closest(".wf-cell");
      if (!cell || !view || ev.button !== 0) return;
      origin = { x: ev.clientX, view: view.slice(), width: cell.clientWidth || 1 };
      ev.preventDefault();
    });
    window.addEventListener("pointermove", function (ev) {
      if (!origin) return;
      var shift = (origin.x - ev.clientX) / origin.width * (origin.view[1] - origin.view[0]);
      view = clampView([origin.view[0] + shift, origin.view[1] + shift]) || origin.view;
      drawAxis();
      schedule();
    });
    window.addEventListener("pointerup", function () {
      if (!origin) return;
      origin = null;
      writeUrl();
    });
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
