// Live character counter for fields with data-max-chars (jtbd/forms.py CountedCharField).
// The field has no maxlength, so pasted text is never cut silently: the counter says how far
// over the limit it is, and the server refuses an over-long value with the same numbers.
(function () {
  // What the server counts: code points after trimming, a line break as the two characters
  // (CR LF) a form submits.
  function length(value) {
    return Array.from(value.trim().replace(/\r?\n/g, "\r\n")).length;
  }

  function chars(n) {
    return n === 1 ? "1 character" : `${n} characters`;
  }

  function describe(count, limit) {
    if (count > limit) {
      const over = count - limit;
      return `${count} / ${limit} characters: ${over} over the limit. Shorten it to save.`;
    }
    return `${count} / ${limit} characters`;
  }

  // What a screen reader hears: only a change of state (near the limit, over it, back under),
  // not every keystroke.
  function announcement(count, limit) {
    if (count > limit) return `${chars(count - limit)} over the limit of ${limit}.`;
    if (count > limit * 0.9) return `${chars(limit - count)} left.`;
    return "";
  }

  document.querySelectorAll("[data-max-chars]").forEach((input) => {
    const limit = Number(input.dataset.maxChars);
    const counter = document.createElement("span");
    counter.className = "char-count small";
    counter.id = `${input.id}-count`;
    const live = document.createElement("span");
    live.className = "skip";
    live.setAttribute("aria-live", "polite");
    input.after(counter, live);
    const described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", described ? `${described} ${counter.id}` : counter.id);
    let state = "";

    function update() {
      const count = length(input.value);
      const over = count > limit;
      counter.textContent = describe(count, limit);
      counter.classList.toggle("over", over);
      if (over) input.setAttribute("aria-invalid", "true");
      else if (!input.closest(".field")?.querySelector(".errorlist")) input.removeAttribute("aria-invalid");
      const next = over ? "over" : count > limit * 0.9 ? "near" : "ok";
      if (next !== state) {
        live.textContent = announcement(count, limit);
        state = next;
      }
    }

    input.addEventListener("input", update);
    update();
  });
})();
