() => {
  const parse = (s) => { const m = s.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, bottom) => { const a = top[3]; return [0,1,2].map(i => top[i]*a + bottom[i]*(1-a)).concat([1]); };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v/12.92 : Math.pow((v+0.055)/1.055, 2.4); };
    return 0.2126*f(c[0]) + 0.7152*f(c[1]) + 0.0722*f(c[2]); };
  const background = (el) => { const layers = []; const r = el.getBoundingClientRect();
    const stack = document.elementsFromPoint(r.left + r.width / 2, r.top + r.height / 2).filter(e => !el.contains(e) || e === el);
    for (const e of stack) {
      const c = parse(getComputedStyle(e).backgroundColor); if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
    let bg = [255,255,255,1]; for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg); return bg; };
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const node = walker.currentNode; const text = node.textContent.trim(); if (!text) continue;
    const el = node.parentElement; if (!el || seen.has(el)) continue; seen.add(el);
    const rect = el.getBoundingClientRect(); if (rect.width <= 1 || rect.height <= 1 || rect.bottom <= 0 || rect.right <= 0) continue;
    // What is drawn behind a text is read at its centre: one outside the window cannot be read there.
    const cx = rect.left + rect.width / 2, cy = rect.top + rect.height / 2;
    if (cy < 0 || cx < 0 || cy >= innerHeight || cx >= innerWidth) continue;
    // A text covered at its centre by another element (the page's sticky header) is not seen there.
    const top = document.elementFromPoint(rect.left + rect.width / 2, rect.top + rect.height / 2);
    if (top && !el.contains(top) && !top.contains(el)) continue;
    const style = getComputedStyle(el); if (style.visibility === 'hidden' || style.display === 'none') continue;
    if (el.closest('[disabled], [aria-disabled="true"]')) continue;
    let opacity = 1; for (let e = el; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
    if (opacity === 0) continue;
    const bg = background(el); let fg = parse(style.color); fg = over([fg[0], fg[1], fg[2], fg[3]*opacity], bg);
    const l1 = lum(fg), l2 = lum(bg); const ratio = (Math.max(l1,l2)+0.05)/(Math.min(l1,l2)+0.05);
    out.push({text: text.slice(0, 40), ratio: Math.round(ratio*100)/100, fg: style.color, bg: 'rgb(' + bg.slice(0,3).map(Math.round).join(',') + ')', tag: el.tagName, testid: (el.closest('[data-testid]')||{}).dataset?.testid});
  }
  return out;
}
