// What is stored: uploads (dropped or picked files, POST /documents as multipart `file`, `tag`,
// `metadata`), each upload's job followed live from its event stream, and the documents list with
// a delete per document. `onChange` runs after anything here changed the data (app.js refreshes
// the search, the filters and the status then).

import { followEvents, getJson, request } from "./api.js";

const $ = (id) => document.getElementById(id);
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const PAGE = 50;

let onChange = () => {};
let nextCursor = null;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function fileName(path) {
  return path.split(/[\\/]/).pop() || path;
}

function showError(id, message) {
  const box = $(id);
  box.textContent = message || "";
  box.hidden = !message;
}

// ---- uploads -------------------------------------------------------------------------------

async function upload(files) {
  // A dropped folder arrives as an empty, untyped entry, as does an empty file of an unknown type;
  // neither is sent, and the note names them so nothing goes missing without a word.
  const sendable = (f) => f.size > 0 || f.type;
  const skipped = [...files].filter((f) => !sendable(f)).map((f) => f.name);
  files = [...files].filter(sendable);
  const note = skipped.length
    ? `Skipped ${skipped.join(", ")}: 0 bytes (an empty file or a folder), nothing to upload.`
    : "";
  // Kept in front of any later error, which would otherwise replace it.
  const fail = (message) => showError("upload-error", [note, message].filter(Boolean).join(" "));
  fail("");
  if (!files.length) return;
  const form = new FormData();
  for (const file of files) form.append("file", file, file.name);
  for (const tag of $("upload-tag").value.split(",").map((t) => t.trim()).filter(Boolean)) {
    form.append("tag", tag);
  }
  const meta = $("upload-meta").value.trim();
  if (meta) {
    // Checked here too so a typo is named before the files travel; the server checks it again.
    let parsed;
    try {
      parsed = JSON.parse(meta);
    } catch (err) {
      fail(`Metadata is not JSON: ${err.message}`);
      return;
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      fail("Metadata must be a JSON object, like {\"team\": \"docs\"}");
      return;
    }
    form.append("metadata", meta);
  }
  try {
    const accepted = await getJson("/documents", { method: "POST", body: form });
    followJob(accepted);
  } catch (err) {
    fail(err.message);
  }
}

function setState(node, state) {
  node.dataset.state = state;
  node.querySelector(".state").textContent = state;
}

function summary(job) {
  const r = job.result;
  if (!r) return job.error || "";
  const parts = [`${r.added} added`, `${r.updated} updated`, `${r.unchanged} unchanged`];
  if (r.failed) parts.push(`${r.failed} failed`);
  if (r.elapsed_ms !== undefined) parts.push(`${(r.elapsed_ms / 1000).toFixed(1)} s`);
  return parts.join(" · ");
}

// A card for the upload's job, moved along by its server-sent events until it ends.
async function followJob(accepted) {
  const card = el("li", "job");
  card.dataset.jobId = accepted.job_id;
  const head = el("div", "job-head");
  head.append(el("span", "job-label", accepted.job.label), el("span", "state"));
  const bar = el("progress");
  bar.max = Math.max(1, accepted.job.total);
  bar.value = 0;
  const files = el("ul", "job-files");
  const rows = new Map();
  for (const f of accepted.files) {
    const row = el("li", "job-file");
    row.append(el("span", "name", f.name), el("span", "state"), el("span", "why"));
    setState(row, "queued");
    rows.set(f.job_id, row);
    files.append(row);
  }
  const note = el("p", "job-note");
  const dismiss = el("button", "ghost small", "Dismiss");
  dismiss.type = "button";
  dismiss.hidden = true;
  dismiss.addEventListener("click", () => card.remove());
  card.append(head, bar, files, note, dismiss);
  setState(card, accepted.job.state);
  $("jobs").prepend(card);

  const apply = (job) => {
    if (job.id === accepted.job_id) {
      bar.max = Math.max(1, job.total);
      bar.value = job.done;
      note.textContent = TERMINAL.has(job.state) ? summary(job) : `${job.done} of ${job.total} files`;
      setState(card, job.state);
      return TERMINAL.has(job.state);
    }
    const row = rows.get(job.id);
    if (row) {
      setState(row, job.state);
      row.querySelector(".why").textContent = job.error || "";
    }
    return false;
  };
  let ended = false;
  try {
    ended = await followEvents(`/jobs/${accepted.job_id}/events`, (name, data) => name === "job" && apply(JSON.parse(data)));
  } catch (err) {
    note.textContent = `Lost the live progress: ${err.message}`;
  }
  if (!ended) {
    // The stream closed first (a restart, the network): the job's row says where it stands.
    try {
      const detail = await getJson(`/jobs/${accepted.job_id}`);
      detail.children.forEach(apply);
      ended = apply(detail.job);
    } catch (err) {
      note.textContent = `Cannot read the job: ${err.message}`;
    }
  }
  dismiss.hidden = false;
  if (ended) onChange();
}

