// The search page of `docvec serve` in a real headless Chromium (Debian's), driven as a person
// would: type, switch modes, filter, drop a real file, watch its job, delete it, enter a key.
// tools/browser_test.sh starts the servers (real model, real corpus files) and passes them here:
//   DOCVEC_URL           an open server holding the mdBook guide (tag mdbook) and two API specs (tag api)
//   DOCVEC_KEYED_URL     a server that wants a key, DOCVEC_KEY a write key for it
//   DOCVEC_READONLY_URL  a server run with --read-only
//   DOCVEC_UPLOAD_FILE   a real file to upload (not on the open server yet)
//   DOCVEC_SAMPLE_FILE   a small file the read-only server must refuse
//   DOCVEC_SCREENSHOT    where to save a picture of the page with results (optional)
// Every wait is for a state the page shows; the timeouts only bound a hang.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { chromium } from "playwright-core";

const env = process.env;
const NEEDED = ["DOCVEC_URL", "DOCVEC_KEYED_URL", "DOCVEC_KEY", "DOCVEC_READONLY_URL", "DOCVEC_UPLOAD_FILE", "DOCVEC_SAMPLE_FILE"];
const missing = NEEDED.filter((name) => !env[name]);
if (missing.length && env.CI === "true") {
  throw new Error(`missing ${missing.join(", ")}: run this through tools/browser_test.sh`);
}
const skip = missing.length ? `SKIPPED: ${missing.join(", ")} not set (run tools/browser_test.sh)` : false;
if (skip) console.error(`\n*** browser tests ${skip} ***\n`);

const HANG = 120_000; // bounds a hang; nothing here waits a fixed time
const JOB_HANG = 600_000; // an upload is parsed and embedded on two shared cores

let browser;
before(async () => {
  if (skip) return;
  browser = await chromium.launch({ executablePath: env.DOCVEC_CHROMIUM || "/usr/bin/chromium" });
});
after(async () => {
  await browser?.close();
});

/// A fresh tab (its own sessionStorage) that records script errors and policy violations.
async function open(url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(HANG);
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Uncaught/.test(m.text())) problems.push(m.text());
  });
  await page.goto(url);
  return { page, problems, close: () => context.close() };
}

/// Waits until the results list shows the answer to `want` (query, mode, formats, tags); answers
/// its hits as {path, format, snippet, marks}.
async function results(page, want) {
  await page.waitForFunction((w) => {
    const d = document.getElementById("results").dataset;
    return d.state === "done" && Object.entries(w).every(([k, v]) => d[k] === v);
  }, want);
  return page.$$eval("#results .hit", (hits) => hits.map((h) => ({
    path: h.dataset.path,
    format: h.dataset.format,
    snippet: h.querySelector(".snippet").textContent,
    marks: [...h.querySelectorAll(".snippet mark")].map((m) => m.textContent.toLowerCase()),
    elements: [...h.querySelectorAll(".snippet *")].map((e) => e.tagName),
  })));
}

async function search(page, query, want = {}) {
  await page.fill("#q", query);
  return results(page, { query, ...want });
}

