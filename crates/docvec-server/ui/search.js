// The search box and its results: searches as you type (debounced, the stale request aborted),
// mode, format, tag and k as POST /search takes them, each hit with its snippet and a link that
// opens its span of the source in a dialog (#chunk/ID, so the link also works in a new tab).
// Server text is only ever set as text nodes; <mark> elements are made here from byte ranges.

import { ApiError, getJson } from "./api.js";

const $ = (id) => document.getElementById(id);
const DEBOUNCE_MS = 250;
const SNIPPET_CHARS = 240;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const selectedFormats = new Set();
let inFlight = null;
let timer = 0;
// The source view being fetched: opening another (or closing the dialog) aborts it, so a slow
// earlier answer can never replace the one asked for last.
let sourceInFlight = null;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function fileName(path) {
  return path.split(/[\\/]/).pop() || path;
}

// Highlights are byte ranges of the UTF-8 fragment (search.rs); cutting the bytes keeps them exact
// for any script, where string indices (UTF-16) would drift after the first non-ASCII character.
function appendMarked(parent, fragment, highlights) {
  const bytes = encoder.encode(fragment);
  // Blank lines between paragraphs would make a two-line snippet five lines tall.
  const text = (from, to) => decoder.decode(bytes.subarray(from, to)).replace(/\n\s*\n/g, "\n");
  let at = 0;
  for (const [start, end] of highlights || []) {
    if (start < at || end > bytes.length || end <= start) continue;
    parent.append(text(at, start), el("mark", "", text(start, end)));
    at = end;
  }
  parent.append(text(at, bytes.length));
}

function where(hit) {
  const parts = [];
  if (hit.section) parts.push(hit.section);
  parts.push(fileName(hit.document_path));
  const span = hit.span || {};
  if (span.line_start) {
    parts.push(span.line_end > span.line_start ? `lines ${span.line_start}–${span.line_end}` : `line ${span.line_start}`);
  }
  if (hit.page) parts.push(`page ${hit.page}`);
  if (span.operation) parts.push(`${span.operation.method} ${span.operation.path}`);
  if (span.rows) parts.push(`rows ${span.rows.first_row}–${span.rows.last_row}`);
  return parts.join(" · ");
}

function renderHit(hit) {
  const li = el("li", "hit");
  li.dataset.chunkId = hit.chunk_id;
  li.dataset.documentId = hit.document_id;
  li.dataset.format = hit.format;
  li.dataset.path = hit.document_path;
  const head = el("div", "hit-head");
  const title = el("a", "hit-title", hit.document_title || fileName(hit.document_path));
  title.href = `#chunk/${hit.chunk_id}`;
  head.append(title, el("span", "badge", hit.format), el("span", "score", hit.score.toFixed(3)));
  const snippet = el("p", "snippet");
  if (hit.snippet) {
    appendMarked(snippet, hit.snippet.fragment, hit.snippet.highlights);
  } else {
    // No query word stands in this chunk (a match by meaning): its opening words instead.
    const text = (hit.text || "").replace(/\s+/g, " ").trim();
    snippet.textContent = text.length > SNIPPET_CHARS ? text.slice(0, SNIPPET_CHARS) + "…" : text;
  }
  const open = el("a", "open-source", "Open source span");
  open.href = `#chunk/${hit.chunk_id}`;
  li.append(head, el("p", "hit-where", where(hit)), snippet, open);
  return li;
}

function currentRequest() {
  const tag = $("tag-filter").value.trim();
  const k = Math.min(100, Math.max(1, parseInt($("k").value, 10) || 10));
  const filters = {};
  if (selectedFormats.size) filters.format = [...selectedFormats];
  if (tag) filters.tags = tag.split(",").map((t) => t.trim()).filter(Boolean);
  return {
    query: $("q").value.trim(),
    k,
    mode: document.querySelector('input[name="mode"]:checked').value,
    filters,
    highlight: true,
    snippet_chars: SNIPPET_CHARS,
  };
}

export async function runSearch() {
  clearTimeout(timer);
  const req = currentRequest();
  const list = $("results");
  const meta = $("results-meta");
  if (inFlight) inFlight.abort();
  if (!req.query) {
    inFlight = null;
    list.replaceChildren();
    list.dataset.state = "idle";
    meta.textContent = "";
    return;
  }
  const controller = new AbortController();
  inFlight = controller;
  list.dataset.state = "loading";
  list.setAttribute("aria-busy", "true");
  try {
    const answer = await getJson("/search", { method: "POST", json: req, signal: controller.signal });
    if (inFlight !== controller) return;
    list.replaceChildren(...answer.hits.map(renderHit));
    if (!answer.hits.length) list.append(el("li", "empty", "No hits. Try another mode or fewer filters."));
    const took = `${Math.round(answer.took_ms)} ms`;
    meta.textContent = `${answer.hits.length} hit${answer.hits.length === 1 ? "" : "s"} · ${answer.mode} · ${took}`;
    if (answer.warning) meta.append(el("span", "warn", ` · ${answer.warning}`));
    // What the list now shows, for anyone (a test, a script) waiting on a particular answer.
    Object.assign(list.dataset, {
      state: "done",
      query: req.query,
      mode: answer.mode,
      formats: (req.filters.format || []).join(","),
      tags: (req.filters.tags || []).join(","),
    });
  } catch (err) {
    if (err.name === "AbortError" || inFlight !== controller) return;
    list.replaceChildren();
    list.dataset.state = "error";
    meta.replaceChildren(el("span", "error", err instanceof ApiError ? err.message : String(err)));
  } finally {
    if (inFlight === controller) {
      inFlight = null;
      list.removeAttribute("aria-busy");
    }
  }
}

