// Follows a queued or running analysis and reloads the page when it finishes.
(function () {
  const box = document.getElementById("run-status");
  if (!box || !box.querySelector("[data-progress]")) return;
  async function poll() {
    try {
      const response = await fetch(box.dataset.url, { credentials: "same-origin" });
      if (!response.ok) return;
      const state = await response.json();
      if (!state.active) { window.location.reload(); return; }
      box.querySelector("[data-progress]").value = state.progress;
      const status = box.querySelector("[data-status]");
      if (status) status.textContent = state.status;  // queued, then running
      box.querySelector("[data-stage]").textContent = state.stage || "waiting for a worker";
    } catch (err) {
      // Try again on the next tick.
    }
  }
  setInterval(poll, 2000);
})();
