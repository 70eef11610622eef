// The player of scalargrad's live page (live_page.py says what it shows and its contract).
// scalargradLive(root, wholePage): root holds the picture, the table and the data; with
// wholePage, the keys work anywhere on the page and the step is kept in the URL fragment.
function scalargradLive(root, wholePage) {
  "use strict";
  var data = JSON.parse(root.querySelector("script.sg-data").textContent);
  var svgNS = "http://www.w3.org/2000/svg";
  var nodes = data.nodes, count = nodes.length, total = 2 * count;
  var boxes = [], edges = {}, ops = {};
  root.querySelectorAll("g.node").forEach(function (g) {
    boxes[+g.getAttribute("data-node").slice(1)] = g;
  });
  root.querySelectorAll("g.operation").forEach(function (g) {
    ops[+g.getAttribute("data-op").slice(1)] = g;
  });
  root.querySelectorAll("path[data-to]").forEach(function (p) {
    var key = (p.getAttribute("data-from") || "op") + ">" + p.getAttribute("data-to");
    (edges[key] = edges[key] || []).push(p);
  });
  if (data.tangents) {  // each box has room for a tangent row, under its grad
    boxes.forEach(function (g) {
      var grad = g.querySelector("text.grad"), row = grad.cloneNode(false);
      row.setAttribute("class", "tangent");
      row.setAttribute("y", +grad.getAttribute("y") + 18);
      row.removeAttribute("fill");
      g.appendChild(row);
    });
  }
  var labels = root.querySelector("svg").appendChild(document.createElementNS(svgNS, "g"));
  labels.setAttribute("class", "sg-edge-labels");
  var out = nodes[data.output].label;

  function said(n) {  // "%4 = mul x %3"
    var node = nodes[n];
    if (!node.op) return node.label + " (input)";
    return node.label + " = " + node.op + " " + node.args.map(function (a) {
      return a[0] !== null ? nodes[a[0]].label : a[1];
    }).join(" ");
  }

  // The steps as a table, one row each, as `scalargrad explain` prints them.
  function happens(k) {
    if (k <= count) {
      var n = k - 1, what = "value " + nodes[n].v;
      if (data.tangents) {
        var t = data.tangents[n];
        what += "; tangent " + t.ts + (n === data.seed ? " (the seed)" : "") +
          (t.terms.length ? " = " + t.terms.map(function (k) {  // partial × tangent
            var a = nodes[n].args[k];
            return a[2] + " × " + data.tangents[a[0]].ts;
          }).join(" + ") : "");
      }
      return what;
    }
    var step = data.reverse[k - count - 1], node = nodes[step.n];
    if (!node.op) return "done: d" + out + "/d" + node.label + " = " + step.as;
    if (step.skip) return "adjoint " + step.as + ": passes nothing on";
    return "adjoint " + step.as + "; " + step.c.map(function (c) {
      var argument = nodes[c[0]].label;
      return "d" + node.label + "/d" + argument + " = " + c[1] + ", adds " + c[1] + " × " +
        step.as + " = " + c[2] + ": " + argument + " " + c[3] + " → " + c[4];
    }).join("; ");
  }
  var body = root.querySelector(".sg-steps tbody");
  for (var k = 1; k <= total; k++) {
    var row = body.insertRow(), n = k <= count ? k - 1 : data.reverse[k - count - 1].n;
    row.setAttribute("data-step", k);
    [String(k), k <= count ? "forward" : "reverse", said(n), happens(k)].forEach(
      function (cell) { row.insertCell().textContent = cell; });
  }
  var rows = root.querySelectorAll("tr[data-step]");
  var status = root.querySelector(".sg-status");
  var playButton = root.querySelector('[data-action="play"]');
  var speed = root.querySelector('[data-action="speed"]');
  var rulePanel = root.querySelector(".sg-rule");
  var picture = root.querySelector(".sg-picture");
  var shown = 0, timer = null;

  function text(g, role, content, dim) {
    var t = g.querySelector("text." + role);
    if (t) {
      t.textContent = content;
      t.classList.toggle("sg-unknown", !!dim);
    }
  }

  function blank() {
    boxes.forEach(function (g, n) {
      ["data-value", "data-grad", "data-tangent", "data-adjoint"].forEach(function (a) {
        g.removeAttribute(a);
      });
      g.classList.remove("sg-current", "sg-receiving", "sg-done");
      text(g, "value", "value ?", true);
      text(g, "grad", "grad ?", true);
      text(g, "tangent", "tangent ?", true);
    });
    Object.keys(ops).forEach(function (n) { ops[n].classList.remove("sg-current"); });
    root.querySelectorAll("path.sg-active").forEach(function (p) {
      p.classList.remove("sg-active");
    });
    while (labels.firstChild) labels.removeChild(labels.firstChild);
    obstacles = [];
    root.querySelectorAll("g.node > rect, g.operation > rect").forEach(function (r) {
      var box = r.getBBox(), corner = toRoot(r, box.x, box.y);
      obstacles.push({x: corner.x, y: corner.y, width: box.width, height: box.height});
    });
  }

  // A label on an edge, where it covers no box, operation or other label if it can.
  var obstacles = [];
  var svgRoot = root.querySelector("svg"), frame = svgRoot.viewBox.baseVal;
  function toRoot(element, x, y) {  // a point of element's, in the picture's coordinates
    var point = svgRoot.createSVGPoint();
    point.x = x;
    point.y = y;
    return point.matrixTransform(svgRoot.getScreenCTM().inverse()
      .multiply(element.getScreenCTM()));
  }
  function overlaps(a) {
    if (a.y < 0 || a.x < 0 || a.y + a.height > frame.height || a.x + a.width > frame.width) {
      return true;
    }
    return obstacles.some(function (b) {
      return a.x < b.x + b.width && b.x < a.x + a.width &&
        a.y < b.y + b.height && b.y < a.y + a.height;
    });
  }
  function edgeLabel(path, content) {
    var length = path.getTotalLength();
    var g = labels.appendChild(document.createElementNS(svgNS, "g"));
    var back = g.appendChild(document.createElementNS(svgNS, "rect"));
    var t = g.appendChild(document.createElementNS(svgNS, "text"));
    t.textContent = content;
    t.setAttribute("text-anchor", "middle");
    var best = null;
    [0.5, 0.35, 0.65, 0.2, 0.8].some(function (along) {
      var at = path.getPointAtLength(length * along);
      at = toRoot(path, at.x, at.y);
      return [0, -16, 16, -32, 32, -48, 48].some(function (dy) {
        t.setAttribute("x", at.x);
        t.setAttribute("y", at.y + 4 + dy);
        var box = t.getBBox();
        box = {x: box.x - 3, y: box.y - 1, width: box.width + 6, height: box.height + 2};
        if (best === null) best = box;
        if (overlaps(box)) return false;
        best = box;
        return true;
      });
    }) || (function () {  // nowhere free: the middle of the edge
      var at = path.getPointAtLength(length * 0.5);
      at = toRoot(path, at.x, at.y);
      t.setAttribute("x", at.x);
      t.setAttribute("y", at.y + 4);
      best = t.getBBox();
      best = {x: best.x - 3, y: best.y - 1, width: best.width + 6, height: best.height + 2};
    })();
    obstacles.push(best);
    back.setAttribute("x", best.x);
    back.setAttribute("y", best.y);
    back.setAttribute("width", best.width);
    back.setAttribute("height", best.height);
    back.setAttribute("rx", 3);
  }

  function activate(from, to) {
    (edges[from + ">" + to] || []).forEach(function (p) { p.classList.add("sg-active"); });
  }

  // Step k of the forward pass: node k - 1's value (and tangent) appear.
  function forward(k, current) {
    var n = k - 1, node = nodes[n], g = boxes[n];
    g.setAttribute("data-value", node.value);
    text(g, "value", "value " + node.v, false);
    if (data.tangents) {
      g.setAttribute("data-tangent", data.tangents[n].t);
      text(g, "tangent", "tangent " + data.tangents[n].ts, false);
    }
    if (!current) return;
    g.classList.add("sg-current");
    if (ops[n]) {
      ops[n].classList.add("sg-current");
      activate("op", "%" + n);
      node.args.forEach(function (a) { if (a[0] !== null) activate("%" + a[0], "%" + n); });
    }
  }

  // Step k of the reverse sweep: a node's adjoint is complete; it passes partial × adjoint on.
  function reverse(k, current) {
    var step = data.reverse[k - count - 1], n = step.n, g = boxes[n];
    g.setAttribute("data-grad", step.a);
    g.removeAttribute("data-adjoint");
    g.classList.add("sg-done");
    var uses = {};
    text(g, "grad", "grad " + step.as, false);
    step.c.forEach(function (c) {
      var parent = boxes[c[0]];
      parent.setAttribute("data-adjoint", c[4]);
      text(parent, "grad", "grad " + (current ? c[3] + " → " + c[4] : c[4]), false);
      if (!current) return;
      parent.classList.add("sg-receiving");
      activate("%" + c[0], "%" + n);
      // an argument used twice (x * x) has an edge for each use, in the order of use
      var key = "%" + c[0] + ">%" + n, use = uses[key] = (uses[key] || 0) + 1;
      var path = (edges[key] || [])[use - 1];
      if (path) edgeLabel(path, c[1] + " × " + step.as + " = " + c[2]);
    });
    if (current) {
      g.classList.add("sg-current");
      if (ops[n]) ops[n].classList.add("sg-current");
    }
  }

  function describe(k) {
    if (k === 0) return "step 0 of " + total + ": nothing computed yet";
    if (k <= count) return "step " + k + " of " + total + ": forward pass, " + said(k - 1);
    var step = data.reverse[k - count - 1];
    return "step " + k + " of " + total + ": reverse sweep at " + nodes[step.n].label +
      ", adjoint " + step.as + (step.skip ? " (passes nothing on)" : "");
  }

  function show(k) {
    shown = Math.max(0, Math.min(total, k));
    blank();
    for (var j = 1; j <= shown; j++) {
      if (j <= count) forward(j, j === shown); else reverse(j, j === shown);
    }
    root.setAttribute("data-step", shown);
    status.textContent = describe(shown);
    rows.forEach(function (row) {
      var here = +row.getAttribute("data-step") === shown;
      row.classList.toggle("sg-current", here);
      if (here) {
        row.setAttribute("aria-current", "step");
        var box = row.closest(".sg-steps");
        box.scrollTop = row.offsetTop - box.clientHeight / 2;
      } else {
        row.removeAttribute("aria-current");
      }
    });
    var current = root.querySelector("g.node.sg-current");
    if (current) {  // keep the node processed in sight, scrolling the picture only
      var frameBox = picture.getBoundingClientRect(), box = current.getBoundingClientRect();
      if (box.left < frameBox.left || box.right > frameBox.right) {
        picture.scrollLeft += box.left - frameBox.left - (frameBox.width - box.width) / 2;
      }
      if (box.top < frameBox.top || box.bottom > frameBox.bottom) {
        picture.scrollTop += box.top - frameBox.top - (frameBox.height - box.height) / 2;
      }
    }
    if (wholePage && window.history && history.replaceState) {
      history.replaceState(null, "", "#step=" + (shown === total ? "end" : shown));
    }
    if (shown === total) pause();
  }

  function pause() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    playButton.textContent = "▶ play";
  }

  function play() {
    if (timer !== null) { pause(); return; }
    if (shown === total) show(0);
    playButton.textContent = "pause";
    timer = setInterval(function () { show(shown + 1); }, 900 / +speed.value);
  }

  function fromFragment() {
    var match = /^#step=(end|\d+)$/.exec(window.location.hash);
    if (!match) return null;
    return match[1] === "end" ? total : +match[1];
  }

  function showRule(n) {
    var node = nodes[n], lines = [said(n)];
    if (!node.op) {
      lines.push("An input: its value is given; its grad is d output / d " + node.label +
                 ", complete when the reverse sweep reaches it.");
    } else {
      var rule = data.rules[node.op];
      lines.push("rule " + node.op + ": out = " + rule.formula);
      rule.partials.forEach(function (p) { lines.push(p); });
      if (rule.convention) lines.push(rule.convention);
      node.args.forEach(function (a, k) {
        if (a[0] !== null) {
          lines.push("here: ∂" + node.label + "/∂" + nodes[a[0]].label + " = " + a[2] +
                     " (argument " + (k + 1) + ")");
        } else {
          lines.push("argument " + (k + 1) + " is the constant " + a[1]);
        }
      });
    }
    rulePanel.textContent = "";
    lines.forEach(function (line, k) {
      var p = rulePanel.appendChild(document.createElement(k ? "div" : "strong"));
      p.textContent = line;
    });
    rulePanel.hidden = false;
  }

  root.querySelector(".sg-controls").addEventListener("click", function (event) {
    var action = event.target.getAttribute("data-action");
    if (action === "reset") { pause(); show(0); }
    else if (action === "back") { pause(); show(shown - 1); }
    else if (action === "step") { pause(); show(shown + 1); }
    else if (action === "play") play();
  });
  speed.addEventListener("change", function () {
    if (timer !== null) { pause(); play(); }
  });
  Object.keys(ops).forEach(function (n) {
    ops[n].addEventListener("click", function () { showRule(+n); });
  });
  boxes.forEach(function (g, n) {
    g.addEventListener("click", function () { showRule(n); });
  });
  rows.forEach(function (row) {
    row.addEventListener("click", function () { pause(); show(+row.getAttribute("data-step")); });
  });
  (wholePage ? document : root).addEventListener("keydown", function (event) {
    var tag = event.target.tagName;
    if (tag === "BUTTON" || tag === "SELECT" || tag === "INPUT") return;
    if (event.key === "ArrowRight") { pause(); show(shown + 1); }
    else if (event.key === "ArrowLeft") { pause(); show(shown - 1); }
    else if (event.key === " ") play();
    else if (event.key === "Home") { pause(); show(0); }
    else if (event.key === "End") { pause(); show(total); }
    else return;
    event.preventDefault();
  });
  if (wholePage) {
    window.addEventListener("hashchange", function () {
      var k = fromFragment();
      if (k !== null && k !== shown) { pause(); show(k); }
    });
  }
  var start = wholePage ? fromFragment() : null;
  show(start === null ? 0 : start);
}
