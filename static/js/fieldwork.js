// Keeps the fieldwork figures current while the page is open (the page works without it).
(function () {
  const root = document.getElementById("fieldwork");
  if (!root) return;
  async function refresh() {
    try {
      const response = await fetch(root.dataset.url, { credentials: "same-origin" });
      if (!response.ok) return;
      const stats = await response.json();
      root.querySelectorAll("[data-k]").forEach((el) => {
        const value = stats[el.dataset.k];
        el.textContent = value === null || value === undefined ? "—" : String(value);
      });
      const bar = document.getElementById("target-progress");
      if (bar && stats.target_percent !== null) bar.value = stats.target_percent;
      root.querySelectorAll("[data-drop]").forEach((el) => {
        const row = stats.dropoff[Number(el.dataset.drop)];
        if (row) el.textContent = String(row.stopped);
      });
    } catch (err) {
      // Network hiccup: try again on the next tick.
    }
  }
  setInterval(refresh, 10000);
})();
