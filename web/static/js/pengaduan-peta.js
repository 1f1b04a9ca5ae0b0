// Complaint maps (only when SIDANG_MAP_TILES is set; without tiles this file is not loaded).
// On the form a tap drops the pin and fills lat/lon, and "use my location" moves the pin too;
// on the public list each report with a place gets a marker linking to it.
"use strict";

(function () {
  const list = document.getElementById("peta-laporan");
  if (!list || typeof L === "undefined") return;
  const map = L.map(list);
  L.tileLayer(list.dataset.tiles, { maxZoom: 19 }).addTo(map);
  const points = [];
  document.querySelectorAll("[data-lat][data-lon]").forEach((item) => {
    const here = [Number(item.dataset.lat), Number(item.dataset.lon)];
    const link = document.createElement("a");
    link.href = item.dataset.href;
    link.textContent = item.dataset.code;
    L.marker(here).addTo(map).bindPopup(link);
    points.push(here);
  });
  // The first view is set once, around the reports: no zoom animation from a default view
  // (on a slow phone it fetched a second set of tiles, and a tap mid-animation was lost).
  if (points.length) map.fitBounds(points, { maxZoom: 16, animate: false });
  else map.setView([-6.8886, 109.6753], 13);
})();

(function () {
  const element = document.getElementById("peta");
  if (!element || typeof L === "undefined") return;
  const lat = document.getElementById("lat");
  const lon = document.getElementById("lon");
  const start = lat.value && lon.value ? [Number(lat.value), Number(lon.value)] : [-6.8886, 109.6753];
  const map = L.map(element).setView(start, lat.value ? 17 : 13);
  L.tileLayer(element.dataset.tiles, { maxZoom: 19, attribution: element.dataset.attribution || "" }).addTo(map);
  let pin = lat.value ? L.marker(start).addTo(map) : null;

  function place(latlng) {
    lat.value = latlng.lat.toFixed(6);
    lon.value = latlng.lng.toFixed(6);
    if (pin) pin.setLatLng(latlng);
    else pin = L.marker(latlng).addTo(map);
  }

  map.on("click", (event) => place(event.latlng));
  [lat, lon].forEach((input) =>
    input.addEventListener("change", () => {
      const here = L.latLng(Number(lat.value), Number(lon.value));
      place(here);
      map.setView(here, 17);
    }),
  );
})();
