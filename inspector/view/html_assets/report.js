// The sse-inspector HTML report's behaviour: expand and filter events, link findings and the timeline to their
// events, sort and filter the index. Plain DOM, no library, no network.
"use strict";
(function () {
  function eventRow(index) { return document.getElementById("event-" + index); }

  function toggle(row, open) {
    var detail = row.nextElementSibling;
    if (!detail || !detail.classList.contains("detail")) return;
    detail.hidden = open === undefined ? !detail.hidden : !open;
    row.setAttribute("aria-expanded", String(!detail.hidden));
  }

  // Show event `index`: make sure no filter hides it, open it, mark it, and bring it into view.
  function reveal(index) {
    var row = eventRow(index);
    if (!row) return;
    if (row.hidden) { resetEventFilters(); }
    document.querySelectorAll("tr.event.highlight").forEach(function (other) { other.classList.remove("highlight"); });
    row.classList.add("highlight");
    toggle(row, true);
    row.scrollIntoView({ block: "center" });
    history.replaceState(null, "", "#event-" + index);
  }

  // -- the events table ----------------------------------------------------------------------------------------
  var typeFilter = document.getElementById("event-type");
  var textFilter = document.getElementById("event-text");

  function filterEvents() {
    var type = typeFilter ? typeFilter.value : "";
    var text = textFilter ? textFilter.value.toLowerCase() : "";
    var shown = 0;
    document.querySelectorAll("tr.event").forEach(function (row) {
      var visible = (!type || row.dataset.type === type) && (!text || row.textContent.toLowerCase().indexOf(text) >= 0);
      row.hidden = !visible;
      if (!visible) toggle(row, false);
      shown += visible ? 1 : 0;
    });
    var count = document.getElementById("event-count");
    if (count) count.textContent = String(shown);
  }

  function resetEventFilters() {
    if (typeFilter) typeFilter.value = "";
    if (textFilter) textFilter.value = "";
    filterEvents();
  }

  if (typeFilter) typeFilter.addEventListener("change", filterEvents);
  if (textFilter) textFilter.addEventListener("input", filterEvents);
  document.querySelectorAll("tr.event").forEach(function (row) {
    row.addEventListener("click", function () { toggle(row); });
  });

  // -- findings and timeline ticks lead to their event ---------------------------------------------------------
  document.querySelectorAll("[data-event]").forEach(function (link) {
    if (link.tagName === "TR") return;
    link.addEventListener("click", function (click) {
      click.preventDefault();
      reveal(link.getAttribute("data-event"));
    });
  });

  var tip = document.querySelector("#timeline .tip");
  document.querySelectorAll("#timeline .tick").forEach(function (tick) {
    tick.addEventListener("mousemove", function (move) {
      if (!tip) return;
      tip.textContent = tick.getAttribute("data-tip");
      tip.style.display = "block";
      var left = move.clientX + 12;
      if (left + tip.offsetWidth > window.innerWidth - 4) left = move.clientX - tip.offsetWidth - 12;  // near the edge
      tip.style.left = Math.max(0, left) + "px";
      tip.style.top = (move.clientY + 12) + "px";
    });
    tick.addEventListener("mouseleave", function () { if (tip) tip.style.display = "none"; });
  });

  // -- the answer replayed at the pace it streamed (at most REPLAY_SECONDS long) --------------------------------
  var REPLAY_SECONDS = 15;
  var replay = document.getElementById("replay");
  if (replay) {
    var timers = [];
    replay.addEventListener("click", function () {
      timers.forEach(clearTimeout);
      var pieces = Array.prototype.slice.call(document.querySelectorAll("#answer .piece"));
      var times = pieces.map(function (piece) { return parseFloat(piece.dataset.t); });
      var known = times.filter(function (t) { return !isNaN(t); });
      var start = known.length ? Math.min.apply(null, known) : 0;
      var span = known.length ? Math.max.apply(null, known) - start : 0;
      var scale = span > REPLAY_SECONDS ? REPLAY_SECONDS / span : 1;
      pieces.forEach(function (piece, number) {
        piece.classList.add("pending");
        var t = isNaN(times[number]) ? number * 0.02 : (times[number] - start) * scale;  // no times: 20 ms apart
        timers.push(setTimeout(function () { piece.classList.remove("pending"); }, t * 1000));
      });
    });
  }

  // -- the index: sort by a column, filter by verdict, protocol and text ---------------------------------------
  var index = document.getElementById("recordings");
  if (index) {
    var body = index.tBodies[0];
    index.querySelectorAll("th.sortable").forEach(function (head, column) {
      head.addEventListener("click", function () {
        var ascending = !head.classList.contains("sorted-asc");
        index.querySelectorAll("th.sortable").forEach(function (other) {
          other.classList.remove("sorted-asc", "sorted-desc");
        });
        head.classList.add(ascending ? "sorted-asc" : "sorted-desc");
        var numeric = head.classList.contains("num");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[column].dataset.sort, y = b.cells[column].dataset.sort;
          var order;
          if (numeric) {
            // rows without a value sort last either way
            if (x === "" || y === "") return (x === "") - (y === "");
            order = parseFloat(x) - parseFloat(y);
          } else {
            order = x < y ? -1 : x > y ? 1 : 0;
          }
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
    var verdict = document.getElementById("filter-verdict");
    var protocol = document.getElementById("filter-protocol");
    var search = document.getElementById("filter-text");
    var filterIndex = function () {
      var shown = 0;
      Array.prototype.forEach.call(body.rows, function (row) {
        var visible = (!verdict.value || row.dataset.verdict === verdict.value)
          && (!protocol.value || row.dataset.protocol === protocol.value)
          && (!search.value || row.textContent.toLowerCase().indexOf(search.value.toLowerCase()) >= 0);
        row.hidden = !visible;
        shown += visible ? 1 : 0;
      });
      document.getElementById("recording-count").textContent = String(shown);
    };
    [verdict, protocol].forEach(function (select) { select.addEventListener("change", filterIndex); });
    search.addEventListener("input", filterIndex);
  }

  // a link to #event-N (from another page, or reloaded) opens that event
  var target = /^#event-(\d+)$/.exec(location.hash);
  if (target) reveal(target[1]);
})();
