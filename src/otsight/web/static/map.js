// otsight network map: pan (drag), zoom (wheel, buttons), and highlight an asset's links on
// hover. The map is plain SVG with links; without this script it still shows and opens assets.
(function () {
  "use strict";
  var svg = document.getElementById("netmap");
  if (!svg) { return; }
  var W = Number(svg.getAttribute("data-w"));
  var H = Number(svg.getAttribute("data-h"));
  var view = { x: 0, y: 0, w: W, h: H };

  function apply() {
    svg.setAttribute("viewBox", view.x + " " + view.y + " " + view.w + " " + view.h);
  }

  function toSvg(clientX, clientY) {
    var pt = svg.createSVGPoint();
    pt.x = clientX;
    pt.y = clientY;
    return pt.matrixTransform(svg.getScreenCTM().inverse());
  }

  // A tall map opens at full width, showing its top; "Fit" shows all of it.
  function initial() {
    var width = svg.clientWidth || W;
    var natural = H * width / W;
    var height = Math.min(natural, Math.max(360, window.innerHeight * 0.74));
    svg.style.height = height + "px";
    view = { x: 0, y: 0, w: W, h: W * height / width };
    apply();
  }

  function fit() {
    var ratio = svg.clientHeight / svg.clientWidth;
    var w = Math.max(W, H / ratio);
    view = { x: (W - w) / 2, y: (H - w * ratio) / 2, w: w, h: w * ratio };
    apply();
  }

  function zoom(factor, cx, cy) {
    var w = Math.min(W * 6, Math.max(W / 25, view.w * factor));
    var f = w / view.w;
    view.x = cx - (cx - view.x) * f;
    view.y = cy - (cy - view.y) * f;
    view.w *= f;
    view.h *= f;
    apply();
  }

  svg.addEventListener("wheel", function (e) {
    e.preventDefault();
    var p = toSvg(e.clientX, e.clientY);
    zoom(e.deltaY > 0 ? 1.15 : 1 / 1.15, p.x, p.y);
  }, { passive: false });

  var grab = null;
  var moved = false;
  svg.addEventListener("pointerdown", function (e) {
    if (e.button !== 0) { return; }
    grab = { p: toSvg(e.clientX, e.clientY), x: e.clientX, y: e.clientY };
    moved = false;
  });
  window.addEventListener("pointermove", function (e) {
    if (!grab) { return; }
    if (!moved && Math.abs(e.clientX - grab.x) + Math.abs(e.clientY - grab.y) < 5) { return; }
    moved = true;
    svg.classList.add("dragging");
    var p = toSvg(e.clientX, e.clientY);
    view.x += grab.p.x - p.x;
    view.y += grab.p.y - p.y;
    apply();
  });
  window.addEventListener("pointerup", function () {
    grab = null;
    svg.classList.remove("dragging");
  });
  // A drag that ends on an asset must not open it.
  svg.addEventListener("click", function (e) {
    if (moved) {
      e.preventDefault();
      e.stopPropagation();
      moved = false;
    }
  }, true);

  Array.prototype.forEach.call(document.querySelectorAll("[data-zoom]"), function (button) {
    button.addEventListener("click", function () {
      var kind = button.getAttribute("data-zoom");
      if (kind === "reset") { fit(); return; }
      zoom(kind === "in" ? 1 / 1.4 : 1.4, view.x + view.w / 2, view.y + view.h / 2);
    });
  });

  // Hover: light up the asset, its links and its peers.
  var edges = svg.querySelectorAll(".edge");
  var nodes = svg.querySelectorAll(".node");
  var byNode = {};
  Array.prototype.forEach.call(edges, function (edge) {
    var a = edge.getAttribute("data-a");
    var b = edge.getAttribute("data-b");
    (byNode[a] = byNode[a] || []).push([edge, b]);
    (byNode[b] = byNode[b] || []).push([edge, a]);
  });
  var nodeByIndex = {};
  Array.prototype.forEach.call(nodes, function (node) {
    nodeByIndex[node.getAttribute("data-i")] = node;
    node.addEventListener("mouseenter", function () {
      if (grab) { return; }
      var i = node.getAttribute("data-i");
      svg.classList.add("hovering");
      node.classList.add("lit");
      (byNode[i] || []).forEach(function (pair) {
        pair[0].classList.add("lit");
        nodeByIndex[pair[1]].classList.add("lit");
      });
    });
    node.addEventListener("mouseleave", function () {
      svg.classList.remove("hovering");
      Array.prototype.forEach.call(svg.querySelectorAll(".lit"), function (el) {
        el.classList.remove("lit");
      });
    });
  });

  initial();
  window.addEventListener("resize", initial);
}());
