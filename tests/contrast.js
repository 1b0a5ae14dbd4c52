// WCAG 2.x contrast of every visible piece of text on the page, from the rendered colours.
// Returns the texts below AA (4.5:1; 3:1 for large text): [{text, ratio, need, fg, bg, where}].
// The foreground is the element's color (its alpha and every ancestor's opacity blended
// over the background); the background is the stack of ancestor background colours (and
// the worst colour of any gradient) blended over the page. Placeholders are checked too.
(root) => {
  const parse = (value) => {
    const m = value.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a), a: 1,
  });
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const ratio = (a, b) => {
    const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const hex = (c) => "#" + [c.r, c.g, c.b].map((v) => Math.round(v).toString(16).padStart(2, "0")).join("");
  const page = () => {
    const s = getComputedStyle(document.body);
    const c = parse(s.backgroundColor);
    return c && c.a > 0 ? over(c, { r: 255, g: 255, b: 255, a: 1 }) : { r: 255, g: 255, b: 255, a: 1 };
  };
  // the backgrounds behind el: each candidate is one solid colour (a gradient gives several)
  const backgrounds = (el) => {
    const layers = [];
    for (let e = el; e && e !== document.documentElement; e = e.parentElement) {
      const s = getComputedStyle(e);
      const stops = (s.backgroundImage.match(/rgba?\([^)]+\)/g) || []).map(parse);
      const colour = parse(s.backgroundColor);
      layers.push({ stops, colour });
      if ((colour && colour.a >= 1) || stops.length) break;
    }
    let results = [page()];
    for (const { stops, colour } of layers.reverse()) {
      if (colour && colour.a > 0) results = results.map((base) => over(colour, base));
      if (stops.length) results = stops.flatMap((stop) => results.map((base) => over(stop, base)));
    }
    return results;
  };
  const opacity = (el) => {
    let o = 1;
    for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
    return o;
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && !el.closest("[hidden]");
  };
  const large = (s) => {
    const px = parseFloat(s.fontSize);
    return px >= 24 || (px >= 18.66 && Number(s.fontWeight) >= 700);
  };
  const check = (el, colourValue, text, out) => {
    const s = getComputedStyle(el);
    const fg0 = parse(colourValue);
    if (!fg0) return;
    const need = large(s) ? 3 : 4.5;
    for (const bg of backgrounds(el)) {
      const fg = over({ ...fg0, a: fg0.a * opacity(el) }, bg);
      const r = ratio(fg, bg);
      if (r < need) {
        out.push({ text: text.trim().slice(0, 60), ratio: Math.round(r * 100) / 100, need,
                   fg: hex(fg), bg: hex(bg), where: el.id || el.className || el.tagName });
        return;
      }
    }
  };
  const out = [];
  const scope = root || document.body;
  for (const el of scope.querySelectorAll("*")) {
    if (!visible(el) || el.closest("svg, [aria-hidden=true]")) continue;
    if (el.disabled || el.closest("[aria-disabled=true]")) continue;  // WCAG exempts inactive
    const own = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.nodeValue).join("");
    if (own.trim()) check(el, getComputedStyle(el).color, own, out);
    if ((el.tagName === "TEXTAREA" || el.tagName === "INPUT") && el.placeholder && !el.value) {
      check(el, getComputedStyle(el, "::placeholder").color, `placeholder: ${el.placeholder}`, out);
    }
  }
  return out;
}
