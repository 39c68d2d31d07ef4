/* demo.js: the "/" page (try the cards). What it does:
 *  1. The form (#demo-form) picks a sample patient (#sample) or a FHIR server (#fhir-server) and patient id
 *     (#patient-id), a service (#service; its option's data-hook says the hook) and, for order-select/order-sign,
 *     a drug (#drug, an RxNorm code).
 *  2. On submit (#run) it POSTs {service, sample | fhirServer+patientId, drug} to /pages/demo/request, which
 *     answers the CDS Hooks request; then it POSTs that request to the real /cds-services/{service}.
 *  3. It renders each card as an EHR would, into #cards: <article data-testid="card" data-indicator=...
 *     data-card-uuid=...> with the indicator badge, summary (.card-summary), detail (.card-detail: a safe subset
 *     of markdown built with DOM nodes and textContent only: raw HTML in a value stays text), source, links,
 *     suggestions (button[data-testid="accept-suggestion"] and the FHIR actions in pre[data-testid="action-json"])
 *     and a dismiss button (button[data-testid="dismiss"]) that offers the card's overrideReasons as radio buttons
 *     (confirm: button[data-testid="confirm-dismiss"]).
 *  4. Accept and dismiss POST CDS Hooks feedback to /cds-services/{service}/feedback; the card then shows
 *     p[data-testid="feedback-status"] ("Accepted: stored" / "Dismissed: stored").
 *  5. #toggle-exchange shows #exchange: the exact request (#request-json), response (#response-json) and last
 *     feedback (#feedback-json). Errors (an OperationOutcome, e.g. 412 for a refused FHIR server) go to #error.
 *  #status (role=status) says what happened: "N cards" when done; the form gets data-state="done" or "error".
 * No innerHTML anywhere: every text from the service is set with textContent. window.legPainDemo.markdown(text,
 * node) is the detail renderer, for tests.
 */
