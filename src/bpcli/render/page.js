(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("nojs");
  root.classList.add("js");
  var steps = JSON.parse(document.getElementById("steps-data").textContent);
  var last = steps.length - 1;
  var current = 0;
  var $ = function (id) { return document.getElementById(id); };
  function each(selector, fn) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), fn);
  }
  function fill(box, step) {
    box.textContent = "";
    step.lines.forEach(function (line) {
      var eq = document.createElement("span");
      eq.className = "eq";
      eq.textContent = line;
      box.appendChild(eq);
    });
    if (step.reason) {
      var reason = document.createElement("span");
      reason.className = "reason";
      reason.textContent = step.reason;
      box.appendChild(reason);
    }
  }
  // A graph wider than the window scrolls inside its figure (it is never shrunk below
  // page.py's MIN_ZOOM): the note under it says so, and each step scrolls its nodes into
  // view, so that what a step is about is never off to the side.
  var figure = document.querySelector("figure");
  function wide() {
    return figure !== null && figure.scrollWidth > figure.clientWidth + 1;
  }
  function note() { $("wide").hidden = !wide(); }
  function reveal() {
    if (!wide()) { return; }
    var frame = figure.getBoundingClientRect(), left = Infinity, right = -Infinity;
    each(".node.focus", function (el) {
      var r = el.getBoundingClientRect();
      left = Math.min(left, r.left);
      right = Math.max(right, r.right);
    });
    if (left === Infinity || (left >= frame.left && right <= frame.right)) { return; }
    var start = left - frame.left + figure.scrollLeft;  // centred, or from its left end
    var spare = figure.clientWidth - (right - left);
    figure.scrollLeft = Math.max(0, spare > 0 ? start - spare / 2 : start - 16);
  }
  window.addEventListener("resize", note);
  // The address names the step shown (`page.html#step-5`): a link or a reload opens it.
  function fromHash() {
    var match = /^#step-(\d+)$/.exec(location.hash);
    return match ? Number(match[1]) - 1 : null;
  }
  function show(i, keepHash) {
    current = Math.max(0, Math.min(last, i));
    if (!keepHash) {
      try {
        history.replaceState(null, "", "#step-" + (current + 1));
      } catch (e) {
        // a page without an address of its own (a notebook's srcdoc frame): it still steps
      }
    }
    var all = root.classList.contains("all");
    var upto = all ? last : current;
    var values = {}, grads = {}, sent = {};
    for (var s = 0; s <= upto; s++) {
      steps[s].values.forEach(function (n) { values[n] = true; });
      steps[s].grads.forEach(function (n) { grads[n] = true; });
      steps[s].contributions.forEach(function (e) { sent[e] = true; });
    }
    each("[data-value]", function (el) {
      el.classList.toggle("shown", !!values[el.getAttribute("data-value")]);
    });
    each("[data-grad]", function (el) {
      el.classList.toggle("shown", !!grads[el.getAttribute("data-grad")]);
    });
    each("[data-sent]", function (el) {
      el.classList.toggle("shown", !!sent[el.getAttribute("data-sent")]);
    });
    var step = steps[current];
    each(".node", function (el) {
      var id = Number(el.getAttribute("data-node"));
      el.classList.toggle("focus", !all && step.focus.indexOf(id) >= 0);
    });
    each(".edge", function (el) {
      el.classList.toggle("focus", !all && step.edges.indexOf(el.id) >= 0);
    });
    $("step-number").textContent = String(current + 1);
    $("phase").textContent = step.phase === "update" ? "update step" : step.phase + " pass";
    $("step-title").textContent = step.title;
    fill($("explanation"), step);
    $("first").disabled = $("back").disabled = all || current === 0;
    $("next").disabled = $("last").disabled = all || current === last;
    $("all").setAttribute("aria-pressed", all ? "true" : "false");
    $("all").textContent = all ? "Step through" : "Show all";
    note();
    if (!all) { reveal(); }
  }
  $("first").addEventListener("click", function () { show(0); });
  $("back").addEventListener("click", function () { show(current - 1); });
  $("next").addEventListener("click", function () { show(current + 1); });
  $("last").addEventListener("click", function () { show(last); });
  $("all").addEventListener("click", function () {
    root.classList.toggle("all");
    show(current, true);
  });
  window.addEventListener("hashchange", function () {
    var wanted = fromHash();
    if (wanted !== null) { show(wanted); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var keys = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: last };
    if (!(event.key in keys) || root.classList.contains("all")) { return; }
    event.preventDefault();
    show(keys[event.key]);
  });
  var opened = fromHash();
  show(opened === null ? 0 : opened, opened === null);
})();
