// The app's Leaflet map, as a Streamlit component (st.components.v2): no iframe.
//
// Streamlit calls the default export when the component mounts and again whenever the data
// sent from Python changes, always with the same `parentElement` (the component's shadow
// root). The Leaflet map is created on the first call and kept: later calls update it in
// place. Each layer arrives with a `key` (a digest of its content): a layer whose key did not
// change is neither parsed nor redrawn, and a view (`view.key`) is applied only when it
// changes, so that a click on a quartier never resets the zoom.
//
// Only clicks go back to Python (`setTriggerValue("click", ...)`), with the keys of kept layers
// the page lacks (`missing`) and, when asked, the news that the map is drawn (`drawn`); panning
// and zooming stay in the browser. Everything written into HTML (tooltips, legends, commune
// names, the layer names) arrives already escaped by Python; the JSON is parsed with
// JSON.parse, never evaluated. Leaflet (vendored) is loaded once per page, by a <script> in
// the document's head.

const instances = new WeakMap(); // shadow root -> MapInstance
const parsed = new Map(); // layer key -> features, shared by the maps of the page
const PARSED_KEPT = 24;
// Layers Python sends once per session (`kept`), then by their key alone: kept for the page.
const kept = new Map();
let leafletLoading = null;

function loadLeaflet(base) {
  if (window.L && window.L.version) {
    return Promise.resolve(window.L);
  }
  if (!leafletLoading) {
    leafletLoading = new Promise((resolve, reject) => {
      let script = document.head.querySelector("script[data-qpv-leaflet]");
      if (!script) {
        script = document.createElement("script");
        script.src = `${base}/leaflet.js`;
        script.dataset.qpvLeaflet = "";
        document.head.appendChild(script);
      }
      script.addEventListener("load", () => resolve(window.L), { once: true });
      script.addEventListener(
        "error",
        () => {
          leafletLoading = null;
          script.remove();
          reject(new Error(`${base}/leaflet.js`));
        },
        { once: true },
      );
    });
  }
  return leafletLoading;
}

function loadStylesheet(root, href) {
  let link = root.querySelector("link[data-qpv-leaflet-css]");
  if (!link) {
    link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    link.dataset.qpvLeafletCss = "";
    root.appendChild(link);
  }
  if (link.sheet) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    link.addEventListener("load", resolve, { once: true });
    link.addEventListener("error", resolve, { once: true }); // the map still works, unstyled
  });
}

// The features of a layer: read once, then found by key. A kept layer that arrives without its
// GeoJSON and is not here (the page lost it) gives null: Python is asked to send it again.
function featuresOf(spec) {
  const store = spec.kept ? kept : parsed;
  let features = store.get(spec.key);
  if (features === undefined) {
    if (spec.geojson == null) return null;
    features = JSON.parse(spec.geojson).features;
    store.set(spec.key, features);
    if (parsed.size > PARSED_KEPT) {
      parsed.delete(parsed.keys().next().value); // the oldest
    }
    MapInstance.parses += 1;
  }
  return features;
}

function sameList(a, b) {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((value, i) => value === b[i]);
}

// Panes, bottom to top: each layer slot draws in its own, so that replacing one layer (the
// communes, coloured or not) never puts it above the others. The panes let clicks through;
// only interactive shapes catch them (Leaflet's stylesheet).
const PANES = ["communes", "territory", "quartiers", "focus", "points"];

class MapInstance {
  constructor(root) {
    this.root = root;
    this.latest = null;
    this.queued = false;
    this.ready = null;
    this.map = null;
    this.layers = new Map(); // slot id -> {key, only, layer, spec}
    this.hidden = new Set(); // overlays the user switched off in the layer control
    this.legends = new Map(); // corner -> {control, html}
    this.labels = { key: null, names: [] };
    this.viewKey = null;
    this.pendingView = null;
    this.fitted = null; // the view the script asked for, while the user has not moved the map
    this.fittedSize = null; // the map's size when that view was applied
    this.viewing = false;
    this.updates = 0;
  }

  host() {
    return this.root.host || this.root;
  }

