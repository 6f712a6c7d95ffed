// The simulator's live pins and its press-and-hold button (the forms work without it).
"use strict";
(function () {
  const sim = document.getElementById("sim");
  if (!sim) return;
  const button = document.getElementById("virtual-button");
  let down = false;

  function post(url) {
    return fetch(url, {method: "POST", headers: {"X-CSRFToken": sim.dataset.csrf, "X-Requested-With": "fetch"}});
  }
  function press(event) {
    event.preventDefault();
    if (down) return;
    down = true;
    button.classList.add("pressed");
    post(sim.dataset.pressUrl);
  }
  function release() {
    if (!down) return;
    down = false;
    button.classList.remove("pressed");
    post(sim.dataset.releaseUrl);
  }
  button.addEventListener("pointerdown", press);
  button.addEventListener("pointerup", release);
  button.addEventListener("pointerleave", release);
  button.addEventListener("keydown", (event) => { if (event.key === " " || event.key === "Enter") press(event); });
  button.addEventListener("keyup", (event) => { if (event.key === " " || event.key === "Enter") release(); });

  async function poll() {
    try {
      const response = await fetch(sim.dataset.pinsUrl, {cache: "no-store"});
      if (response.ok) {
        const data = await response.json();
        for (const [name, value] of Object.entries(data.pins)) {
          const element = sim.querySelector(`[data-pin="${name}"] [data-value]`);
          if (element) element.textContent = String(value);
        }
        sim.querySelector("[data-sim=state]").textContent = data.state === "live" ? "LIVE" : "CUT";
        sim.querySelector("[data-sim=locked]").textContent = data.locked ? "locked" : "";
        const fault = document.querySelector("[data-sim=fault]");
        if (fault) fault.textContent = data.fault ? String(data.fault.message || data.fault) : "none";
      }
    } finally {
      window.setTimeout(poll, 500);
    }
  }
  window.setTimeout(poll, 500);
})();
