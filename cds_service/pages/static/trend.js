/* The lab-trend SMART app (cds_service/pages/trend.py): reads the patient's results and medications from the FHIR
 * server, in the browser, with the launch's token, and draws one SVG chart per analyte.
 *
 * EHR launch: the page was opened by the authorization server's redirect (?code=...&state=...; the server checked the
 * state); the code is exchanged for the token here (public client, PKCE verifier from the page). Standalone: an
 * open server, no token. Nothing read here is sent to this service; the code is removed from the address bar.
 * Points and markers carry data-testid (point-<analyte>-<n>, marker-<group>-<start|stop>-<n>) for the browser tests.
 */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var root = document.getElementById("trend-app");
  if (!root) { return; }
  var d = root.dataset;
  var statusEl = document.getElementById("trend-status");

  function say(text, state) {
    statusEl.textContent = text;
    statusEl.setAttribute("data-state", state || "loading");
    if (state === "error") { statusEl.setAttribute("role", "alert"); }
  }

  function el(name, attrs, text) {
    var node = document.createElement(name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function svg(name, attrs, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  // ------------------------------------------------------------------------------------------ reading

  function originOf(url) { return new URL(url).origin; }

  async function token() {
    if (d.mode !== "ehr") { return { access: null, patient: d.patient }; }
    var params = new URLSearchParams(window.location.search);
    var code = params.get("code");
    // The code is single-use and must not stay in the address bar or the history.
    window.history.replaceState(null, "", window.location.pathname);
    var body = new URLSearchParams({ grant_type: "authorization_code", code: code || "",
      redirect_uri: d.redirectUri, client_id: d.clientId, code_verifier: d.verifier });
    var resp = await fetch(d.tokenEndpoint, { method: "POST", body: body, credentials: "omit",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" } });
    if (!resp.ok) { throw new Error("The authorization server did not give a token (HTTP " + resp.status + ")."); }
    var tok = await resp.json();
    if (!tok.access_token) { throw new Error("The token response has no access_token."); }
    if (!tok.patient) { throw new Error("The launch gave no patient in context."); }
    return { access: tok.access_token, patient: String(tok.patient) };
  }

  async function getJson(url, access) {
    var headers = { "Accept": "application/fhir+json" };
    if (access) { headers.Authorization = "Bearer " + access; }
    var resp = await fetch(url, { headers: headers, credentials: "omit", redirect: "error" });
    if (resp.status === 401 || resp.status === 403) {
      throw new Error("The FHIR server refused the read (HTTP " + resp.status + "): " +
        (access ? "the token does not cover it." : "it needs authorization; launch the app from the EHR."));
    }
    if (!resp.ok) { throw new Error("The FHIR server answered HTTP " + resp.status + "."); }
    return resp.json();
  }

  // A search, following `next` links on the same server only, up to maxPages pages.
  async function search(path, access, maxPages) {
    var url = d.iss + "/" + path;
    var out = [];
    for (var page = 0; url && page < maxPages; page++) {
      var bundle = await getJson(url, access);
      (bundle.entry || []).forEach(function (e) { if (e && e.resource) { out.push(e.resource); } });
      var next = (bundle.link || []).filter(function (l) { return l.relation === "next"; })[0];
      url = next && next.url && originOf(next.url) === originOf(d.iss) ? next.url : null;
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------ interpreting

  function normUnit(unit) {  // terminology.units.normalize_unit
    var key = String(unit).trim().toLowerCase().replace(/\u00b5/g, "u").replace(/\u03bc/g, "u");
    key = key.replace(/[ \t_\[\]{}]/g, "");
    return key.replace(/mcg/g, "ug");
  }

  function toCanonical(analyte, value, unit) {
    var conv;
    if (unit === undefined || unit === null || String(unit).trim() === "") {
      if (!analyte.dimensionless) { return null; }
      conv = { factor: 1, offset: 0 };
    } else {
      conv = analyte.factors[normUnit(unit)];
    }
    if (!conv || typeof value !== "number" || !isFinite(value)) { return null; }
    return value * conv.factor + conv.offset;
  }

  function dayOf(text) { return text ? String(text).slice(0, 10) : null; }
  function time(day) { return Date.parse(day + "T00:00:00Z"); }

  function analyteFor(codeIndex, codeable) {
    var codings = (codeable && codeable.coding) || [];
    for (var i = 0; i < codings.length; i++) {
      var hit = codeIndex[(codings[i].system || "") + "|" + String(codings[i].code || "").trim()];
      if (hit) { return hit; }
    }
    return null;
  }

  function quantity(q, analyte) {
    if (!q) { return null; }
    return toCanonical(analyte, q.value, q.code || q.unit);
  }

  function labRange(obs, analyte, unit) {
    var rr = (obs.referenceRange || []).filter(function (r) {
      var codes = ((r.type && r.type.coding) || []).map(function (c) { return c.code; });
      return !r.type || codes.indexOf("normal") >= 0;
    })[0];
    if (!rr) { return null; }
    var lowUnit = rr.low && (rr.low.code || rr.low.unit) || unit;
    var highUnit = rr.high && (rr.high.code || rr.high.unit) || unit;
    var low = rr.low ? toCanonical(analyte, rr.low.value, lowUnit) : null;
    var high = rr.high ? toCanonical(analyte, rr.high.value, highUnit) : null;
    return low === null && high === null ? null : { low: low, high: high };
  }

  function points(observations, codes) {
    var codeIndex = {};
    codes.analytes.forEach(function (a) { a.codes.forEach(function (c) { codeIndex[c] = a; }); });
    var series = {};
    codes.analytes.forEach(function (a) { series[a.id] = { analyte: a, points: [], skipped: 0, range: null }; });
    observations.forEach(function (obs) {
      if (obs.resourceType !== "Observation" || obs.status === "entered-in-error" || obs.status === "cancelled") {
        return;
      }
      var day = dayOf(obs.effectiveDateTime || (obs.effectivePeriod && obs.effectivePeriod.start) || obs.issued);
      var reads = [];
      var analyte = analyteFor(codeIndex, obs.code);
      if (analyte && obs.valueQuantity) { reads.push([analyte, obs.valueQuantity, obs]); }
      (obs.component || []).forEach(function (comp) {  // e.g. an ABI panel with left and right components
        var a = analyteFor(codeIndex, comp.code);
        if (a && comp.valueQuantity) { reads.push([a, comp.valueQuantity, null]); }
      });
      if (analyte && !reads.length) { series[analyte.id].skipped++; }
      reads.forEach(function (r) {
        var s = series[r[0].id];
        var unit = r[1].code || r[1].unit;
        var value = quantity(r[1], r[0]);
        if (value === null || !day) { s.skipped++; return; }
        s.points.push({ day: day, value: value });
        if (r[2]) {
          var range = labRange(r[2], r[0], unit);
          if (range && (!s.range || day >= s.range.day)) { s.range = { day: day, low: range.low, high: range.high }; }
        }
      });
    });
    Object.keys(series).forEach(function (k) {
      series[k].points.sort(function (a, b) { return a.day < b.day ? -1 : a.day > b.day ? 1 : a.value - b.value; });
    });
    return series;
  }

  function medicationConcept(res, medications) {
    if (res.medicationCodeableConcept) { return res.medicationCodeableConcept; }
    var ref = res.medicationReference && res.medicationReference.reference;
    if (!ref) { return null; }
    if (ref.charAt(0) === "#") {
      var found = (res.contained || []).filter(function (c) { return "#" + c.id === ref; })[0];
      return found ? found.code : null;
    }
    var med = medications[ref.replace(/^.*\/(Medication\/[^/]+)$/, "$1")];
    return med ? med.code : null;
  }

  function groupOf(codes, concept) {
    if (!concept) { return null; }
    var codings = concept.coding || [];
    var words = " " + [concept.text].concat(codings.map(function (c) { return c.display; }))
      .filter(Boolean).join(" ").toLowerCase().replace(/[^a-z0-9]+/g, " ") + " ";
    for (var g = 0; g < codes.drugGroups.length; g++) {
      var group = codes.drugGroups[g];
      for (var i = 0; i < codings.length; i++) {
        if (group.codes.indexOf((codings[i].system || "") + "|" + codings[i].code) >= 0) { return group; }
      }
      for (var n = 0; n < group.names.length; n++) {
        var name = " " + group.names[n].replace(/[^a-z0-9]+/g, " ").trim() + " ";
        if (name.trim() && words.indexOf(name) >= 0) { return group; }
      }
    }
    return null;
  }

  function medicationEvents(resources, codes, medications) {
    var out = [];
    resources.forEach(function (res) {
      if (res.status === "entered-in-error") { return; }
      var concept = medicationConcept(res, medications);
      var group = groupOf(codes, concept);
      if (!group) { return; }
      var start = null, stop = null;
      if (res.resourceType === "MedicationStatement") {
        start = dayOf((res.effectivePeriod && res.effectivePeriod.start) || res.effectiveDateTime);
        stop = dayOf(res.effectivePeriod && res.effectivePeriod.end);
      } else if (res.resourceType === "MedicationRequest") {
        var validity = res.dispenseRequest && res.dispenseRequest.validityPeriod;
        start = dayOf(res.authoredOn || (validity && validity.start));
        stop = ["stopped", "completed"].indexOf(res.status) >= 0 ? dayOf(validity && validity.end) : null;
      } else {
        return;
      }
      var name = (concept && (concept.text || ((concept.coding || [])[0] || {}).display)) || "(unnamed)";
      out.push({ group: group, name: name, start: start, stop: stop, status: res.status || "",
        record: res.resourceType });
    });
    out.sort(function (a, b) { return String(a.start) < String(b.start) ? -1 : 1; });
    return out;
  }

  // ------------------------------------------------------------------------------------------ drawing

  var W = 720, H = 240, PAD = { left: 64, right: 16, top: 16, bottom: 36 };

  function fmt(v) { return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2); }

  function chart(s, events, span, index) {
    var a = s.analyte;
    var section = el("section", { "class": "trend-chart", "data-testid": "chart-" + a.id,
      "aria-labelledby": "chart-title-" + a.id, "data-points": String(s.points.length) });
    section.appendChild(el("h2", { id: "chart-title-" + a.id }, a.label + " (" + a.unit + ")"));
    var low = s.range ? s.range.low : a.low, high = s.range ? s.range.high : a.high;
    var rangeText = (low !== null ? fmt(low) : "–") + " to " + (high !== null ? fmt(high) : "–") + " " + a.unit +
      (s.range ? " (the lab's range on the latest result that has one)" : " (this service's default range)");
    section.appendChild(el("p", { "class": "trend-range", "data-testid": "range-" + a.id,
      "data-low": low === null ? "" : String(low), "data-high": high === null ? "" : String(high) },
      "Reference range: " + rangeText + "."));
    if (!s.points.length) {
      section.appendChild(el("p", { "class": "trend-empty" }, "No results in the record" +
        (s.skipped ? " that could be read (" + s.skipped + " left out: no value, date or known unit)." : ".")));
      return section;
    }
    var values = s.points.map(function (p) { return p.value; });
    [low, high].forEach(function (v) { if (v !== null) { values.push(v); } });
    var yMin = Math.min.apply(null, values), yMax = Math.max.apply(null, values);
    var pad = (yMax - yMin) * 0.1 || Math.abs(yMax) * 0.1 || 1;
    yMin -= pad; yMax += pad;
    var x = function (day) {
      return PAD.left + (span.max === span.min ? 0.5 : (time(day) - span.min) / (span.max - span.min)) *
        (W - PAD.left - PAD.right);
    };
    var y = function (v) { return PAD.top + (1 - (v - yMin) / (yMax - yMin)) * (H - PAD.top - PAD.bottom); };
    var titleId = "svg-title-" + a.id, descId = "svg-desc-" + a.id;
    var g = svg("svg", { viewBox: "0 0 " + W + " " + H, "class": "trend-svg", role: "img",
      "aria-labelledby": titleId + " " + descId, "data-testid": "svg-" + a.id });
    g.appendChild(svg("title", { id: titleId }, a.label + " over time"));
    g.appendChild(svg("desc", { id: descId }, s.points.length + " results from " + s.points[0].day + " to " +
      s.points[s.points.length - 1].day + "; reference range " + rangeText + "."));
    var top = low === null ? yMin : low, bottom = high === null ? yMax : high;
    g.appendChild(svg("rect", { "class": "trend-band", "data-testid": "band-" + a.id, x: PAD.left,
      width: W - PAD.left - PAD.right, y: y(bottom), height: Math.max(0, y(top) - y(bottom)) }));
    for (var t = 0; t <= 4; t++) {  // y axis: five ticks
      var v = yMin + (yMax - yMin) * t / 4;
      g.appendChild(svg("line", { "class": "trend-grid", x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }));
      g.appendChild(svg("text", { "class": "trend-tick", x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end" },
        fmt(v)));
    }
    var ticks = span.ticks;
    ticks.forEach(function (day, n) {  // the first and last labels end inside the plot, not past its edge
      var anchor = n === 0 ? "start" : n === ticks.length - 1 ? "end" : "middle";
      g.appendChild(svg("text", { "class": "trend-tick", x: x(day), y: H - 12, "text-anchor": anchor },
        day.slice(0, 7)));
    });
    events.forEach(function (ev, n) {
      [["start", ev.start], ["stop", ev.stop]].forEach(function (pair) {
        if (!pair[1]) { return; }
        var line = svg("line", { "class": "trend-marker trend-marker-" + ev.group.id + " trend-marker-" + pair[0],
          "data-testid": "marker-" + ev.group.id + "-" + pair[0] + "-" + n, "data-date": pair[1],
          x1: x(pair[1]), x2: x(pair[1]), y1: PAD.top, y2: H - PAD.bottom });
        line.appendChild(svg("title", {}, ev.name + " " + (pair[0] === "start" ? "started " : "stopped ") + pair[1]));
        g.appendChild(line);
      });
    });
    g.appendChild(svg("polyline", { "class": "trend-line", points: s.points.map(function (p) {
      return x(p.day) + "," + y(p.value); }).join(" ") }));
    s.points.forEach(function (p, n) {
      var outside = (low !== null && p.value < low) || (high !== null && p.value > high);
      var dot = svg("circle", { "class": "trend-point" + (outside ? " trend-point-outside" : ""), r: 5,
        cx: x(p.day), cy: y(p.value), "data-testid": "point-" + a.id + "-" + n, "data-date": p.day,
        "data-value": String(p.value), "data-unit": a.unit, "data-outside": String(outside) });
      dot.appendChild(svg("title", {}, p.day + ": " + fmt(p.value) + " " + a.unit + (outside ? " (outside range)" : "")));
      g.appendChild(dot);
    });
    section.appendChild(g);
    var details = el("details", { "class": "trend-values" });
    details.appendChild(el("summary", {}, "Values as a table"));
    var table = el("table", { "class": "trend-table" });
    var head = el("tr");
    head.appendChild(el("th", { scope: "col" }, "Date"));
    head.appendChild(el("th", { scope: "col" }, "Value (" + a.unit + ")"));
    table.appendChild(el("thead")).appendChild(head);
    var body = table.appendChild(el("tbody"));
    s.points.forEach(function (p) {
      var row = el("tr");
      row.appendChild(el("td", {}, p.day));
      row.appendChild(el("td", {}, fmt(p.value)));
      body.appendChild(row);
    });
    details.appendChild(table);
    section.appendChild(details);
    if (s.skipped) {
      section.appendChild(el("p", { "class": "trend-note" }, s.skipped + " result(s) left out: no value, date or " +
        "known unit."));
    }
    return section;
  }

  function timeSpan(series, events) {
    var days = [];
    Object.keys(series).forEach(function (k) { series[k].points.forEach(function (p) { days.push(p.day); }); });
    events.forEach(function (ev) { [ev.start, ev.stop].forEach(function (x) { if (x) { days.push(x); } }); });
    days.sort();
    if (!days.length) { return null; }
    var min = time(days[0]), max = time(days[days.length - 1]);
    var margin = Math.max((max - min) * 0.03, 86400000 * 3);
    min -= margin; max += margin;
    var ticks = [];
    for (var i = 0; i <= 4; i++) { ticks.push(new Date(min + (max - min) * i / 4).toISOString().slice(0, 10)); }
    return { min: min, max: max, ticks: ticks };
  }

  function medTable(events) {
    var body = document.querySelector("#trend-med-table tbody");
    if (!events.length) {
      var row = el("tr");
      row.appendChild(el("td", { colspan: "6" }, "No diuretic or statin in the record."));
      body.appendChild(row);
      return;
    }
    events.forEach(function (ev, n) {
      var tr = el("tr", { "data-testid": "med-" + n, "data-group": ev.group.id });
      [ev.group.label, ev.name, ev.start || "–", ev.stop || "–", ev.status, ev.record].forEach(function (v) {
        tr.appendChild(el("td", {}, v));
      });
      body.appendChild(tr);
    });
  }

  async function main() {
    var codes = await (await fetch(d.codesUrl, { credentials: "same-origin" })).json();
    var launch = await token();
    var patient = encodeURIComponent(launch.patient);
    var loinc = codes.analytes.map(function (a) { return a.codes.join(","); }).join(",");
    var paths = codes.searches.map(function (s) {
      return s.replace("{patient}", patient).replace("{codes}", encodeURIComponent(loinc));
    });
    var found = await Promise.all(paths.map(function (p) { return search(p, launch.access, codes.maxPages); }));
    var observations = found[0], meds = found[1].concat(found[2]);
    var medications = {};
    var refs = {};
    meds.forEach(function (m) {
      var ref = m.medicationReference && m.medicationReference.reference;
      if (ref && ref.charAt(0) !== "#") { refs[ref.replace(/^.*\/(Medication\/[^/]+)$/, "$1")] = true; }
    });
    await Promise.all(Object.keys(refs).map(async function (ref) {
      try { medications[ref] = await getJson(d.iss + "/" + ref, launch.access); } catch (e) { /* unnamed drug */ }
    }));
    var series = points(observations, codes);
    var events = medicationEvents(meds, codes, medications);
    medTable(events);
    var span = timeSpan(series, events);
    var charts = document.getElementById("trend-charts");
    var shown = 0;
    codes.analytes.forEach(function (a, i) {
      var s = series[a.id];
      if (!a.always && !s.points.length) { return; }
      charts.appendChild(chart(s, events, span || { min: 0, max: 0, ticks: [] }, i));
      shown += s.points.length;
    });
    root.setAttribute("data-loaded", "true");
    say(shown + " results and " + events.length + " diuretic or statin records.", "done");
  }

  main().catch(function (err) {
    root.setAttribute("data-loaded", "error");
    say(err && err.message ? err.message : "The lab trend could not be loaded.", "error");
  });
}());
