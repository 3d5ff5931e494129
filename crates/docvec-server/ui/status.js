// The status panel: what GET /config reports (storage mode, model, index sizes, the live Postgres
// probe and the outbox) and a few counters from GET /metrics (jobs by state, requests served, the
// query cache), so an operator sees at a glance whether the server is healthy.

import { currentKey, getJson, getText } from "./api.js";

const $ = (id) => document.getElementById(id);

// Prometheus text exposition to [{name, labels, value}]; comments and blank lines skipped.
export function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || line.startsWith("#")) continue;
    const labels = {};
    for (const [, k, v] of (m[2] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

function sum(samples, name, pick = () => true) {
  return samples.filter((s) => s.name === name && pick(s.labels)).reduce((a, s) => a + s.value, 0);
}

function row(list, label, value, key) {
  const dt = document.createElement("dt");
  dt.textContent = label;
  const dd = document.createElement("dd");
  dd.textContent = value;
  dd.dataset.key = key;
  list.append(dt, dd);
}

function postgres(s) {
  if (!s.configured) return "not configured (local only)";
  if (s.reachable === false) return `unreachable: ${s.error || "no answer"}`;
  const parts = ["reachable"];
  if (s.latency_ms !== null && s.latency_ms !== undefined) parts.push(`${Math.round(s.latency_ms)} ms`);
  if (s.server_version) parts.push(s.server_version);
  if (s.migration_version) parts.push(`migration ${s.migration_version}`);
  return parts.join(" · ");
}

function outbox(s) {
  let text = `${s.outbox_backlog} waiting`;
  if (s.outbox_oldest_ms) text += ` · oldest ${new Date(s.outbox_oldest_ms).toLocaleString()}`;
  if (s.outbox_last_error) text += ` · last error: ${s.outbox_last_error}`;
  return text;
}

// Reads both routes and fills the panel; answers the configuration (app.js shows its mode).
export async function loadStatus() {
  const list = $("status");
  list.dataset.state = "loading";
  const [config, metrics] = await Promise.all([
    getJson("/config"),
    getText("/metrics").then(parseMetrics, () => []),
  ]);
  const { index, model, supabase } = config;
  list.replaceChildren();
  row(list, "Storage", config.storage_mode + (config.read_only ? " · read-only" : ""), "storage");
  row(list, "Model", `${model.id} · ${model.dimension}-d · ${model.device}`, "model");
  row(list, "Documents", `${index.documents} documents · ${index.chunks} chunks`, "documents");
  row(list, "Index", `${index.vectors} vectors · ${index.text_chunks} in full text`, "index");
  row(list, "Postgres", postgres(supabase), "postgres");
  row(list, "Outbox", outbox(supabase), "outbox");
  if (metrics.length) {
    const jobs = ["running", "queued", "succeeded", "failed"]
      .map((state) => `${sum(metrics, "docvec_jobs", (l) => l.state === state)} ${state}`);
    row(list, "Jobs", jobs.join(" · "), "jobs");
    row(list, "Requests", `${sum(metrics, "docvec_http_requests_total")} served`, "requests");
    const hits = sum(metrics, "docvec_query_cache_hits_total");
    const misses = sum(metrics, "docvec_query_cache_misses_total");
    row(list, "Query cache", `${hits} hits · ${misses} misses`, "cache");
  }
  // Reaching /config without a key means this server asks for none.
  row(list, "API key", currentKey() ? "sent by this tab" : "none needed (open on loopback)", "keys");
  const warnings = $("warnings");
  warnings.replaceChildren(...config.warnings.map((w) => Object.assign(document.createElement("li"), { textContent: w })));
  list.dataset.state = "done";
  return config;
}