  update(component, failed) {
    this.latest = component;
    this.failed = failed;
    const base = component.data.map.leaflet;
    if (!this.ready) {
      this.ready = Promise.all([
        loadLeaflet(base),
        loadStylesheet(this.root, `${base}/leaflet.css`),
      ]);
    }
    if (this.queued) return; // the queued update reads this.latest
    this.queued = true;
    this.ready
      .then(() => {
        this.queued = false;
        this.apply(this.latest);
        this.reportDrawn(this.latest);
      })
      .catch((error) => {
        this.queued = false;
        this.failed(this.latest, error);
      });
  }

  // A page that shows its map first asks to be told once it is drawn (`reportDrawn`), then
  // sends the rest of the page (a map that could not be drawn says so too: `failed`).
  reportDrawn(component) {
    if (component.data.map.reportDrawn) component.setTriggerValue("drawn", true);
  }

  apply(component) {
    const data = component.data.map;
    this.component = component;
    if (!this.map) this.create(data);
    this.element.style.height = data.height;
    this.setCss(data.css);
    this.clicks = data.clicks;
    this.syncView(data.view); // first: layers and names are placed on a map with a view
    this.syncLayers(data.layers);
    this.syncLegends(data.legends);
    this.syncLabels(data.labels);
    // What tests read: how many updates this map took, how many layers the page parsed.
    this.updates += 1;
    this.element.dataset.updates = String(this.updates);
    this.element.dataset.parses = String(MapInstance.parses);
  }

  create(data) {
    const L = window.L;
    const strings = data.strings;
    this.element = document.createElement("div");
    this.element.className = "qpv-map";
    this.element.style.height = data.height;
    this.root.appendChild(this.element);
    this.style = document.createElement("style");
    this.root.appendChild(this.style);

    const map = L.map(this.element, {
      zoomControl: false,
      attributionControl: false,
      minZoom: data.minZoom,
      maxZoom: data.maxZoom,
    });
    this.map = map;
    this.element.leafletMap = map; // for tests and the browser's console
    for (const [i, name] of PANES.entries()) {
      const pane = map.createPane(`qpv-${name}`);
      pane.style.zIndex = String(410 + 10 * i);
      pane.style.pointerEvents = "none";
    }

    L.control
      .zoom({ zoomInTitle: strings.zoomIn, zoomOutTitle: strings.zoomOut })
      .addTo(map);
    // Bottom corners stack upwards in the order controls are added: the attribution first,
    // then the scale above it (never under it), then the legends above both.
    L.control.attribution({ prefix: strings.attributionPrefix }).addTo(map);
    L.control.scale({ imperial: false, position: "bottomright" }).addTo(map);

    const bases = {};
    for (const basemap of data.basemaps) {
      bases[basemap.name] = basemap.tiles
        ? L.tileLayer(basemap.tiles, {
            attribution: basemap.attribution,
            maxZoom: basemap.maxZoom,
          })
        : L.layerGroup(); // « Sans fond de carte »: an empty base layer removes the tiles
      if (basemap.key === data.basemap) bases[basemap.name].addTo(map);
    }
    this.control = L.control.layers(bases, {}, { position: "topright", collapsed: true });
    this.control.addTo(map);
    const toggle = this.control.getContainer().querySelector(".leaflet-control-layers-toggle");
    toggle.title = strings.layers;
    toggle.setAttribute("aria-label", strings.layers);
    this.controlled = [];

    // Leaflet 1.9 focuses the map on mousedown (for its keyboard controls) with a plain
    // focus(): when the map is partly off screen the browser scrolls the page between
    // mousedown and mouseup, and the click lands elsewhere. Same focus, without the scroll.
    map.keyboard.disable();
    map.keyboard._onMouseDown = function () {
      if (!this._focused) this._map._container.focus({ preventScroll: true });
    };
    map.keyboard.enable();
    this.element.setAttribute("role", "region");
    this.element.setAttribute("aria-label", strings.mapLabel);

    map.on("click", (event) => {
      if (this.clicks === "point") {
        const { lat, lng } = event.latlng.wrap();
        this.send({ lat: Number(lat.toFixed(6)), lng: Number(lng.toFixed(6)) });
      }
    });
    map.on("overlayadd overlayremove", (event) => {
      if (this.syncing) return; // a layer replaced by the script, not switched by the user
      for (const [id, entry] of this.layers) {
        if (entry.layer === event.layer) {
          if (event.type === "overlayadd") this.hidden.delete(id);
          else this.hidden.add(id);
        }
      }
    });
    map.on("zoomend resize", () => this.placeLabels());
    // A move the script did not ask for is the user's: their view stays from then on.
    map.on("movestart", () => {
      if (!this.viewing) this.fitted = null;
    });
    this.resizeObserver = new ResizeObserver(() => {
      map.invalidateSize({ pan: false });
      if (!this.hasSize()) return;
      // The map's box changes as the page around it fills in: the view the script asked for
      // is fitted again to the new size, unless the user has moved the map since.
      const refit = this.fitted && !map.getSize().equals(this.fittedSize);
      const view = this.pendingView || (refit ? this.fitted : null);
      this.pendingView = null;
      if (view) this.setView(view);
    });
    this.resizeObserver.observe(this.element);
  }

