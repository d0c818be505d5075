// The map component's entry point (st.components.v2, inline): it loads the map's module
// (map.js, served by the app beside Leaflet, cached by the browser) and hands it the call,
// with what to do if the map cannot be drawn.
// Leaflet is asked for at once, so that its download runs beside the module's.
export default function (component) {
  const { module, leaflet } = component.data.map;
  if (!document.head.querySelector("link[data-qpv-leaflet-preload]")) {
    for (const [name, kind] of [["leaflet.js", "script"], ["leaflet.css", "style"]]) {
      const link = document.createElement("link");
      link.rel = "preload";
      link.as = kind;
      link.href = `${leaflet}/${name}`;
      link.dataset.qpvLeafletPreload = "";
      document.head.appendChild(link);
    }
  }
  const url = new URL(module, document.baseURI).href;
  return import(url).then(
    (map) => map.default(component, failed),
    (error) => failed(component, error),
  );
}

// A map that cannot be drawn (its module or Leaflet did not load): the user reads why, in
// French, and a page waiting for the map to be drawn gets the rest of its content all the same.
function failed(component, error) {
  const root = component.parentElement;
  if (!root.querySelector(".qpv-map-error")) {
    const box = document.createElement("p");
    box.className = "qpv-map-error";
    box.setAttribute("role", "alert");
    box.textContent = component.data.map.strings.loadError;
    root.appendChild(box);
  }
  if (component.data.map.reportDrawn) component.setTriggerValue("drawn", true);
  console.error("qpv map:", error);
}