function soon() {
  clearTimeout(timer);
  timer = setTimeout(runSearch, DEBOUNCE_MS);
}

// The format chips: the formats stored now (GET /tags?kind=format), any number selected.
export function showFormats(items) {
  const box = $("format-filters");
  box.replaceChildren(el("span", "chips-label", "Format"));
  for (const { name, documents } of items) {
    const chip = el("button", "chip", name);
    chip.type = "button";
    chip.dataset.format = name;
    chip.title = `${documents} document${documents === 1 ? "" : "s"}`;
    chip.setAttribute("aria-pressed", String(selectedFormats.has(name)));
    chip.addEventListener("click", () => {
      if (selectedFormats.has(name)) selectedFormats.delete(name);
      else selectedFormats.add(name);
      chip.setAttribute("aria-pressed", String(selectedFormats.has(name)));
      runSearch();
    });
    box.append(chip);
  }
}

// Suggestions for the tag filter: the tags given at ingest (any tag or keyphrase may be typed).
export function showTags(items) {
  $("tag-options").replaceChildren(...items.map(({ name }) => Object.assign(el("option"), { value: name })));
}

function abortSource() {
  if (sourceInFlight) sourceInFlight.abort();
  sourceInFlight = null;
}

// The source viewer: #chunk/ID opens a hit's span, #document/ID a document's beginning.
async function openSource() {
  abortSource();
  const dialog = $("source-dialog");
  const m = /^#(chunk|document)\/(.+)$/.exec(location.hash);
  if (!m) {
    if (dialog.open) dialog.close();
    return;
  }
  const [, kind, id] = m;
  const path = kind === "chunk"
    ? `/chunks/${encodeURIComponent(id)}/source?context=1500`
    : `/documents/${encodeURIComponent(id)}/source?start=0&end=0&context=6000`;
  $("source-title").textContent = "Loading…";
  $("source-where").textContent = "";
  $("source-text").replaceChildren();
  dialog.dataset.state = "loading";
  if (!dialog.open) dialog.showModal();
  const controller = new AbortController();
  sourceInFlight = controller;
  try {
    const view = await getJson(path, { signal: controller.signal });
    if (sourceInFlight !== controller) return;
    $("source-title").textContent = fileName(view.path);
    const parts = [view.path, `${view.format}`];
    if (view.line_start) parts.push(`lines ${view.line_start}–${view.line_end}`);
    const span = (view.chunk && view.chunk.span) || {};
    if (span.page_start) parts.push(span.page_end > span.page_start ? `pages ${span.page_start}–${span.page_end}` : `page ${span.page_start}`);
    if (span.operation) parts.push(`${span.operation.method} ${span.operation.path}`);
    if (span.rows) parts.push(`rows ${span.rows.first_row}–${span.rows.last_row}`);
    if (view.chunk && view.chunk.section) parts.push(view.chunk.section);
    $("source-where").textContent = parts.join(" · ");
    const mark = el("mark", "span", view.text);
    const pre = $("source-text");
    pre.replaceChildren(view.before, mark, view.after);
    // Offsets are bytes of the stored text: say when there is more of it on either side.
    if (view.context_start > 0) pre.prepend(el("span", "more", "…\n"));
    if (view.end + encoder.encode(view.after).length < view.total_bytes) {
      pre.append(el("span", "more", "\n…"));
    }
    dialog.dataset.state = "done";
    mark.scrollIntoView({ block: "center" });
  } catch (err) {
    if (err.name === "AbortError" || sourceInFlight !== controller) return;
    $("source-title").textContent = "Cannot open the source";
    $("source-where").textContent = err.message;
    dialog.dataset.state = "error";
  } finally {
    if (sourceInFlight === controller) sourceInFlight = null;
  }
}

function closeSource() {
  // replaceState fires no hashchange, so the fetch of a view no longer wanted is stopped here.
  abortSource();
  // Drop the #chunk/ID from the address without a new history entry.
  history.replaceState(null, "", location.pathname + location.search);
  $("source-dialog").close();
}

export function setUpSearch() {
  $("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    runSearch();
  });
  $("q").addEventListener("input", soon);
  $("tag-filter").addEventListener("input", soon);
  $("k").addEventListener("change", runSearch);
  for (const radio of document.querySelectorAll('input[name="mode"]')) {
    radio.addEventListener("change", runSearch);
  }
  const dialog = $("source-dialog");
  dialog.querySelector("[data-close]").addEventListener("click", closeSource);
  dialog.addEventListener("cancel", (e) => {
    e.preventDefault();
    closeSource();
  });
  dialog.addEventListener("click", (e) => {
    if (e.target === dialog) closeSource(); // a click on the backdrop
  });
  window.addEventListener("hashchange", openSource);
  if (location.hash) openSource();
}