  send(value) {
    this.component.setTriggerValue("click", value);
  }

  setCss(css) {
    if (this.style.textContent !== css) this.style.textContent = css;
  }

  hasSize() {
    const size = this.map.getSize();
    return size.x > 0 && size.y > 0;
  }

  // -- Layers ---------------------------------------------------------------------------------

  syncLayers(specs) {
    this.syncing = true;
    try {
      this.replaceLayers(specs);
      this.syncControl(specs);
    } finally {
      this.syncing = false;
    }
  }

  replaceLayers(specs) {
    const wanted = new Set(specs.map((spec) => spec.id));
    for (const [id, entry] of this.layers) {
      if (!wanted.has(id)) {
        this.dropLayer(entry);
        this.layers.delete(id);
      }
    }
    const missing = [];
    for (const spec of specs) {
      const entry = this.layers.get(spec.id);
      if (entry && entry.key === spec.key && sameList(entry.only, spec.only)) {
        entry.spec = spec;
        continue;
      }
      const features = featuresOf(spec);
      if (features === null) {
        missing.push(spec.key);
        continue;
      }
      const layer = this.makeLayer(spec, features);
      if (entry) this.dropLayer(entry);
      this.layers.set(spec.id, { key: spec.key, only: spec.only, layer, spec });
      if (!(spec.name && this.hidden.has(spec.id))) layer.addTo(this.map);
    }
    if (missing.length) this.component.setTriggerValue("missing", missing);
  }

  makeLayer(spec, features) {
    const L = window.L;
    const only = spec.only ? new Set(spec.only) : null;
    const pane = `qpv-${spec.pane}`;
    const options = {
      pane,
      interactive: spec.interactive,
      attribution: spec.attribution || undefined, // Leaflet shows it while the layer is on
      filter: only ? (feature) => only.has(feature.id) : undefined,
      // Leaflet restyles every feature after pointToLayer; a circle in metres must get its
      // radius again (setStyle without one would set it to the radius in pixels).
      style: (feature) =>
        feature.properties.radius_m
          ? { ...feature.properties.style, radius: feature.properties.radius_m }
          : feature.properties.style,
      pointToLayer: (feature, latlng) => {
        const style = { ...feature.properties.style, pane, interactive: spec.interactive };
        return feature.properties.radius_m
          ? L.circle(latlng, { ...style, radius: feature.properties.radius_m })
          : L.circleMarker(latlng, style);
      },
      onEachFeature: (feature, layer) => {
        if (spec.tooltips && feature.properties.tooltip) {
          layer.bindTooltip(feature.properties.tooltip, { sticky: true });
        }
        if (spec.clickable) {
          layer.on("click", () => {
            if (this.clicks === "feature") {
              this.send({ kind: feature.properties.kind, code: feature.properties.code });
            }
          });
        }
      },
    };
    return L.geoJSON(features, options);
  }

  dropLayer(entry) {
    entry.layer.remove();
  }

  // The layer control lists the named layers, in the order Python sends them.
  syncControl(specs) {
    const named = specs.filter((spec) => spec.name && this.layers.has(spec.id));
    const now = named.map((spec) => [spec.id, this.layers.get(spec.id).layer, spec.name]);
    const before = this.controlled;
    const same =
      before.length === now.length &&
      before.every((old, i) => old[1] === now[i][1] && old[2] === now[i][2]);
    if (same) return;
    for (const [, layer] of before) this.control.removeLayer(layer);
    for (const [, layer, name] of now) this.control.addOverlay(layer, name);
    this.controlled = now;
  }

  // -- Legends --------------------------------------------------------------------------------

