// Zoomable squarified treemap of the final tree, coloured by layer. No dependencies, no
// network. Every name is set with textContent or title, never parsed as HTML.
(function () {
  "use strict";
  var dataNode = document.getElementById("tree-data");
  var box = document.getElementById("treemap");
  var crumbs = document.getElementById("crumbs");
  if (!dataNode || !box) { return; }
  var root = JSON.parse(dataNode.textContent);
  var stack = [root];
  var MAX_DEPTH = 3;

  function color(layer) {
    if (layer < 0) { return "#c8c8c8"; }
    return "hsl(" + ((layer * 137.508) % 360).toFixed(1) + ",55%,62%)";
  }

  function human(bytes) {
    var units = ["B", "kB", "MB", "GB", "TB"], i = 0, v = bytes;
    while (v >= 1000 && i < units.length - 1) { v /= 1000; i += 1; }
    return (i === 0 ? v : v.toFixed(1)) + " " + units[i];
  }

  function worst(row, side) {
    var sum = 0, max = 0, min = Infinity;
    row.forEach(function (r) { sum += r.a; max = Math.max(max, r.a); min = Math.min(min, r.a); });
    var s2 = sum * sum, side2 = side * side;
    return Math.max(side2 * max / s2, s2 / (side2 * min));
  }

  function place(row, rect, out) {
    var sum = 0;
    row.forEach(function (r) { sum += r.a; });
    if (rect.w >= rect.h) {
      var cw = sum / rect.h, cy = rect.y;
      row.forEach(function (r) {
        var ch = r.a / cw;
        out.push({ node: r.n, x: rect.x, y: cy, w: cw, h: ch });
        cy += ch;
      });
      return { x: rect.x + cw, y: rect.y, w: rect.w - cw, h: rect.h };
    }
    var rh = sum / rect.w, cx = rect.x;
    row.forEach(function (r) {
      var rw = r.a / rh;
      out.push({ node: r.n, x: cx, y: rect.y, w: rw, h: rh });
      cx += rw;
    });
    return { x: rect.x, y: rect.y + rh, w: rect.w, h: rect.h - rh };
  }

  function squarify(nodes, rect) {
    var items = nodes.filter(function (n) { return n.s > 0; });
    var total = items.reduce(function (a, n) { return a + n.s; }, 0);
    var out = [];
    if (!total || rect.w <= 0 || rect.h <= 0) { return out; }
    var scale = rect.w * rect.h / total;
    var rest = items.map(function (n) { return { n: n, a: n.s * scale }; });
    var row = [];
    while (rest.length) {
      var side = Math.min(rect.w, rect.h);
      if (!row.length || worst(row.concat([rest[0]]), side) <= worst(row, side)) {
        row.push(rest.shift());
      } else {
        rect = place(row, rect, out);
        row = [];
      }
    }
    if (row.length) { place(row, rect, out); }
    return out;
  }

  function pathOf(prefix, name) {
    if (prefix === "" || prefix === "/") { return "/" + name; }
    return prefix + "/" + name;
  }

  function drawChildren(node, container, width, height, depth, prefix) {
    squarify(node.c || [], { x: 0, y: 0, w: width, h: height }).forEach(function (cell) {
      var child = cell.node;
      var div = document.createElement("div");
      var path = pathOf(prefix, child.n);
      div.className = "tm-node" + (child.c ? " tm-dir" : "");
      div.style.left = cell.x.toFixed(1) + "px";
      div.style.top = cell.y.toFixed(1) + "px";
      div.style.width = Math.max(cell.w - 1, 0).toFixed(1) + "px";
      div.style.height = Math.max(cell.h - 1, 0).toFixed(1) + "px";
      div.style.background = color(child.l);
      div.title = path + "\n" + human(child.s) + (child.l >= 0 ? "\nlayer " + child.l : "");
      div.setAttribute("data-path", path);
      if (cell.w > 50 && cell.h > 14) {
        var label = document.createElement("span");
        label.className = "tm-label";
        label.textContent = child.n + " " + human(child.s);
        div.appendChild(label);
      }
      if (child.c) {
        div.addEventListener("click", function (event) {
          event.stopPropagation();
          stack.push({ node: child, path: path });
          draw();
        });
        if (depth < MAX_DEPTH && cell.w > 30 && cell.h > 30) {
          var inner = document.createElement("div");
          inner.className = "tm-inner";
          div.appendChild(inner);
          drawChildren(child, inner, cell.w - 4, cell.h - 18, depth + 1, path);
        }
      }
      container.appendChild(div);
    });
  }

  function draw() {
    var top = stack[stack.length - 1];
    var node = top.node || top;
    var prefix = top.path || "/";
    box.textContent = "";
    crumbs.textContent = "";
    stack.forEach(function (entry, index) {
      var link = document.createElement("a");
      link.href = "#treemap";
      link.className = "crumb";
      link.textContent = index === 0 ? "/" : (entry.node.n + "/");
      link.addEventListener("click", function (event) {
        event.preventDefault();
        stack = stack.slice(0, index + 1);
        draw();
      });
      crumbs.appendChild(link);
    });
    var width = box.clientWidth || 1000, height = box.clientHeight || 520;
    drawChildren(node, box, width, height, 1, prefix);
  }

  draw();
  window.addEventListener("resize", draw);
}());
