// /analytics with CDS_ANALYTICS_TOKEN (pages/analytics.py): ask for the token, keep it in sessionStorage (this tab
// only), and fetch the plots and the CSVs with an Authorization header. The token never goes into a URL.
(function () {
  "use strict";
  var KEY = "leg-pain-cds.analytics-token";
  var root = document.getElementById("analytics");
  if (!root || root.getAttribute("data-token-required") !== "true") { return; }
  var form = document.getElementById("analytics-token-form");
  var input = document.getElementById("analytics-token");
  var forget = document.getElementById("analytics-forget");
  var status = document.getElementById("analytics-status");
  var plots = document.getElementById("analytics-plots");

  function token() { return window.sessionStorage.getItem(KEY); }

  function authorized(url) {
    return window.fetch(url, {headers: {"Authorization": "Bearer " + token()}, credentials: "same-origin",
                              cache: "no-store", redirect: "error"}).then(function (response) {
      if (response.status === 401) {
        window.sessionStorage.removeItem(KEY);
        throw new Error("The token was refused. Enter the analytics token again.");
      }
      if (!response.ok) { throw new Error("The analytics could not be loaded (HTTP " + response.status + ")."); }
      return response;
    });
  }

  function showForm(message) {
    form.hidden = false;
    forget.hidden = true;
    plots.replaceChildren();
    status.textContent = message;
  }

  function load() {
    if (!token()) { showForm("Enter the analytics token to see the plots."); return; }
    status.textContent = "Loading the plots…";
    authorized(root.getAttribute("data-plots-url")).then(function (response) {
      return response.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");  // our own markup: no script in it runs
      plots.replaceChildren.apply(plots, Array.prototype.slice.call(doc.body.childNodes));
      form.hidden = true;
      forget.hidden = false;
      status.textContent = "";
    }).catch(function (err) { showForm(err.message); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.sessionStorage.setItem(KEY, input.value.trim());
    input.value = "";
    load();
  });
  forget.addEventListener("click", function () {
    window.sessionStorage.removeItem(KEY);
    showForm("The token was forgotten.");
    input.focus();
  });
  plots.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-csv]") : null;
    if (!link) { return; }
    event.preventDefault();  // a plain link cannot carry the Authorization header
    authorized(link.href).then(function (response) { return response.blob(); }).then(function (blob) {
      var url = URL.createObjectURL(blob);
      var a = document.createElement("a");
      a.href = url;
      a.download = link.getAttribute("download") || "analytics.csv";
      document.body.appendChild(a);
      a.click();
      a.remove();
      window.setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    }).catch(function (err) { status.textContent = err.message; });
  });
  load();
}());
