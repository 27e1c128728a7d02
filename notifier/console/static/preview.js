// Live preview of a template: posts the preview form to the console's JSON endpoint
// (the same preview service as the API) as you type, and shows the answer as text.
(function () {
  "use strict";
  var form = document.querySelector("form[data-live-preview]");
  if (!form) { return; }
  var status = document.getElementById("preview-status");
  var title = document.getElementById("preview-title");
  var content = document.getElementById("preview-content");
  var details = document.getElementById("preview-details");
  var timer = null;
  var sequence = 0;

  function show(body, ok) {
    if (ok) {
      status.textContent = "Version " + body.version + " (" + body.channel + ")";
      title.textContent = body.title;
      content.textContent = body.content;
      var parts = [];
      Object.keys(body.details || {}).forEach(function (name) {
        parts.push(name + ": " + body.details[name]);
      });
      details.textContent = parts.join(", ");
    } else {
      status.textContent = body.message || "The preview failed.";
      title.textContent = "";
      content.textContent = "";
      details.textContent = "";
    }
    form.setAttribute("data-preview-state", ok ? "ok" : "error");
  }

  function refresh() {
    var mine = ++sequence;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) {
        if (mine === sequence) { show(body, response.ok); }
      });
    }).catch(function () {
      if (mine === sequence) { show({ message: "The preview could not be fetched." }, false); }
    });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    refresh();
  });
  refresh();
}());
