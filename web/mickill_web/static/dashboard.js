// Keeps the dashboard's state current without reloading: polls /status.json every second.
"use strict";
(function () {
  const panel = document.getElementById("state");
  if (!panel) return;
  const url = panel.dataset.statusUrl;
  const DOWN = "Controller not running: the mic is cut by the hardware default.";

  function show(display) {
    for (const element of document.querySelectorAll("[data-field]")) {
      const key = element.dataset.field;
      if (key in display) element.textContent = display[key];
    }
    panel.classList.toggle("state-cut", display.state_class === "cut");
    panel.classList.toggle("state-live", display.state_class === "live");
    panel.classList.toggle("is-locked", Boolean(display.is_locked));
    panel.classList.remove("state-unknown");
    document.title = display.state + " · mickill";
  }

  async function poll() {
    try {
      const response = await fetch(url, {headers: {"Accept": "application/json"}, cache: "no-store"});
      if (response.status === 401 || response.redirected) { window.location.reload(); return; }
      if (!response.ok) throw new Error(String(response.status));
      show((await response.json()).display);
    } catch (error) {
      panel.classList.add("state-unknown");
      const headline = panel.querySelector("[data-field=headline]");
      if (headline) headline.textContent = DOWN;
    } finally {
      window.setTimeout(poll, 1000);
    }
  }
  window.setTimeout(poll, 1000);
})();