(function () {
  "use strict";

  var form = document.getElementById("demo-form");
  if (!form) { return; }
  var $ = function (id) { return document.getElementById(id); };
  var ORDER_HOOKS = ["order-select", "order-sign"];
  var current = { service: null };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) { return; }
      if (name === "text") { node.textContent = String(value); } else { node.setAttribute(name, String(value)); }
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function safeUrl(url) {
    if (typeof url !== "string") { return null; }
    var trimmed = url.trim();
    if (/^https?:\/\//i.test(trimmed)) { return trimmed; }
    if (/^\/(?!\/)/.test(trimmed)) { return trimmed; }  // this service's own paths
    return null;
  }

  /* ------------------------------------------------------------ markdown, a safe subset, DOM only */

  var INLINE = /(\\[\\`*_{}\[\]()#+\-.!|>])|(`+)([^`]|[^`][\s\S]*?[^`])\2(?!`)|\*\*([\s\S]+?)\*\*|__([\s\S]+?)__|\[([^\]]+)\]\(([^)\s]+)\)|\*([^*\s][^*]*?)\*|_([^_\s][^_]*?)_/;

  function inline(text, parent) {
    var rest = String(text);
    while (rest.length) {
      var m = INLINE.exec(rest);
      if (!m) { parent.appendChild(document.createTextNode(rest)); return; }
      var before = rest.slice(0, m.index);
      var after = rest.slice(m.index + m[0].length);
      // _emphasis_ only at word boundaries: snake_case_words stay as they are.
      if (m[9] !== undefined && ((before && /\w$/.test(before)) || /^\w/.test(after))) {
        parent.appendChild(document.createTextNode(before + "_"));
        rest = rest.slice(m.index + 1);
        continue;
      }
      if (before) { parent.appendChild(document.createTextNode(before)); }
      if (m[1] !== undefined) {
        parent.appendChild(document.createTextNode(m[1].slice(1)));
      } else if (m[3] !== undefined) {
        parent.appendChild(el("code", { text: m[3].trim() }));
      } else if (m[4] !== undefined || m[5] !== undefined) {
        inline(m[4] !== undefined ? m[4] : m[5], parent.appendChild(el("strong")));
      } else if (m[6] !== undefined) {
        var href = safeUrl(m[7]);
        if (href) {
          inline(m[6], parent.appendChild(el("a", { href: href, rel: "noopener noreferrer", target: "_blank" })));
        } else {
          inline(m[6], parent);
        }
      } else {
        inline(m[8] !== undefined ? m[8] : m[9], parent.appendChild(el("em")));
      }
      rest = after;
    }
  }

  var LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
  var TABLE_RULE = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;

  function cells(line) {
    var text = line.trim().replace(/^\|/, "").replace(/\|$/, "");
    var out = [], cell = "";
    for (var i = 0; i < text.length; i++) {
      if (text[i] === "\\" && text[i + 1] === "|") { cell += "|"; i++; continue; }
      if (text[i] === "|") { out.push(cell.trim()); cell = ""; continue; }
      cell += text[i];
    }
    out.push(cell.trim());
    return out;
  }

  function markdown(source, container) {
    var lines = String(source || "").replace(/\r\n?/g, "\n").split("\n");
    var i = 0;
    var stack = [];  // open lists: {indent, list, item}
    var para = null;
    function closeLists() { stack = []; }
    while (i < lines.length) {
      var line = lines[i];
      if (!line.trim()) { para = null; closeLists(); i++; continue; }
      var heading = /^(#{1,6})\s+(.*)$/.exec(line);
      if (heading) {
        para = null; closeLists();
        inline(heading[2], container.appendChild(el("h" + Math.min(6, heading[1].length + 3))));
        i++; continue;
      }
      if (line.trim().charAt(0) === "|" && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1])) {
        para = null; closeLists();
        var table = container.appendChild(el("table"));
        var headRow = table.appendChild(el("thead")).appendChild(el("tr"));
        cells(line).forEach(function (c) { inline(c, headRow.appendChild(el("th", { scope: "col" }))); });
        var body = table.appendChild(el("tbody"));
        i += 2;
        while (i < lines.length && lines[i].trim().charAt(0) === "|") {
          var row = body.appendChild(el("tr"));
          cells(lines[i]).forEach(function (c) { inline(c, row.appendChild(el("td"))); });
          i++;
        }
        continue;
      }
      var item = LIST_ITEM.exec(line);
      if (item) {
        para = null;
        var indent = item[1].replace(/\t/g, "    ").length;
        var kind = /\d/.test(item[2]) ? "ol" : "ul";
        while (stack.length && stack[stack.length - 1].indent > indent) { stack.pop(); }
        var top = stack.length ? stack[stack.length - 1] : null;
        if (top && top.indent === indent && top.list.tagName.toLowerCase() !== kind) { stack.pop(); top = stack.length ? stack[stack.length - 1] : null; }
        if (!top || top.indent < indent) {
          var list = el(kind);
          if (kind === "ol" && parseInt(item[2], 10) !== 1) { list.setAttribute("start", String(parseInt(item[2], 10))); }
          (top ? top.item : container).appendChild(list);
          top = { indent: indent, list: list, item: null };
          stack.push(top);
        }
        top.item = top.list.appendChild(el("li"));
        inline(item[3], top.item);
        i++; continue;
      }
      if (stack.length && /^\s+/.test(line)) {  // a list item's continuation line
        var last = stack[stack.length - 1].item;
        last.appendChild(document.createTextNode(" "));
        inline(line.trim(), last);
        i++; continue;
      }
      closeLists();
      if (para) {
        para.appendChild(document.createTextNode(" "));
      } else {
        para = container.appendChild(el("p"));
      }
      inline(line.trim(), para);
      i++;
    }
    return container;
  }

  /* ------------------------------------------------------------ calls */

  function show(id, value) { $(id).textContent = typeof value === "string" ? value : JSON.stringify(value, null, 2); }

  function status(text, state) {
    $("status").textContent = text;
    if (state) { form.setAttribute("data-state", state); }
  }

  function showError(text) {
    var box = $("error");
    box.textContent = text;
    box.hidden = !text;
  }

  function outcomeText(body, httpStatus) {
    var issue = body && Array.isArray(body.issue) && body.issue[0];
    var text = issue && (issue.diagnostics || (issue.details && issue.details.text));
    return "The service answered " + httpStatus + (text ? ": " + text : ".");
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST", headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body), credentials: "same-origin", cache: "no-store"
    }).then(function (response) {
      return response.text().then(function (text) {
        var parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = text; }
        return { ok: response.ok, status: response.status, body: parsed };
      });
    });
  }

  function selectedService() {
    var option = $("service").selectedOptions[0];
    return { id: option.value, hook: option.getAttribute("data-hook") };
  }

  function syncForm() {
    var fromSample = $("source-sample").checked;
    $("sample").disabled = !fromSample;
    $("fhir-server").disabled = fromSample;
    $("patient-id").disabled = fromSample;
    $("sample-field").hidden = !fromSample;
    $("fhir-fields").hidden = fromSample;
    var orders = ORDER_HOOKS.indexOf(selectedService().hook) >= 0;
    $("drug").disabled = !orders;
    $("drug-field").hidden = !orders;
  }

  function run(event) {
    event.preventDefault();
    var service = selectedService();
    var ask = { service: service.id };
    if ($("source-sample").checked) {
      ask.sample = $("sample").value;
    } else {
      ask.fhirServer = $("fhir-server").value.trim();
      ask.patientId = $("patient-id").value.trim();
      if (!ask.fhirServer || !ask.patientId) {
        showError("Give the FHIR server base URL and the patient id.");
        status("Not sent.", "error");
        return;
      }
    }
    if (ORDER_HOOKS.indexOf(service.hook) >= 0) { ask.drug = $("drug").value; }
    showError("");
    $("cards").textContent = "";
    show("request-json", ""); show("response-json", ""); $("response-status").textContent = "";
    status("Sending…", "busy");
    $("run").disabled = true;
    postJson(form.getAttribute("data-request-url"), ask).then(function (built) {
      if (!built.ok) { throw new Error(outcomeText(built.body, built.status)); }
      var url = "/cds-services/" + encodeURIComponent(service.id);
      $("request-target").textContent = "POST " + url;
      show("request-json", built.body);
      current.service = service.id;
      return postJson(url, built.body);
    }).then(function (answer) {
      $("response-status").textContent = "HTTP " + answer.status;
      show("response-json", answer.body === null ? "" : answer.body);
      if (!answer.ok) { throw new Error(outcomeText(answer.body, answer.status)); }
      var cards = (answer.body && answer.body.cards) || [];
      cards.forEach(function (card) { $("cards").appendChild(renderCard(card)); });
      status(cards.length === 1 ? "1 card" : cards.length + " cards" + (cards.length ? "" : ": no advice for this patient"), "done");
    }).catch(function (err) {
      showError(err.message || String(err));
      status("No cards: the call failed.", "error");
    }).then(function () { $("run").disabled = false; });
  }

  /* ------------------------------------------------------------ cards */

  var INDICATORS = ["info", "warning", "critical"];
  var cardCount = 0;

  function renderCard(card) {
    var n = ++cardCount;
    var indicator = INDICATORS.indexOf(card.indicator) >= 0 ? card.indicator : "info";
    var titleId = "card-" + n + "-summary";
    var article = el("article", { "class": "card card-" + indicator, "data-testid": "card",
                                  "data-indicator": indicator, "data-card-uuid": card.uuid || "",
                                  "aria-labelledby": titleId });
    var header = article.appendChild(el("div", { "class": "card-header" }));
    header.appendChild(el("span", { "class": "badge badge-" + indicator, "data-testid": "card-indicator", text: indicator }));
    header.appendChild(el("h3", { "class": "card-summary", id: titleId, "data-testid": "card-summary", text: card.summary || "" }));
    if (card.detail) {
      markdown(card.detail, article.appendChild(el("div", { "class": "card-detail", "data-testid": "card-detail" })));
    }
    if (card.source) {
      var source = article.appendChild(el("p", { "class": "card-source", "data-testid": "card-source" }, ["Source: "]));
      var href = safeUrl(card.source.url);
      source.appendChild(href ? el("a", { href: href, rel: "noopener noreferrer", target: "_blank", text: card.source.label || href })
                              : document.createTextNode(card.source.label || ""));
      if (card.source.topic && card.source.topic.display) {
        source.appendChild(document.createTextNode(" · topic: " + card.source.topic.display));
      }
    }
    if (Array.isArray(card.links) && card.links.length) {
      var links = article.appendChild(el("ul", { "class": "card-links", "data-testid": "card-links", "aria-label": "Links" }));
      card.links.forEach(function (link) {
        var url = safeUrl(link.url);
        var item = links.appendChild(el("li"));
        var label = link.label || link.url || "";
        if (link.type === "smart" && label.indexOf("SMART") < 0) {
          label += " (SMART app)";
        }
        item.appendChild(url ? el("a", { href: url, rel: "noopener noreferrer", target: "_blank",
                                         "data-link-type": link.type || "absolute", text: label })
                             : document.createTextNode(label));
      });
    }
    var feedback = el("p", { "class": "feedback-status", "data-testid": "feedback-status", role: "status", hidden: "hidden" });
    var buttons = [];
    (card.suggestions || []).forEach(function (suggestion, k) {
      var box = article.appendChild(el("div", { "class": "suggestion", "data-testid": "suggestion",
                                                "data-suggestion-uuid": suggestion.uuid || "" }));
      var accept = box.appendChild(el("button", { type: "button", "data-testid": "accept-suggestion",
                                                  id: "card-" + n + "-accept-" + k,
                                                  text: "Accept: " + (suggestion.label || "suggestion") }));
      buttons.push(accept);
      var actions = (suggestion.actions || []).map(function (a) {
        return a.description ? a.type + ": " + a.description : a.type;
      });
      if (actions.length) { box.appendChild(el("p", { "class": "help", text: "FHIR action: " + actions.join("; ") })); }
      box.appendChild(el("pre", { "data-testid": "action-json", tabindex: "0", "aria-label": "FHIR actions of this suggestion",
                                  text: JSON.stringify(suggestion.actions || [], null, 2) }));
      accept.addEventListener("click", function () {
        var item = { card: card.uuid, outcome: "accepted", outcomeTimestamp: new Date().toISOString() };
        if (suggestion.uuid) { item.acceptedSuggestions = [{ id: suggestion.uuid }]; }
        sendFeedback(item, feedback, buttons, "Accepted: " + (suggestion.label || "suggestion"));
      });
    });
    var actionsRow = article.appendChild(el("div", { "class": "card-actions" }));
    var dismiss = actionsRow.appendChild(el("button", { type: "button", "data-testid": "dismiss", id: "card-" + n + "-dismiss",
                                                        "aria-expanded": "false", "aria-controls": "card-" + n + "-dismiss-form",
                                                        text: "Dismiss" }));
    buttons.push(dismiss);
    var dismissForm = article.appendChild(renderDismissForm(card, n, feedback, buttons));
    dismiss.addEventListener("click", function () {
      dismissForm.hidden = !dismissForm.hidden;
      dismiss.setAttribute("aria-expanded", String(!dismissForm.hidden));
      if (!dismissForm.hidden) { var first = dismissForm.querySelector("input, textarea"); if (first) { first.focus(); } }
    });
    article.appendChild(feedback);
    return article;
  }

  function renderDismissForm(card, n, feedback, buttons) {
    var formId = "card-" + n + "-dismiss-form";
    var box = el("form", { "class": "dismiss-form", id: formId, "data-testid": "dismiss-form", hidden: "hidden" });
    var fieldset = box.appendChild(el("fieldset"));
    fieldset.appendChild(el("legend", { text: "Why dismiss this card?" }));
    var reasons = Array.isArray(card.overrideReasons) ? card.overrideReasons : [];
    reasons.forEach(function (reason, k) {
      var id = "card-" + n + "-reason-" + k;
      var row = fieldset.appendChild(el("div", { "class": "choice" }));
      row.appendChild(el("input", { type: "radio", name: "card-" + n + "-reason", id: id, value: String(k),
                                    "data-testid": "override-reason", "data-code": reason.code || "" }));
      row.appendChild(el("label", { "for": id, text: reason.display || reason.code || "reason" }));
    });
    var commentId = "card-" + n + "-comment";
    fieldset.appendChild(el("label", { "for": commentId, text: "Comment (optional)" }));
    fieldset.appendChild(el("textarea", { id: commentId, rows: "2", "data-testid": "override-comment" }));
    var confirm = box.appendChild(el("button", { type: "submit", "data-testid": "confirm-dismiss", text: "Dismiss card" }));
    buttons.push(confirm);
    box.addEventListener("submit", function (event) {
      event.preventDefault();
      var item = { card: card.uuid, outcome: "overridden", outcomeTimestamp: new Date().toISOString() };
      var chosen = box.querySelector("input[type=radio]:checked");
      var comment = box.querySelector("textarea").value.trim();
      var overrideReason = {};
      if (chosen) {
        var reason = reasons[parseInt(chosen.value, 10)];
        overrideReason.reason = { system: reason.system, code: reason.code };
        if (reason.display) { overrideReason.reason.display = reason.display; }
      }
      if (comment) { overrideReason.userComment = comment; }
      if (Object.keys(overrideReason).length) { item.overrideReason = overrideReason; }
      sendFeedback(item, feedback, buttons, "Dismissed" + (chosen ? " (" + (reasons[parseInt(chosen.value, 10)].display || "") + ")" : ""));
    });
    return box;
  }

  function sendFeedback(item, statusNode, buttons, what) {
    var body = { feedback: [item] };
    show("feedback-json", body);
    buttons.forEach(function (b) { b.disabled = true; });
    statusNode.hidden = false;
    statusNode.textContent = what + ": sending…";
    postJson("/cds-services/" + encodeURIComponent(current.service) + "/feedback", body).then(function (answer) {
      if (!answer.ok) { throw new Error(outcomeText(answer.body, answer.status)); }
      statusNode.textContent = what + ": stored.";
      statusNode.setAttribute("data-state", "stored");
    }).catch(function (err) {
      statusNode.textContent = what + ": not stored. " + (err.message || String(err));
      statusNode.setAttribute("data-state", "error");
      buttons.forEach(function (b) { b.disabled = false; });
    });
  }

  /* ------------------------------------------------------------ wiring */

  window.legPainDemo = { markdown: markdown };  // for tests: legPainDemo.markdown(text, node) renders into node

  $("toggle-exchange").addEventListener("click", function () {
    var panel = $("exchange");
    panel.hidden = !panel.hidden;
    this.setAttribute("aria-expanded", String(!panel.hidden));
    this.textContent = panel.hidden ? "Show request/response" : "Hide request/response";
  });
  Array.prototype.forEach.call(document.querySelectorAll("input[name=source]"), function (radio) {
    radio.addEventListener("change", syncForm);
  });
  $("service").addEventListener("change", syncForm);
  form.addEventListener("submit", run);
  syncForm();
})();
