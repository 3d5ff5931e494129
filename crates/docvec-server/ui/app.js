// The page's entry module: wires the search, library and status modules together, asks for an
// API key when the server wants one, and refreshes what depends on the data after it changes.

import { currentKey, forgetKey, getJson, onKeyNeeded, setKey } from "./api.js";
import { loadDocuments, setUpLibrary } from "./library.js";
import { runSearch, setUpSearch, showFormats, showTags } from "./search.js";
import { loadStatus } from "./status.js";

const $ = (id) => document.getElementById(id);
const NOT_READY_RETRY_MS = 2000;
// The one pending not_ready retry: refreshAll runs from several places (load, key change, uploads,
// deletes), and a timer per failure would stack retry loops that never merge.
let retryTimer = 0;

// The key prompt: a modal form; resolves to the key typed, or null when dismissed.
function askForKey(reason) {
  return new Promise((resolve) => {
    const dialog = $("key-dialog");
    const input = $("key-input");
    const listeners = new AbortController();
    const done = (key) => {
      listeners.abort();
      dialog.close();
      resolve(key);
    };
    $("key-reason").textContent = reason;
    input.value = "";
    $("key-form").addEventListener("submit", (e) => {
      e.preventDefault();
      done(input.value.trim() || null);
    }, { signal: listeners.signal });
    $("key-cancel").addEventListener("click", () => done(null), { signal: listeners.signal });
    dialog.addEventListener("cancel", (e) => {
      e.preventDefault();
      done(null);
    }, { signal: listeners.signal });
    dialog.showModal();
    input.focus();
  });
}

function showKeyButton() {
  $("key-button").hidden = !currentKey();
}

async function loadFilters() {
  const [formats, tags] = await Promise.all([
    getJson("/tags?kind=format&limit=100"),
    getJson("/tags?kind=user&limit=200"),
  ]);
  showFormats(formats.items);
  showTags(tags.items);
}

function showMode(config) {
  const badge = $("mode-badge");
  badge.textContent = config.read_only ? `${config.storage_mode} · read-only` : config.storage_mode;
  badge.classList.toggle("warn", config.read_only);
  badge.title = config.read_only
    ? "Served with --read-only: uploads and deletes are refused"
    : "Storage mode";
  badge.hidden = false;
}

// Everything that shows stored data, read again; each part reports its own failure in place.
async function refreshAll() {
  // This refresh does what a pending retry would have done.
  clearTimeout(retryTimer);
  retryTimer = 0;
  const status = loadStatus().then(showMode, (err) => {
    $("status").replaceChildren(Object.assign(document.createElement("dd"), {
      className: "error",
      textContent: err.message,
    }));
    // Still loading the model and index: try again shortly, then fill the rest of the page too.
    if (err.code === "not_ready" && !retryTimer) retryTimer = setTimeout(refreshAll, NOT_READY_RETRY_MS);
  });
  await Promise.allSettled([status, loadDocuments(), loadFilters(), runSearch()]);
}

onKeyNeeded(async (reason) => {
  const key = await askForKey(reason);
  $("key-button").hidden = !key;
  return key;
});
setUpSearch();
setUpLibrary(refreshAll);
$("status-refresh").addEventListener("click", () => loadStatus().then(showMode, () => {}));
$("key-button").addEventListener("click", async () => {
  forgetKey();
  const key = await askForKey("Enter the API key to use from now on.");
  if (key) setKey(key);
  showKeyButton();
  refreshAll();
});
showKeyButton();
refreshAll();
