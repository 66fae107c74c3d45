// Search page: drop or choose a logo, optional name, results grid with per-component score bars and, per
// result, why it ranks there: the matched points between the query and the mark, and the names compared.
"use strict";
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
let chosen = null;
let queryImage = null;  // URL of the image the current results were searched with

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function choose(file) {
  if (!file) return;
  chosen = file;
  const preview = $("preview");
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
  $("drop-hint").textContent = file.name;
}

function bar(name, value) {
  const row = document.createElement("div");
  row.className = "bar " + name;
  const pct = value === null || value === undefined ? 0 : Math.max(0, Math.min(1, value)) * 100;
  row.innerHTML = '<span></span><span class="track"><span class="fill"></span></span><span></span>';
  row.children[0].textContent = name;
  row.querySelector(".fill").style.width = pct.toFixed(1) + "%";
  row.children[2].textContent = value === null || value === undefined ? "–" : value.toFixed(2);
  return row;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

// The query (left) and the mark (right), each centred in a square as the model saw it (the points are
// fractions of that padded square), with a line per verified match.
function matchFigure(queryUrl, resultUrl, pairs) {
  const side = 100, gap = 12;
  const figure = svg("svg", { viewBox: `0 0 ${2 * side + gap} ${side}`, class: "match", role: "img" });
  figure.append(svg("title", {}));
  figure.firstChild.textContent = `${pairs.length} matched points`;
  for (const [x, url] of [[0, queryUrl], [side + gap, resultUrl]]) {
    figure.append(svg("rect", { x, y: 0, width: side, height: side, class: "frame" }));
    figure.append(svg("image", { href: url, x, y: 0, width: side, height: side, preserveAspectRatio: "xMidYMid meet" }));
  }
  for (const [qx, qy, cx, cy] of pairs) {
    const line = { x1: qx * side, y1: qy * side, x2: side + gap + cx * side, y2: cy * side };
    figure.append(svg("line", { ...line, class: "match-line" }));
    figure.append(svg("circle", { cx: line.x1, cy: line.y1, r: 1.6, class: "match-point" }));
    figure.append(svg("circle", { cx: line.x2, cy: line.y2, r: 1.6, class: "match-point" }));
  }
  return figure;
}

function textWhy(source) {
  const row = document.createElement("div");
  row.className = "why-text";
  const q = source.query === "ocr" ? "read from the query logo" : "given";
  const c = source.candidate === "ocr" ? "read from the mark" : "mark name";
  row.textContent = `“${source.query_text}” (${q}) ~ “${source.candidate_text}” (${c})`;
  return row;
}

// the figure of a composite mark: its box of the image, drawn once the image has loaded
function figureCrop(url, box, label) {
  const side = 56;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = side;
  canvas.className = "figure-crop";
  canvas.title = label;
  const image = new Image();
  image.onload = () => {
    const [x0, y0, x1, y1] = box;
    const w = x1 - x0, h = y1 - y0, scale = side / Math.max(w, h);
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, side, side);
    ctx.drawImage(image, x0, y0, w, h, (side - w * scale) / 2, (side - h * scale) / 2, w * scale, h * scale);
  };
  image.src = url;
  return canvas;
}

const ELEMENT_NAMES = { mark: "the whole mark", figure: "the figure", words: "the words" };
const PAIR_NAMES = { figure: "figure vs figure", figure_vs_mark: "query figure vs this mark",
                     mark_vs_figure: "query vs this figure" };

// which element matched, and each mark's kind, figure and words
function elementsWhy(elements, queryUrl, resultUrl) {
  const row = document.createElement("div");
  row.className = "why-elements";
  const words = m => (m && m.words && m.words.length) ? ` “${m.words.map(w => w[0]).join(" ")}”` : "";
  const pair = elements.figure_pair ? ` (${PAIR_NAMES[elements.figure_pair]})` : "";
  const text = document.createElement("div");
  text.className = "why-el";
  text.textContent = `matched on ${ELEMENT_NAMES[elements.matched] || "-"}${pair} · query: ` +
    `${elements.query ? elements.query.kind : "-"}${words(elements.query)} · this mark: ` +
    `${elements.candidate ? elements.candidate.kind : "-"}${words(elements.candidate)}`;
  row.append(text);
  if (elements.query && elements.query.figure_box && queryUrl) {
    row.append(figureCrop(queryUrl, elements.query.figure_box, "the query's figure"));
  }
  if (elements.candidate && elements.candidate.figure_box) {
    row.append(figureCrop(resultUrl, elements.candidate.figure_box, "this mark's figure"));
  }
  return row;
}

