// A batch's progress in place: polls the console's JSON endpoint (the same body as
// GET /batches/<id>) every two seconds and updates the counts, until it is finished.
(function () {
  "use strict";
  var box = document.getElementById("batch-progress");
  if (!box || box.hasAttribute("data-finished")) { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = document.getElementById("batch-bar");
  var live = document.getElementById("batch-live");
  // The statuses still to be sent, named by the page (the server's state machine owns them).
  var unfinished = (box.getAttribute("data-unfinished") || "").split(" ");

  function set(selector, text) {
    var node = box.querySelector(selector);
    if (node) { node.textContent = text; }
  }

  function show(body) {
    set('[data-field="status"]', body.status);
    set('[data-field="total"]', String(body.total));
    set('[data-field="finished_at"]', body.finished_at ? body.finished_at.slice(0, 19).replace("T", " ") : "—");
    Object.keys(body.counts).forEach(function (name) {
      set('[data-count="' + name + '"]', String(body.counts[name]));
    });
    var open = unfinished.reduce(function (sum, name) { return sum + (body.counts[name] || 0); }, 0);
    bar.max = body.total;
    bar.value = body.total - open;
    bar.textContent = (body.total - open) + " of " + body.total;
    if (body.finished_at) {
      live.textContent = "Finished: " + body.status + ".";
      box.setAttribute("data-finished", "");
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (body) {
        show(body);
        if (!body.finished_at) { window.setTimeout(poll, 2000); }
      })
      .catch(function () {
        live.textContent = "The progress could not be read; reload the page to try again.";
      });
  }

  window.setTimeout(poll, 2000);
}());
