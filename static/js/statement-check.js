// Live statement check: as the researcher types, ask the API for the parts and findings.
// The page works without this script (findings show after submit); this only saves a round trip.
(function () {
  const input = document.querySelector("[data-statement-input]");
  const box = document.getElementById("statement-findings");
  if (!input || !box) return;
  const form = input.closest("form");
  const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  let timer = null;
  let latest = 0;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.assign(node, attrs || {});
    if (text !== undefined) node.textContent = text; // textContent: statements are never HTML
    return node;
  }

  function render(result) {
    box.replaceChildren();
    const parts = el("dl", { className: "parts" });
    [["Direction", "direction"], ["Metric", "metric"], ["Object of control", "object_of_control"],
     ["Clarifier", "clarifier"]].forEach(([label, key]) => {
      parts.append(el("dt", {}, label), el("dd", {}, result.parts[key] || "—"));
    });
    const list = el("ul", { className: "findings" });
    if (!result.findings.length) list.append(el("li", { className: "ok" }, "Well formed: no findings."));
    result.findings.forEach((f) => {
      const item = el("li", { className: f.severity });
      item.append(el("strong", {}, f.severity === "error" ? "Error: " : "Warning: "), f.message);
      list.append(item);
    });
    box.append(parts, list);
  }

  async function check() {
    const ticket = ++latest;
    const body = { statement: input.value, job: Number(form.dataset.job) };
    if (form.dataset.excludeCode) body.exclude_code = form.dataset.excludeCode;
    try {
      const response = await fetch(form.dataset.checkUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        credentials: "same-origin",
        body: JSON.stringify(body),
      });
      if (response.ok && ticket === latest) render(await response.json());
    } catch (err) {
      // Offline or server busy: the server-side check on submit still applies.
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, 250);
  });
  if (input.value) check();
})();