function render(data, label) {
  const grid = $("results");
  grid.replaceChildren();
  for (const r of data.results) {
    const card = document.createElement("article");
    card.className = "result";
    card.dataset.id = r.id;
    card.title = "Search by this mark";
    const img = document.createElement("img");
    img.src = r.image_url;
    img.alt = r.name || r.key;
    img.loading = "lazy";
    const title = document.createElement("div");
    title.className = "title";
    title.textContent = `#${r.rank} ${r.name || r.key}`;
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = `id ${r.id} · score ${r.score.toFixed(3)}` +
      (r.year ? ` · ${r.year}` : "") + (r.vienna_codes.length ? ` · ${r.vienna_codes.join(", ")}` : "") +
      (r.nice_classes && r.nice_classes.length ? ` · Nice ${r.nice_classes.join(", ")}` : "");
    // the codes' titles, for an examiner who does not know them by heart
    meta.title = (r.vienna || []).map(v => `${v.code} ${v.path.join(" > ") || "(no title)"}`).join("\n");
    card.append(img, title, meta);
    for (const [name, value] of Object.entries(r.components)) {
      if (value !== null) card.append(bar(name, value));
    }
    const why = r.explanation || {};
    if (why.spatial_pairs && why.spatial_pairs.length && queryImage) {
      card.append(matchFigure(queryImage, r.image_url, why.spatial_pairs));
    }
    if (why.text_source && why.text_source.candidate_text) card.append(textWhy(why.text_source));
    if (why.elements) card.append(elementsWhy(why.elements, queryImage, r.image_url));
    if (why.vienna_shared && why.vienna_shared.code) {
      const shared = document.createElement("div");
      shared.className = "why-text";
      shared.textContent = `shares Vienna ${why.vienna_shared.code} ${why.vienna_shared.title || ""}`;
      card.append(shared);
    }
    card.addEventListener("click", () => searchById(r.id, r.name || r.key, r.image_url));
    grid.append(card);
  }
  const total = data.timings_ms.total ? ` in ${data.timings_ms.total.toFixed(0)} ms` : "";
  const read = data.query_text_source === "ocr" ? ` · name read from the logo: “${data.query_text}”` : "";
  setStatus(`${data.results.length} results for ${label}${total} (index ${data.index_version})${read}`);
}

async function call(url, options, label) {
  setStatus("Searching…");
  try {
    const response = await fetch(url, options);
    const data = await response.json();
    if (!response.ok) {
      const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
      setStatus(`Error ${response.status}: ${detail}`, true);
      return;
    }
    render(data, label);
  } catch (err) {
    setStatus("The service did not answer: " + err, true);
  }
}

function filters(params) {
  params.set("k", $("k").value || "20");
  if ($("vienna").value.trim()) params.set("vienna", $("vienna").value.trim());
  if ($("nice").value.trim()) params.set("nice", $("nice").value.trim());
  for (const id of ["year_from", "year_to"]) if ($(id).value) params.set(id, $(id).value);
  params.set("rerank", $("rerank").checked ? "true" : "false");
  return params;
}

function search(event) {
  event.preventDefault();
  const form = new FormData();
  const text = $("text").value.trim();
  if (!chosen && !text) {
    setStatus("Choose a logo or type a mark name.", true);
    return;
  }
  if (chosen) form.append("image", chosen);
  queryImage = chosen ? $("preview").src : null;
  if (text) form.append("text", text);
  if ($("classes").value.trim()) form.append("classes", $("classes").value.trim());  // scored, not a filter
  for (const [key, value] of filters(new URLSearchParams())) form.append(key, value);
  call("search", { method: "POST", body: form }, chosen ? chosen.name : `"${text}"`);
}

function searchById(id, label, imageUrl) {
  const params = filters(new URLSearchParams());
  queryImage = imageUrl;
  call(`search/by-id/${id}?${params}`, { method: "POST" }, label);
}

const drop = $("drop");
drop.addEventListener("click", (e) => { if (e.target.tagName !== "LABEL") $("file").click(); });
drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") $("file").click(); });
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  choose(e.dataTransfer.files[0]);
});
$("file").addEventListener("change", (e) => choose(e.target.files[0]));
$("query").addEventListener("submit", search);
$("clear").addEventListener("click", () => {
  chosen = null;
  $("file").value = "";
  $("preview").hidden = true;
  $("drop-hint").innerHTML = 'Drop a logo here, or <label for="file" class="link">choose a file</label>';
  $("results").replaceChildren();
  setStatus("");
});
fetch("stats").then((r) => r.ok ? r.json() : null).then((s) => {
  if (s) $("stats").textContent = `${s.items} marks · ${s.index_type} · version ${s.index_version}`;
}).catch(() => {});
