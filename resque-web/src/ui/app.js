// resque web: live refresh of [data-live] parts, a page Redis could not
// fill shown again once Redis answers, confirmations for destructive actions. No framework; loaded with `defer`.
"use strict";

(function () {
  var POLL_MS = 2000;
  var KEY = "resque-live";

  function refresh() {
    var toggle = document.getElementById("live-toggle");
    if (!toggle || !toggle.checked || document.hidden) return;
    fetch(window.location.href, { headers: { "X-Resque-Live": "1" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        var fresh = doc.querySelectorAll("[data-live]");
        var current = document.querySelectorAll("[data-live]");
        if (fresh.length !== current.length) return;
        current.forEach(function (node, i) { node.replaceWith(document.adoptNode(fresh[i])); });
        document.body.classList.remove("stale");
      })
      .catch(function () { document.body.classList.add("stale"); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.getElementById("live-toggle");
    if (toggle) {
      toggle.checked = window.localStorage.getItem(KEY) !== "off";
      toggle.addEventListener("change", function () {
        window.localStorage.setItem(KEY, toggle.checked ? "on" : "off");
        if (toggle.checked) refresh();
      });
      window.setInterval(refresh, POLL_MS);
    }
    // Redis was not answering when the page was made: show the page again
    // once it does.
    if (document.querySelector("[data-redis-down]")) {
      window.setInterval(function () {
        fetch(window.location.href, { credentials: "same-origin" })
          .then(function (r) { if (r.ok) window.location.reload(); })
          .catch(function () {});
      }, POLL_MS);
    }
    document.addEventListener("submit", function (event) {
      var question = event.target.getAttribute("data-confirm");
      if (question && !window.confirm(question)) event.preventDefault();
    });
  });
})();
