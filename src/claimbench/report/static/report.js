// The HTML report's script (claimbench.report.html_page embeds it after the page, with the itables bundle).
// 1. A table frame whose table is wider than it scrolls sideways: marked "scrolls" (report.css shows a note and a
//    shadow at the right edge), again whenever the window changes size.
// 2. Tables under a Div of class "interactive" (show_table(..., interactive=True)) become sortable and filterable
//    with DataTables, loaded from the itables bundle that is embedded in this page (no network). The first load
//    keeps the report's row order; clicking a header sorts by it. The PDF keeps the static tables.
(function () {
  function markScrollable() {
    document.querySelectorAll(".table-frame").forEach(function (frame) {
      frame.classList.toggle("scrolls", frame.scrollWidth > frame.clientWidth + 1);
    });
  }
  window.addEventListener("load", markScrollable);
  window.addEventListener("resize", markScrollable);

  var bundle = window["__ITABLES_GLOBAL__"];
  var tables = document.querySelectorAll(".interactive table");
  if (!bundle || tables.length === 0) {
    markScrollable();
    return;
  }
  // A right-aligned column holds numbers (show_table), printed as "0.42 [0.38, 0.45]", "1,234" or "12.5%": each cell
  // sorts by its leading number (data-order, read by DataTables); a cell without one ("—", "not run") sorts first.
  var LEADING_NUMBER = /^[-+\u2212]?(\d[\d,]*)?\.?\d+/;
  function orderByNumbers(table) {
    table.querySelectorAll("tbody td").forEach(function (cell) {
      if (cell.style.textAlign !== "right") return;
      var match = cell.textContent.trim().match(LEADING_NUMBER);
      cell.setAttribute("data-order", match ? match[0].replace(/,/g, "").replace("\u2212", "-") : "");
    });
  }
  bundle.then(function (dt) {
    tables.forEach(function (table) {
      orderByNumbers(table);
      var rows = table.tBodies.length ? table.tBodies[0].rows.length : 0;
      new dt.ITable(table, {
        order: [],
        paging: rows > 25,
        pageLength: 25,
        lengthMenu: [25, 50, 100, -1],
        autoWidth: false,
        layout: { topStart: "search", topEnd: null, bottomStart: rows > 25 ? "info" : null,
                  bottomEnd: rows > 25 ? "paging" : null },
      });
    });
    document.body.classList.add("tables-ready");
    markScrollable();
  });
})();