test("searches as you type, in every mode, filtered by format and tag, and opens a hit's source", { skip }, async () => {
  const { page, problems, close } = await open(env.DOCVEC_URL);
  await page.waitForSelector('#documents[data-state="done"] .document');
  await page.waitForSelector('#format-filters .chip[data-format="openapi"]');
  await page.waitForSelector('#status[data-state="done"]');
  assert.match(await page.textContent('#status dd[data-key="storage"]'), /local/);

  // Typed key by key: each keystroke restarts the debounce and aborts the search before it.
  const query = "how do I build the book";
  await page.locator("#q").pressSequentially(query);
  let hits = await results(page, { query, mode: "hybrid" });
  assert.ok(hits.length >= 3, JSON.stringify(hits));
  assert.match(hits[0].path, /mdbook-guide/);
  assert.ok(hits.some((h) => h.marks.some((m) => /build|book/.test(m))), "query words are marked");
  // Snippets are text and <mark> only: nothing from the server becomes markup.
  assert.ok(hits.every((h) => h.elements.every((t) => t === "MARK")), JSON.stringify(hits));
  if (env.DOCVEC_SCREENSHOT) await page.screenshot({ path: env.DOCVEC_SCREENSHOT });

  for (const mode of ["keyword", "vector"]) {
    await page.click(`.segmented label:has(input[value="${mode}"])`);
    hits = await results(page, { query, mode });
    assert.ok(hits.length >= 3, `${mode}: ${JSON.stringify(hits)}`);
    assert.match(hits[0].path, /mdbook-guide/, mode);
  }
  await page.click('.segmented label:has(input[value="hybrid"])');

  await page.click('#format-filters .chip[data-format="openapi"]');
  hits = await search(page, "list the pets", { formats: "openapi" });
  assert.ok(hits.length > 0 && hits.every((h) => h.format === "openapi"), JSON.stringify(hits));
  assert.match(hits[0].path, /petstore/);
  await page.click('#format-filters .chip[data-format="openapi"]');

  await page.fill("#tag-filter", "mdbook");
  hits = await search(page, "configuration of the renderer", { tags: "mdbook", formats: "" });
  assert.ok(hits.length > 0 && hits.every((h) => /mdbook-guide/.test(h.path)), JSON.stringify(hits));
  await page.fill("#tag-filter", "api");
  hits = await results(page, { query: "configuration of the renderer", tags: "api" });
  assert.ok(hits.length > 0 && hits.every((h) => /\/api\//.test(h.path)), JSON.stringify(hits));
  await page.fill("#tag-filter", "");

  // The link opens the hit's span of its document, marked, in the source viewer.
  hits = await search(page, "find pet by id", { tags: "", mode: "hybrid" });
  assert.match(hits[0].path, /petstore/);
  await page.click("#results .hit >> nth=0 >> .open-source");
  await page.waitForSelector('#source-dialog[open][data-state="done"]');
  assert.match(page.url(), /#chunk\/\d+$/);
  assert.match(await page.textContent("#source-text mark.span"), /operationId: find pet by id/);
  assert.match(await page.textContent("#source-where"), /petstore\S* · openapi · lines \d+–\d+ · GET \/pets\/\{id\}/);
  await page.click("#source-dialog [data-close]");
  await page.waitForSelector("#source-dialog:not([open])", { state: "attached" });
  assert.doesNotMatch(page.url(), /#chunk/);

  // A span opened while an earlier one is still on its way: the earlier request is aborted, so
  // its late answer can never replace the later one's. The earlier answer is held back here.
  const ids = await page.$$eval("#results .hit", (lis) => lis.map((li) => li.dataset.chunkId));
  assert.ok(ids.length >= 2, JSON.stringify(ids));
  const [slow, fast] = ids;
  const slowPath = `/chunks/${slow}/source`;
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  const isSlow = (url) => url.pathname === slowPath;
  await page.route(isSlow, async (route) => {
    await held;
    await route.continue().catch(() => {}); // the page may have given up on it
  });
  let settle;
  const slowEnded = new Promise((resolve) => { settle = resolve; });
  const onFailed = (req) => isSlow(new URL(req.url())) && settle("aborted");
  const onFinished = (req) => isSlow(new URL(req.url())) && settle("answered");
  page.on("requestfailed", onFailed);
  page.on("requestfinished", onFinished);
  await page.evaluate((id) => { location.hash = `#chunk/${id}`; }, slow);
  await page.waitForSelector('#source-dialog[open][data-state="loading"]');
  await page.evaluate((id) => { location.hash = `#chunk/${id}`; }, fast);
  await page.waitForSelector('#source-dialog[open][data-state="done"]');
  const shown = await page.textContent("#source-dialog");
  release();
  assert.equal(await slowEnded, "aborted", "the earlier source request was left running");
  assert.equal(await page.textContent("#source-dialog"), shown);
  assert.match(page.url(), new RegExp(`#chunk/${fast}$`));
  page.off("requestfailed", onFailed);
  page.off("requestfinished", onFinished);
  await page.unroute(isSlow);
  await page.click("#source-dialog [data-close]");
  await page.waitForSelector("#source-dialog:not([open])", { state: "attached" });

  assert.deepEqual(problems, []);
  await close();
});

test("a dropped file is uploaded, followed to the end, searchable, and gone once deleted", { skip }, async () => {
  const { page, problems, close } = await open(env.DOCVEC_URL);
  const file = env.DOCVEC_UPLOAD_FILE;
  const name = basename(file);
  await page.waitForSelector('#documents[data-state="done"] .document');
  assert.equal(await page.locator(`#documents .document[data-path$="/${name}"]`).count(), 0, "not stored yet");

  // Dropped as a person drops it: a drop event whose DataTransfer holds the file's real bytes.
  await page.fill("#upload-tag", "dropped");
  const bytes = (await readFile(file)).toString("base64");
  const transfer = await page.evaluateHandle(({ name, bytes }) => {
    const data = Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([data], name));
    return dt;
  }, { name, bytes });
  await page.dispatchEvent("#dropzone", "drop", { dataTransfer: transfer });

  // The job card follows the server-sent events until the job ends.
  const job = page.locator("#jobs .job").first();
  await page.waitForFunction(() => {
    const card = document.querySelector("#jobs .job");
    return card && ["succeeded", "failed", "cancelled"].includes(card.dataset.state);
  }, null, { timeout: JOB_HANG });
  assert.equal(await job.getAttribute("data-state"), "succeeded", await job.textContent());
  assert.equal(await job.locator(".job-file").getAttribute("data-state"), "succeeded");
  assert.match(await job.locator(".job-note").textContent(), /1 added/);

  // The list and the filters were refreshed; the new document answers a search.
  const row = page.locator(`#documents .document[data-path$="/${name}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), /dropped/);
  const query = "trace-based just-in-time compilation of loops";
  let hits = await search(page, query);
  assert.ok(hits.length > 0 && hits[0].path.endsWith(`/${name}`), JSON.stringify(hits));
  await page.fill("#tag-filter", "dropped");
  hits = await results(page, { query, tags: "dropped" });
  assert.ok(hits.length > 0 && hits.every((h) => h.path.endsWith(`/${name}`)), JSON.stringify(hits));
  await page.fill("#tag-filter", "");
  hits = await results(page, { query, tags: "" });

  // Delete takes two clicks; then the row leaves the list and the hits leave the results.
  await row.locator("button.delete").click();
  await row.locator("button.delete.armed").click();
  await row.waitFor({ state: "detached" });
  await page.waitForFunction((name) => {
    const list = document.getElementById("results");
    return list.dataset.state === "done" && list.querySelector(".hit")
      && ![...list.querySelectorAll(".hit")].some((h) => h.dataset.path.endsWith(`/${name}`));
  }, name);
  hits = await search(page, "TraceMonkey");
  assert.ok(hits.every((h) => !h.path.endsWith(`/${name}`)), JSON.stringify(hits));
  await page.reload();
  await page.waitForSelector('#documents[data-state="done"] .document');
  assert.equal(await page.locator(`#documents .document[data-path$="/${name}"]`).count(), 0);

  assert.deepEqual(problems, []);
  await close();
});

test("a server with keys: the page asks for one, refuses a wrong one, works with the right one", { skip }, async () => {
  const { page, problems, close } = await open(env.DOCVEC_KEYED_URL);
  await page.waitForSelector("#key-dialog[open]");
  assert.match(await page.textContent("#key-reason"), /requires an API key/);

  await page.fill("#key-input", "dvk_not_a_real_key");
  await page.click('#key-form button[type="submit"]');
  await page.waitForFunction(() => /not valid/.test(document.getElementById("key-reason").textContent));
  assert.ok(await page.locator("#key-dialog").evaluate((d) => d.open));

  await page.fill("#key-input", env.DOCVEC_KEY);
  await page.click('#key-form button[type="submit"]');
  await page.waitForSelector('#documents[data-state="done"] .document');
  assert.ok(!(await page.locator("#key-dialog").evaluate((d) => d.open)));
  let hits = await search(page, "how do I bake bread");
  assert.ok(hits.length > 0 && hits[0].path.endsWith("/sourdough-bread.txt"), JSON.stringify(hits));
  assert.match(await page.textContent('#status dd[data-key="keys"]'), /sent by this tab/);

  // The key lives in the tab's sessionStorage: a reload asks for nothing.
  await page.reload();
  await page.waitForSelector('#documents[data-state="done"] .document');
  assert.ok(!(await page.locator("#key-dialog").evaluate((d) => d.open)));
  hits = await search(page, "sourdough starter", {});
  assert.ok(hits.length > 0, JSON.stringify(hits));

  assert.deepEqual(problems, []);
  await close();
});

test("a read-only server serves the page and searches, and shows why changes are refused", { skip }, async () => {
  const { page, problems, close } = await open(env.DOCVEC_READONLY_URL);
  await page.waitForSelector('#documents[data-state="done"] .document');
  await page.waitForFunction(() => /read-only/.test(document.getElementById("mode-badge").textContent));
  const hits = await search(page, "how do I bake bread");
  assert.ok(hits.length > 0 && hits[0].path.endsWith("/sourdough-bread.txt"), JSON.stringify(hits));

  const row = page.locator("#documents .document").first();
  await row.locator("button.delete").click();
  await row.locator("button.delete.armed").click();
  await page.waitForSelector("#docs-error:not([hidden])");
  assert.match(await page.textContent("#docs-error"), /read-only/);
  assert.ok(await row.isVisible(), "the document stays listed");

  // An empty, untyped entry (a dropped folder, an empty file) is not sent, and the page says so.
  const empty = await page.evaluateHandle(() => {
    const dt = new DataTransfer();
    dt.items.add(new File([], "empty-notes"));
    return dt;
  });
  await page.dispatchEvent("#dropzone", "drop", { dataTransfer: empty });
  await page.waitForSelector("#upload-error:not([hidden])");
  assert.match(await page.textContent("#upload-error"), /Skipped empty-notes: 0 bytes/);
  assert.equal(await page.locator("#jobs .job").count(), 0);

  await page.setInputFiles("#file-input", env.DOCVEC_SAMPLE_FILE);
  await page.waitForFunction(() => /read-only/.test(document.getElementById("upload-error").textContent));
  assert.doesNotMatch(await page.textContent("#upload-error"), /Skipped/, "a new upload clears the note");
  assert.equal(await page.locator("#jobs .job").count(), 0);

  assert.deepEqual(problems, []);
  await close();
});
