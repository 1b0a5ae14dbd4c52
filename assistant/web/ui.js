() => {
  // The page's own behaviour on top of Gradio:
  // - every "[n]" in the assistant's messages becomes a button (reached with Tab, named
  //   "Sumber n") that brings up source n of that message's answer in the evidence panel,
  //   on click, Enter, focus or hover;
  // - a new answer's sources open at the top of the evidence panel;
  // - the page's language (the evidence panel's data-lang) is also Gradio's locale, so
  //   <html lang> and Gradio's own labels ("Letakkan File di Sini", the chat's icons)
  //   follow the language switch; the few labels Gradio hard-codes in English are set here.
  const WORDS = /*LABELS*/{};  // filled in by ui.py from i18n.py: labels, gradio, stock
  const LABELS = WORDS.labels || {};
  const GRADIO = WORDS.gradio || {};
  const KNOWN = new Map();  // any of Gradio's words, ours or its stock ones -> its key
  for (const [key, stock] of Object.entries(WORDS.stock || {})) stock.forEach((w) => KNOWN.set(w, key));
  for (const words of Object.values(GRADIO)) {
    for (const [key, word] of Object.entries(words)) KNOWN.set(word, key);
  }
  const BOT = '[data-testid="bot"]';
  const MARKER = /\[(\d+)\]/g;
  const EXAMPLE = /^Select example (\d+): (.*)$/s;
  let locale = null;  // a language change under way
  let panelSeen = null;

  const lang = () => document.querySelector("#evidence .evidence")?.dataset.lang || "id";
  const say = (key, values = {}) =>
    ((LABELS[lang()] || {})[key] || "").replace(/\{(\w+)\}/g, (_, k) => values[k] ?? "");
  const setLabel = (el, label) => {
    if (label && el.getAttribute("aria-label") !== label) el.setAttribute("aria-label", label);
  };

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
        const ref = document.createElement("button");
        ref.type = "button";
        ref.className = "cite-ref";
        ref.dataset.n = n;
        ref.textContent = match;
        parts.append(ref);
        last = offset + match.length;
      });
      parts.append(node.nodeValue.slice(last));
      node.replaceWith(parts);
    }
    root.querySelectorAll(".cite-ref").forEach((ref) => setLabel(ref, say("cite", { n: ref.dataset.n })));
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

  // Gradio's locale store is exported by its core module (changeLocale), already loaded;
  // the store writes <html lang>. Gradio may set its own locale (the browser's) after this
  // script first runs, so update() compares <html lang> again on every change.
  async function setLocale(code) {
    const core = performance.getEntriesByType("resource").map((e) => e.name)
      .find((name) => /\/assets\/core-[^/]*\.js$/.test(name));
    try {
      const module = core && (await import(core));
      if (module && module.changeLocale) await module.changeLocale(code);
    } catch (error) {
      console.warn("could not set Gradio's language", error);
    }
    if (document.documentElement.lang !== code) document.documentElement.lang = code;
  }

  function relabel() {
    document.querySelectorAll('#chat [role="log"]').forEach((log) => setLabel(log, say("chat")));
    document.querySelectorAll("fieldset#language").forEach((group) => setLabel(group, say("language")));
    document.querySelectorAll("#chat button[aria-label]").forEach((button) => {
      const m = button.getAttribute("aria-label").match(EXAMPLE);
      if (m) setLabel(button, say("example", { n: m[1], text: m[2] }));
    });
    // Gradio draws its own words once, in its locale of that moment: put them in ours
    const gradioWord = (text) => (GRADIO[lang()] || {})[KNOWN.get(text)];
    document.querySelectorAll("#chat button[aria-label]").forEach((button) => {
      const word = gradioWord(button.getAttribute("aria-label"));
      if (word) { setLabel(button, word); if (button.title !== word) button.title = word; }
    });
    const area = document.querySelector("#uploads");
    const walker = area && document.createTreeWalker(area, NodeFilter.SHOW_TEXT);
    while (walker && walker.nextNode()) {
      const node = walker.currentNode;
      const text = node.nodeValue.trim();
      const word = text && gradioWord(text);
      if (word && word !== text) node.nodeValue = node.nodeValue.replace(text, word);
    }
    // Gradio names each message "bot's message: <its markdown>"; let its text speak
    document.querySelectorAll('#chat [data-testid="bot"][aria-label], #chat [data-testid="user"][aria-label]')
      .forEach((message) => message.removeAttribute("aria-label"));
  }

  function update() {
    const code = lang();
    if (document.documentElement.lang !== code && !locale) {
      locale = setLocale(code).finally(() => { locale = null; });
    }
    // Gradio patches the panel in place, keeping its scroll position: a new answer (or a
    // new chat, another language) must start at its first source
    const panel = document.querySelector("#evidence .evidence");
    const shown = panel && [...panel.querySelectorAll(".ev-turn")]
      .map((s) => `${s.dataset.turn}:${s.firstElementChild?.textContent}`).join("|") + code;
    if (panel && shown !== panelSeen) {
      panelSeen = shown;
      panel.scrollTop = 0;
    }
    bots().forEach(wrap);
    relabel();
  }

  const on = (type, handler) => document.addEventListener(type, (event) => {
    const ref = event.target.closest && event.target.closest(".cite-ref");
    if (ref) handler(ref);
  });
  on("click", (ref) => show(ref, true));
  on("mouseover", (ref) => show(ref, true));
  on("focusin", (ref) => show(ref, true));

  let queued = false;
  const observer = new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; update(); });
  });
  observer.observe(document.body, {
    childList: true, subtree: true, characterData: true,
    attributes: true, attributeFilter: ["aria-label", "data-lang"],
  });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ["lang"] });
  update();
}
