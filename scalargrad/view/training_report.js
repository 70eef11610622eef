// The training report's smoothing slider: redraws each panel's smoothed line (the second
// series of its group, chart_svg.py's data-plot) from the raw steps, as an exponential
// moving average, debiased (training_chart.py and chart.py's smoothed do the same).
(function () {
  "use strict";
  var steps = JSON.parse(document.getElementById("run-data").textContent).steps;
  var slider = document.getElementById("smoothing");
  var shown = document.querySelector('output[for="smoothing"]');
  var groups = document.querySelectorAll(".chart g.series");

  function smoothed(column, weight) {
    var average = 0, total = 0;
    return steps.filter(function (s) { return isFinite(s[column]); }).map(function (s) {
      average = weight * average + (1 - weight) * s[column];
      total = weight * total + (1 - weight);
      return [s[0], average / total];
    });
  }

  function redraw() {
    var weight = +slider.value;
    shown.textContent = weight.toFixed(2);
    [1, 2].forEach(function (column, k) {  // loss, then accuracy
      var group = groups[k], line = group && group.children[1];
      if (!line) return;
      var p = group.getAttribute("data-plot").split(",").map(Number);
      var left = p[0], top = p[1], width = p[2], height = p[3];
      var xLow = p[4], xHigh = p[5], yLow = p[6], yHigh = p[7], log = p[8] === 1;
      line.setAttribute("d", smoothed(column, weight).map(function (point, i) {
        var y = log ? Math.log10(point[1]) : point[1];
        return (i ? "L" : "M") + (left + (point[0] - xLow) / (xHigh - xLow) * width).toFixed(2) +
          "," + (top + (yHigh - y) / (yHigh - yLow) * height).toFixed(2);
      }).join(" "));
    });
  }

  slider.addEventListener("input", redraw);
})();