// ---- documents -----------------------------------------------------------------------------

function renderDocument(doc) {
  const li = el("li", "document");
  li.dataset.id = doc.id;
  li.dataset.path = doc.path;
  const text = el("div", "doc-text");
  const title = el("a", "doc-title", doc.title || fileName(doc.path));
  title.href = `#document/${doc.id}`;
  title.title = doc.path;
  const details = [fileName(doc.path), doc.format, `${doc.chunk_count} chunk${doc.chunk_count === 1 ? "" : "s"}`];
  text.append(title, el("span", "doc-meta", details.join(" · ")));
  if (doc.tags.length) text.append(el("span", "doc-tags", doc.tags.join(", ")));
  const del = el("button", "delete ghost small", "Delete");
  del.type = "button";
  del.setAttribute("aria-label", `Delete ${fileName(doc.path)}`);
  // Two clicks: the first arms the button, so one stray click never deletes.
  del.addEventListener("click", async () => {
    if (!del.classList.contains("armed")) {
      del.classList.add("armed");
      del.textContent = "Confirm delete";
      return;
    }
    del.disabled = true;
    showError("docs-error", "");
    try {
      await request(`/documents/${encodeURIComponent(doc.id)}`, { method: "DELETE" });
      li.remove();
      onChange();
    } catch (err) {
      showError("docs-error", err.message);
      del.disabled = false;
    }
  });
  del.addEventListener("blur", () => {
    del.classList.remove("armed");
    del.textContent = "Delete";
  });
  li.append(text, del);
  return li;
}

// The first page again (after a change), or the next page (`more`).
export async function loadDocuments(more = false) {
  const list = $("documents");
  list.dataset.state = "loading";
  const cursor = more && nextCursor ? `&cursor=${encodeURIComponent(nextCursor)}` : "";
  try {
    const page = await getJson(`/documents?limit=${PAGE}${cursor}`);
    const rows = page.documents.map(renderDocument);
    if (more) list.append(...rows);
    else list.replaceChildren(...rows);
    if (!list.children.length) list.append(el("li", "empty", "Nothing stored yet: drop files above."));
    nextCursor = page.next_cursor;
    $("docs-more").hidden = !nextCursor;
    $("doc-count").textContent = list.querySelectorAll(".document").length + (nextCursor ? "+" : "");
    showError("docs-error", "");
    list.dataset.state = "done";
  } catch (err) {
    showError("docs-error", err.message);
    list.dataset.state = "error";
  }
}

export function setUpLibrary(changed) {
  onChange = changed;
  const zone = $("dropzone");
  const input = $("file-input");
  input.addEventListener("change", () => {
    upload(input.files);
    input.value = ""; // the same file may be picked again
  });
  zone.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") input.click();
  });
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (e) => {
      e.preventDefault();
      zone.classList.add("over");
    });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    upload(e.dataTransfer.files);
  });
  // A file dropped beside the zone would otherwise replace the page with the file.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
  $("docs-more").addEventListener("click", () => loadDocuments(true));
}
