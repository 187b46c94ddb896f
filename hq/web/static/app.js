// CX Station HQ dashboard: sort and filter tables, refresh figures from /api/live.
// No framework, no inline script (the page's CSP forbids it).
"use strict";

function sortValue(cell) {
  const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent;
  const n = Number(raw);
  return raw !== "" && isFinite(n) ? n : String(raw).toLowerCase();
}

function makeSortable(table) {
  const heads = table.tHead.rows[0].cells;
  Array.from(heads).forEach(function (th, index) {
    th.tabIndex = 0;
    function sort() {
      const ascending = th.getAttribute("aria-sort") !== "ascending";
      Array.from(heads).forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const body = table.tBodies[0];
      const rows = Array.from(body.rows);
      rows.sort(function (a, b) {
        const x = sortValue(a.cells[index]), y = sortValue(b.cells[index]);
        const order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0)
          : (typeof x === "number" ? -1 : 1);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
  });
}

function applyFilter() {
  const text = document.getElementById("filter");
  const show = document.getElementById("show");
  const table = document.getElementById("stores");
  if (!text || !show || !table) { return; }
  const needle = text.value.trim().toLowerCase();
  const flag = show.value;
  Array.from(table.tBodies[0].rows).forEach(function (row) {
    const name = (row.dataset.store || "").toLowerCase();
    const flags = (row.dataset.flags || "").split(" ");
    const visible = (!needle || name.indexOf(needle) >= 0) && (!flag || flags.indexOf(flag) >= 0);
    row.classList.toggle("filtered", !visible);
  });
}

function refresh() {
  const body = document.body;
  const params = new URLSearchParams({page: body.dataset.live});
  if (body.dataset.store) { params.set("store", body.dataset.store); }
  const state = document.getElementById("livestate");
  fetch("/api/live?" + params.toString(), {credentials: "same-origin", cache: "no-store"})
    .then(function (response) {
      if (response.status === 401) { window.location.reload(); throw new Error("logged out"); }
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    })
    .then(function (payload) {
      Object.keys(payload.cells).forEach(function (key) {
        const [text, sort, cls, title] = payload.cells[key];
        document.querySelectorAll('[data-key="' + CSS.escape(key) + '"]').forEach(function (el) {
          el.textContent = text;
          el.dataset.sort = sort;
          el.className = el.className.split(" ").filter(function (c) {
            return c === "v" || c === "name";
          }).concat(cls ? cls.split(" ") : []).join(" ");
          if (title) { el.title = title; } else { el.removeAttribute("title"); }
        });
      });
      Object.keys(payload.rows || {}).forEach(function (store) {
        document.querySelectorAll("tr[data-store]").forEach(function (row) {
          if (row.dataset.store === store && row.dataset.flags !== undefined) {
            row.dataset.flags = payload.rows[store];
          }
        });
      });
      applyFilter();
      if (state) {
        state.classList.remove("stale");
        state.textContent = state.dataset.liveWord;
        state.dataset.updated = payload.updated;
        state.title = payload.updated;
      }
    })
    .catch(function () {
      if (state) {
        state.classList.add("stale");
        state.textContent = state.dataset.staleWord;
      }
    });
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("table.sortable").forEach(makeSortable);
  const text = document.getElementById("filter");
  const show = document.getElementById("show");
  if (text) { text.addEventListener("input", applyFilter); }
  if (show) { show.addEventListener("change", applyFilter); }
  const body = document.body;
  if (body.dataset.live) {
    const every = Math.max(2, parseInt(body.dataset.refresh, 10) || 15) * 1000;
    window.setInterval(refresh, every);
  }
});
