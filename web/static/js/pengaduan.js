// The complaint form: "use my location" fills the hidden lat/lon fields from the device.
"use strict";

(function () {
  const button = document.getElementById("pakai-lokasi");
  const status = document.getElementById("lokasi-status");
  if (!button || !("geolocation" in navigator)) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    navigator.geolocation.getCurrentPosition(
      (position) => {
        document.getElementById("lat").value = position.coords.latitude.toFixed(6);
        document.getElementById("lon").value = position.coords.longitude.toFixed(6);
        document.getElementById("lon").dispatchEvent(new Event("change"));
        status.textContent = status.dataset.found;
      },
      () => {
        status.textContent = status.dataset.failed;
      },
      { enableHighAccuracy: true, timeout: 15000 },
    );
  });
})();
