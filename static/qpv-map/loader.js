// The map component's entry point (st.components.v2, inline): it loads the map's module
// (map.js, served by the app beside Leaflet, cached by the browser) and hands it the call.
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
  return import(url).then((map) => map.default(component));
}