  syncLegends(legends) {
    const L = window.L;
    const wanted = new Map(legends.map((legend) => [legend.position, legend.html]));
    for (const [position, entry] of this.legends) {
      if (!wanted.has(position)) {
        entry.control.remove();
        this.legends.delete(position);
      }
    }
    for (const [position, html] of wanted) {
      const entry = this.legends.get(position);
      if (entry && entry.html === html) continue;
      if (entry) {
        // New rows, same fold: what the user chose stays.
        const details = entry.div.querySelector("details");
        const open = details ? details.open : true;
        entry.div.innerHTML = html;
        entry.html = html;
        entry.div.querySelector("details").open = open;
        continue;
      }
      const control = L.control({ position });
      const div = L.DomUtil.create("div", "qpv-legend-control");
      control.onAdd = () => div;
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      control.addTo(this.map);
      if (this.map.getSize().x < this.latest.data.map.foldLegendsBelow) {
        div.querySelector("details").open = false; // on a phone it would hide the map
      }
      this.legends.set(position, { control, div, html });
    }
  }

  // -- Commune names --------------------------------------------------------------------------

  syncLabels(labels) {
    const key = labels ? labels.key : null;
    if (key === this.labels.key) return;
    for (const name of this.labels.names) name.marker.remove();
    const L = window.L;
    const names = (labels ? labels.items : []).map(([code, text, lat, lon, minZoom]) => {
      // A marker whose icon is the name, centred on its point by CSS: no measuring before
      // the style sheets have loaded, never a tab stop, never a click target.
      const icon = L.divIcon({
        className: labels.className,
        iconSize: null,
        html: `<span data-code="${code}">${text}</span>`,
      });
      const marker = L.marker([lat, lon], { icon, interactive: false, keyboard: false });
      return { minZoom, marker };
    });
    this.labels = { key, names };
    this.placeLabels();
  }

  // Names come largest commune first; a name that would overlap one already placed waits
  // for a closer zoom. Every name is put on the map before any is measured: one layout.
  placeLabels() {
    if (!this.map || !this.map._loaded || !this.hasSize()) return; // no view yet
    const zoom = this.map.getZoom();
    const candidates = [];
    for (const name of this.labels.names) {
      if (zoom < name.minZoom) {
        name.marker.remove();
        continue;
      }
      if (!this.map.hasLayer(name.marker)) name.marker.addTo(this.map);
      candidates.push(name);
    }
    const boxes = candidates.map((name) =>
      name.marker.getElement().firstChild.getBoundingClientRect(),
    );
    const apart = (a, b) =>
      a.right + 3 < b.left || b.right + 3 < a.left || a.bottom + 1 < b.top || b.bottom + 1 < a.top;
    const placed = [];
    candidates.forEach((name, i) => {
      if (placed.every((other) => apart(boxes[i], other))) placed.push(boxes[i]);
      else name.marker.remove();
    });
  }

  // -- View -----------------------------------------------------------------------------------

  syncView(view) {
    if (view.key === this.viewKey) return;
    this.viewKey = view.key;
    if (this.hasSize()) this.setView(view);
    else this.pendingView = view; // applied once the map has a size
  }

  setView(view) {
    this.viewing = true;
    try {
      if (view.bounds) {
        this.map.fitBounds(view.bounds, {
          paddingTopLeft: view.paddingTopLeft,
          paddingBottomRight: view.paddingBottomRight,
          maxZoom: view.maxZoom,
          animate: false,
        });
      } else {
        this.map.setView(view.center, view.zoom, { animate: false });
      }
    } finally {
      this.viewing = false;
    }
    this.fitted = view;
    this.fittedSize = this.map.getSize();
    this.placeLabels();
  }

  destroy() {
    if (this.resizeObserver) this.resizeObserver.disconnect();
    if (this.map) this.map.remove();
  }
}
MapInstance.parses = 0;

// `failed(component, error)`: what the loader does when the map cannot be drawn.
export default function (component, failed) {
  const root = component.parentElement;
  let instance = instances.get(root);
  if (!instance) {
    instance = new MapInstance(root);
    instances.set(root, instance);
  }
  instance.update(component, failed);
  // Streamlit calls this when the component goes away, and also, right away, for a call it
  // superseded before it finished: only a map whose element has left the page is removed.
  return () => {
    setTimeout(() => {
      if (!instance.host().isConnected && instances.get(root) === instance) {
        instance.destroy();
        instances.delete(root);
      }
    }, 0);
  };
}
