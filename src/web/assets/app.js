// knockoff review UI: keyboard review of the queue. Plain forms do the
// work; this only moves the focus and submits them.
(function () {
  "use strict";
  const cards = Array.from(document.querySelectorAll("li.match"));
  const help = document.getElementById("help");
  let current = Math.max(0, cards.findIndex((c) => "#" + c.id === location.hash));

  function focus(n) {
    if (!cards.length) return;
    current = Math.max(0, Math.min(cards.length - 1, n));
    cards.forEach((c) => c.classList.remove("current"));
    cards[current].classList.add("current");
    cards[current].scrollIntoView({ block: "nearest" });
  }

  // After an action the server returns here, at the card that followed.
  function submit(form) {
    const next = cards[current + 1] || cards[current - 1];
    const field = form.querySelector("input[name=next]");
    if (field && next) field.value = next.dataset.id;
    form.submit();
  }

  function action(name) {
    const card = cards[current];
    const form = card && card.querySelector("form[data-action=" + name + "]");
    if (form) submit(form);
  }

  function open(kind, field) {
    const card = cards[current];
    const details = card && card.querySelector("details." + kind);
    if (!details) return;
    details.open = true;
    const input = details.querySelector(field);
    if (input) input.focus();
  }

  // Zoom: the photos at their own size over the page; a click or Esc closes.
  let zoomed = null;
  function unzoom() { if (zoomed) { zoomed.remove(); zoomed = null; } }
  function zoom(images) {
    unzoom();
    if (!images.length) return;
    zoomed = document.createElement("div");
    zoomed.className = "zoomed";
    images.forEach((img) => {
      const big = document.createElement("img");
      big.src = img.src; big.alt = img.alt;
      zoomed.appendChild(big);
    });
    zoomed.addEventListener("click", unzoom);
    document.body.appendChild(zoomed);
  }
  document.querySelectorAll("img.zoom").forEach((img) => img.addEventListener("click", (e) => {
    e.stopPropagation();
    const group = img.closest("figure.pair, div.pairs, div.photos");
    zoom(group ? Array.from(group.querySelectorAll("img.zoom")) : [img]);
  }));

  cards.forEach((card, n) => card.addEventListener("click", () => focus(n)));
  document.querySelectorAll("details.dismiss input[name=other], details.note input[name=note]").forEach((input) => {
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && input.value.trim()) { e.preventDefault(); submit(input.form); }
    });
  });
  const helpButton = document.getElementById("help-button");
  if (helpButton && help) helpButton.addEventListener("click", () => { help.hidden = !help.hidden; });

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const typing = e.target.matches("input, textarea, select");
    if (e.key === "Escape") {
      unzoom();
      if (help) help.hidden = true;
      document.querySelectorAll("details[open]").forEach((d) => { d.open = false; });
      if (typing) e.target.blur();
      return;
    }
    // d focuses the reason box; a digit typed first there picks a listed
    // reason (as the help says), anything else is the reviewer's own.
    const dismissing = cards[current] && cards[current].querySelector("details.dismiss[open]");
    const emptyReasonBox = typing && e.target.name === "other" && !e.target.value;
    if (dismissing && /^[1-9]$/.test(e.key) && (!typing || emptyReasonBox)) {
      const reason = dismissing.querySelector("button[data-key='" + e.key + "']");
      if (reason) {
        e.preventDefault();
        const form = dismissing.querySelector("form");
        const chosen = document.createElement("input");
        chosen.type = "hidden"; chosen.name = "reason"; chosen.value = reason.value;
        form.appendChild(chosen);
        submit(form);
      }
      return;
    }
    if (typing) return;
    switch (e.key) {
      case "j": case "ArrowRight": focus(current + 1); break;
      case "k": case "ArrowLeft": focus(current - 1); break;
      case "u": {
        const undo = document.querySelector("form.undo");
        if (undo) undo.submit();
        break;
      }
      case "z": {
        if (zoomed) { unzoom(); break; }
        const scope = document.querySelector("figure.pair") || cards[current];
        if (scope) zoom(Array.from(scope.querySelectorAll("img.zoom")));
        break;
      }
      case "c": action("confirm"); break;
      case "e": action("escalate"); break;
      case "d": e.preventDefault(); open("dismiss", "input[name=other]"); break;
      case "n": e.preventDefault(); open("note", "input[name=note]"); break;
      case "x": {
        const box = cards[current] && cards[current].querySelector("input.select");
        if (box) box.checked = !box.checked;
        break;
      }
      case "o": {
        const link = cards[current] && cards[current].querySelector("a.live");
        if (link) window.open(link.href, "_blank", "noopener,noreferrer");
        break;
      }
      case "/": {
        const search = document.getElementById("search");
        if (search) { e.preventDefault(); search.focus(); search.select(); }
        break;
      }
      case "?": if (help) help.hidden = !help.hidden; break;
      default: return;
    }
  });
  focus(current);
})();
