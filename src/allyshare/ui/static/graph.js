/* The relationship graph of an object page, drawn with vis-network (which the node serves from
   the pyvis package) from the JSON the graph's data-graph attribute carries. A click on a node
   shows its own neighbours, asked of the node as the reader may see them; a double-click, or
   the link shown for the node clicked, opens its page. Positions are set here, on rings around
   the node expanded, so nothing waits on a physics simulation however many neighbours there
   are. */
"use strict";

(function () {
  const holder = document.getElementById("graph");
  if (!holder || !holder.dataset.graph || typeof vis === "undefined") {
    return;
  }
  const chosen = document.getElementById("graph-chosen");
  const first = JSON.parse(holder.dataset.graph);
  const nodes = new vis.DataSet();
  const edges = new vis.DataSet();
  const pages = new Map();
  const expanded = new Set();
  const SPACING = 60;
  const FIRST_RING = 180;
  const MANY_EDGES = 300;

  // Places around `center` on rings far enough apart that labels stay apart.
  function rings(center, count) {
    const places = [];
    let radius = FIRST_RING;
    while (places.length < count) {
      const room = Math.max(8, Math.floor((2 * Math.PI * radius) / SPACING));
      const here = Math.min(room, count - places.length);
      for (let i = 0; i < here; i += 1) {
        const angle = (2 * Math.PI * i) / here;
        places.push({ x: center.x + radius * Math.cos(angle), y: center.y + radius * Math.sin(angle) });
      }
      radius += SPACING;
    }
    return places;
  }

  function shortened(text) {
    return text.length > 40 ? text.slice(0, 39) + "\u2026" : text;
  }

  function drawn(item, place, main) {
    pages.set(item.id, item);
    return {
      id: item.id,
      label: shortened(item.title),
      // A string title is shown as text, never as markup.
      title: item.type + ": " + item.title,
      group: item.type,
      x: place.x,
      y: place.y,
      size: main ? 18 : 10,
    };
  }

  function add(hood, around) {
    const fresh = hood.nodes.filter((item) => nodes.get(item.id) === null);
    const places = rings(around, fresh.length);
    const many = edges.length + hood.edges.length > MANY_EDGES;
    nodes.add(fresh.map((item, i) => drawn(item, places[i], false)));
    const joined = hood.edges
      .map((edge) => ({
        id: edge.from + "\n" + edge.to + "\n" + edge.label,
        from: edge.from,
        to: edge.to,
        // Thousands of edge labels would cost more to lay out than the rest of the graph;
        // past a few hundred edges, an edge's words are in its tooltip.
        label: many ? undefined : edge.label,
        title: edge.label,
        arrows: "to",
      }))
      .filter((edge) => edges.get(edge.id) === null);
    edges.add(joined);
    expanded.add(hood.center.id);
    holder.dataset.drawn = String(nodes.length);
  }

  function choose(id) {
    const item = pages.get(id);
    chosen.textContent = "";
    if (!item) {
      return;
    }
    const link = document.createElement("a");
    link.href = item.href;
    link.textContent = "Open " + item.title;
    chosen.append(item.type + ": ", link);
  }

  function expand(id) {
    if (expanded.has(id)) {
      return;
    }
    expanded.add(id);
    const around = network.getPosition(id);
    fetch(holder.dataset.neighbours + encodeURIComponent(id) + "/neighbours", {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then((answer) => (answer.ok ? answer.json() : null))
      .then((hood) => {
        if (hood) {
          add(hood, around);
        }
      });
  }

  nodes.add(drawn(first.center, { x: 0, y: 0 }, true));
  add(first, { x: 0, y: 0 });
  const network = new vis.Network(
    holder,
    { nodes: nodes, edges: edges },
    {
      physics: false,
      layout: { improvedLayout: false },
      interaction: { hover: true, tooltipDelay: 300 },
      nodes: { shape: "dot", font: { size: 12 } },
      edges: { smooth: false, font: { size: 9, align: "middle" }, color: { color: "#8c959f" } },
    }
  );
  network.on("click", (event) => {
    if (event.nodes.length) {
      choose(event.nodes[0]);
      expand(event.nodes[0]);
    }
  });
  network.on("doubleClick", (event) => {
    const item = event.nodes.length ? pages.get(event.nodes[0]) : undefined;
    if (item) {
      window.location.assign(item.href);
    }
  });
  // Fitted to all it shows, the view is then centred on the object of the page (the rings
  // around it are lopsided when few), zoomed out as much as centring needs.
  network.once("afterDrawing", () => {
    network.moveTo({ position: { x: 0, y: 0 }, scale: network.getScale() * 0.75 });
    holder.dataset.ready = "true";
    // When the first full drawing ended, in ms from the page's navigation (bench/ui.py).
    holder.dataset.drawnAt = String(Math.round(performance.now()));
  });
})();
