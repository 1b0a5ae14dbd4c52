() => {
  // Turn every "[n]" in the assistant's messages into a marker that brings up source n of
  // that message's answer in the evidence panel (on click or hover).
  const BOT = '[data-testid="bot"]';
  const MARKER = /\[(\d+)\]/g;

  function wrap(root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const nodes = [];
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (MARKER.test(node.nodeValue) && !node.parentElement.closest(".cite-ref")) nodes.push(node);
      MARKER.lastIndex = 0;
    }
    for (const node of nodes) {
      const parts = document.createDocumentFragment();
      let last = 0;
      node.nodeValue.replace(MARKER, (match, n, offset) => {
        parts.append(node.nodeValue.slice(last, offset));
        const ref = document.createElement("span");
        ref.className = "cite-ref";
        ref.dataset.n = n;
        ref.textContent = match;
        parts.append(ref);
        last = offset + match.length;
      });
      parts.append(node.nodeValue.slice(last));
      node.replaceWith(parts);
    }
  }

  function bots() {
    return [...document.querySelectorAll(BOT)].filter((el) => !el.parentElement.closest(BOT));
  }

  function show(ref, scroll) {
    const message = ref.closest(BOT);
    const turn = bots().indexOf(message);
    const panel = document.querySelector("#evidence .evidence");
    if (!panel || turn < 0) return;
    const section = panel.querySelector(`.ev-turn[data-turn="${turn}"]`);
    if (!section) return;
    panel.querySelectorAll(".ev-turn").forEach((s) => { s.hidden = s !== section; });
    const card = section.querySelector(`.ev-card[data-n="${ref.dataset.n}"]`);
    panel.querySelectorAll(".ev-card.active").forEach((c) => c.classList.remove("active"));
    if (!card) return;
    card.classList.add("active");
    const mark = card.querySelector(".ev-passage mark");
    if (mark && !ref.title) ref.title = mark.textContent;
    if (scroll) card.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  document.addEventListener("click", (event) => {
    const ref = event.target.closest && event.target.closest(".cite-ref");
    if (ref) show(ref, true);
  });
  document.addEventListener("mouseover", (event) => {
    const ref = event.target.closest && event.target.closest(".cite-ref");
    if (ref) show(ref, true);
  });
  new MutationObserver(() => bots().forEach(wrap)).observe(document.body, {
    childList: true, subtree: true, characterData: true,
  });
}
