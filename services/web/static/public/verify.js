// The draw verifier of the public site (一公开): re-derives a draw in the visitor's own browser
// from public files only — the record and the frozen candidate lists — exactly as
// docs/draw-spec.md (spec `spotcheck-draw/1`) says, with the browser's own SHA-256 (WebCrypto).
// It must agree with tools/verify_draw.py on every draw: the checks run in the same order and
// a difference is worded as the tool words it (`firstDifference`), so the two can be compared
// to the letter. Unlike the tool it does not stop at the first difference: every stratum gets
// its own verdict (一致, or its first difference).
//
// No server computation is trusted: nothing here asks a service to verify or to compute a
// ticket; it fetches the record and the lists and computes everything itself.

export const SPEC = "spotcheck-draw/1";
const STRATUM_ID = /^[A-Za-z0-9._:-]+$/;
// The shape of a unified social credit code (GB 32100-2015's alphabet, upper case).
const USCC = /^[0-9A-HJ-NPQRTUWXY]{18}$/;
// Python's str.strip() whitespace (not JavaScript's trim(), which differs at the edges).
const PY_SPACE = /^[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;
// Tickets are hashed this many at a time: WebCrypto answers each digest on its own, so many
// in flight at once keep it busy (measured in bench/verify_browser.py).
const BATCH = 8192;

const utf8 = new TextEncoder();

/** A difference between the record and what the public files give (`message` as the tool
 * words it, `code` for the page's Chinese wording). */
export class Difference extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/** A file that could not be read (the tool exits with 2 on these). */
export class Unreadable extends Error {}

// ---- SHA-256 and bytes ----------------------------------------------------------------------

/** SHA-256 of bytes (or of a string, as UTF-8), as bytes. */
export async function sha256(data) {
  const bytes = typeof data === "string" ? utf8.encode(data) : data;
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lowercase hex of bytes (`from`..`to` of a larger array when given). */
export function hex(bytes, from = 0, to = bytes.length) {
  let s = "";
  for (let i = from; i < to; i++) s += HEX[bytes[i]];
  return s;
}

/** Hex SHA-256 of a string (UTF-8) or bytes. */
export async function sha256Hex(data) {
  return hex(await sha256(data));
}

/** The ticket of a candidate: sha256(f"{seed}|{stratum_id}|{uscc}") as hex. */
export async function ticket(seed, stratumId, uscc) {
  return sha256Hex(`${seed}|${stratumId}|${uscc}`);
}

/** k = min(n, ceil(n * bp / 10000)) in integers (BigInt: exact for any n). */
export function sampleSize(n, bp) {
  if (!Number.isInteger(bp)) return Math.min(n, Math.floor((n * bp + 9999) / 10000));
  const k = (BigInt(n) * BigInt(bp) + 9999n) / 10000n;
  return Number(k < BigInt(n) ? k : BigInt(n));
}

/** Compare two strings by their UTF-8 bytes (Python's `a.encode() < b.encode()`). */
export function compareUtf8(a, b) {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

// ---- Python's way of printing values, so messages read as the tool's ---------------------------

/** Python's repr() of a JSON value (strings quoted as Python quotes them). */
export function pyRepr(v) {
  if (typeof v === "string") {
    const q = v.includes("'") && !v.includes('"') ? '"' : "'";
    let out = q;
    for (const ch of v) {
      const c = ch.codePointAt(0);
      if (ch === "\\" || ch === q) out += "\\" + ch;
      else if (ch === "\n") out += "\\n";
      else if (ch === "\r") out += "\\r";
      else if (ch === "\t") out += "\\t";
      else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
      else out += ch;
    }
    return out + q;
  }
  return py(v);
}

/** Python's str() of a JSON value inside an f-string. */
export function py(v) {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (Array.isArray(v)) return "[" + v.map(pyRepr).join(", ") + "]";
  if (typeof v === "object") {
    return "{" + Object.entries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(", ") + "}";
  }
  return String(v);
}

function isInt(v) {
  return typeof v === "number" && Number.isInteger(v);
}

// ---- candidate lists ------------------------------------------------------------------------

/** A candidate list as published: its bytes and where each USCC starts and ends. */
export class CandidateList {
  constructor(bytes, starts, ends) {
    this.bytes = bytes;
    this.starts = starts;
    this.ends = ends;
    this.n = starts.length;
  }

  /** The i-th USCC as a string. */
  uscc(i) {
    return UTF8.decode(this.bytes.subarray(this.starts[i], this.ends[i]));
  }

  /** The index of a USCC, or -1 (binary search: the list is ascending by bytes). */
  indexOf(uscc) {
    const want = utf8.encode(uscc);
    let lo = 0;
    let hi = this.n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = compareRange(this.bytes, this.starts[mid], this.ends[mid], want, 0, want.length);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

const UTF8 = new TextDecoder("utf-8");

function compareRange(a, a0, a1, b, b0, b1) {
  const n = Math.min(a1 - a0, b1 - b0);
  for (let i = 0; i < n; i++) {
    const d = a[a0 + i] - b[b0 + i];
    if (d !== 0) return d;
  }
  return (a1 - a0) - (b1 - b0);
}

/** Parse a list as published: UTF-8, each USCC followed by "\n", strictly ascending by bytes,
 * no empty line (the tool's `parse_candidates`, with its messages). */
export function parseCandidates(stratumId, bytes) {
  const n0 = bytes.length;
  if (n0 === 0) return new CandidateList(bytes, new Uint32Array(0), new Uint32Array(0));
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (e) {
    throw new Difference(`stratum ${stratumId}: candidate list is not UTF-8 (${e.message})`, "list");
  }
  if (bytes[n0 - 1] !== 10 || bytes.indexOf(13) !== -1) {
    throw new Difference(`stratum ${stratumId}: every line must end with a single \\n`, "list");
  }
  let count = 0;
  for (let i = 0; i < n0; i++) if (bytes[i] === 10) count++;
  const starts = new Uint32Array(count);
  const ends = new Uint32Array(count);
  let s = 0;
  let j = 0;
  for (let i = 0; i < n0; i++) {
    if (bytes[i] === 10) {
      starts[j] = s;
      ends[j] = i;
      j++;
      s = i + 1;
    }
  }
  const list = new CandidateList(bytes, starts, ends);
  let empty = false;
  for (let i = 0; i < count; i++) {
    if (starts[i] === ends[i]) empty = true;
    if (i > 0 && compareRange(bytes, starts[i - 1], ends[i - 1], bytes, starts[i], ends[i]) >= 0) {
      throw new Difference(
        `stratum ${stratumId}: candidates not unique and ascending at line ${i + 1} ` +
          `(${pyRepr(list.uscc(i))})`,
        "list",
      );
    }
  }
  if (empty) throw new Difference(`stratum ${stratumId}: empty line in candidate list`, "list");
  return list;
}

// ---- tickets and selection --------------------------------------------------------------------

/** Every candidate's ticket as raw digest bytes (32 per candidate, in list order), hashed with
 * WebCrypto `BATCH` at a time; `progress(done)` after each batch. */
export async function allTickets(seed, stratumId, list, progress) {
  const prefix = utf8.encode(`${seed}|${stratumId}|`);
  const p = prefix.length;
  const out = new Uint8Array(list.n * 32);
  const { bytes, starts, ends } = list;
  for (let from = 0; from < list.n; from += BATCH) {
    const to = Math.min(list.n, from + BATCH);
    let size = 0;
    for (let i = from; i < to; i++) size += p + ends[i] - starts[i];
    const input = new Uint8Array(size);
    const pending = new Array(to - from);
    let at = 0;
    for (let i = from; i < to; i++) {
      const len = ends[i] - starts[i];
      input.set(prefix, at);
      input.set(bytes.subarray(starts[i], ends[i]), at + p);
      pending[i - from] = crypto.subtle.digest("SHA-256", input.subarray(at, at + p + len));
      at += p + len;
    }
    const digests = await Promise.all(pending);
    for (let i = from; i < to; i++) out.set(new Uint8Array(digests[i - from]), i * 32);
    if (progress) progress(to);
  }
  return out;
}

// Lists at least this long are hashed by workers (verify-worker.js), one slice each, when the
// browser has more than one core; shorter ones on the page's own thread (a worker's start
// costs more than it saves there).
const PARALLEL_FROM = 8000;
// Lists are downloaded this many strata ahead of the one being hashed.
const AHEAD = 3;

/** A few workers that hash slices of lists, kept for one verification. */
export class TicketPool {
  constructor(size) {
    this.size = size;
    this.workers = [];
    this.next = 0;
    this.waiting = new Map();
  }

  static create() {
    const cores = (typeof navigator !== "undefined" && navigator.hardwareConcurrency) || 1;
    if (cores < 2 || typeof Worker === "undefined") return null;
    return new TicketPool(Math.min(cores, 4));
  }

  worker(i) {
    if (!this.workers[i]) {
      const w = new Worker(new URL("./verify-worker.js", import.meta.url), { type: "module" });
      w.onmessage = (event) => {
        const { id, digests, error } = event.data;
        const done = this.waiting.get(id);
        this.waiting.delete(id);
        if (error) done.reject(new Error(error));
        else done.resolve(digests);
      };
      w.onerror = (event) => {
        for (const [, done] of this.waiting) done.reject(new Error(event.message || "worker failed"));
        this.waiting.clear();
      };
      this.workers[i] = w;
    }
    return this.workers[i];
  }

  /** Every ticket of the list (as `allTickets`), the list cut in one slice per worker. */
  async tickets(seed, stratumId, list, progress) {
    const parts = this.size;
    const out = new Uint8Array(list.n * 32);
    const jobs = [];
    let done = 0;
    for (let p = 0; p < parts; p++) {
      const a = Math.floor((list.n * p) / parts);
      const b = Math.floor((list.n * (p + 1)) / parts);
      if (a === b) continue;
      const base = list.starts[a];
      const bytes = list.bytes.slice(base, list.ends[b - 1]);
      const starts = list.starts.slice(a, b).map((x) => x - base);
      const ends = list.ends.slice(a, b).map((x) => x - base);
      const id = this.next++;
      jobs.push(
        new Promise((resolve, reject) => {
          this.waiting.set(id, { resolve, reject });
          this.worker(p).postMessage({ id, seed, stratumId, bytes, starts, ends }, [bytes.buffer]);
        }).then((digests) => {
          out.set(digests, a * 32);
          done += b - a;
          if (progress) progress(done);
        }),
      );
    }
    await Promise.all(jobs);
    return out;
  }

  close() {
    for (const w of this.workers) if (w) w.terminate();
    this.workers = [];
  }
}

/** The indices of the k candidates with the smallest tickets, in ticket order (equal tickets
 * by USCC bytes): the tool's `heapq.nsmallest(k, zip(tickets, usccs))`. */
export function smallest(tickets, list, k) {
  const n = list.n;
  if (k <= 0 || n === 0) return [];
  // The first 8 bytes as two big-endian words decide almost every comparison.
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * 32;
    hi[i] = ((tickets[o] << 24) | (tickets[o + 1] << 16) | (tickets[o + 2] << 8) | tickets[o + 3]) >>> 0;
    lo[i] = ((tickets[o + 4] << 24) | (tickets[o + 5] << 16) | (tickets[o + 6] << 8) | tickets[o + 7]) >>> 0;
  }
  const cmp = (a, b) => {
    if (hi[a] !== hi[b]) return hi[a] < hi[b] ? -1 : 1;
    if (lo[a] !== lo[b]) return lo[a] < lo[b] ? -1 : 1;
    const c = compareRange(tickets, a * 32 + 8, a * 32 + 32, tickets, b * 32 + 8, b * 32 + 32);
    if (c !== 0) return c;
    return compareRange(list.bytes, list.starts[a], list.ends[a], list.bytes, list.starts[b], list.ends[b]);
  };
  let order;
  if (k * 8 < n) {
    // Few of many: keep a bound (the k-th smallest so far) and sort only what passes it.
    order = Array.from({ length: k }, (_, i) => i).sort(cmp);
    let worst = order[k - 1];
    const kept = [];
    for (let i = k; i < n; i++) {
      if (cmp(i, worst) < 0) {
        kept.push(i);
        if (kept.length >= 4 * k) {
          order = order.concat(kept).sort(cmp).slice(0, k);
          worst = order[k - 1];
          kept.length = 0;
        }
      }
    }
    order = order.concat(kept).sort(cmp).slice(0, k);
  } else {
    const all = new Uint32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    order = Array.from(all.sort(cmp).subarray(0, k));
  }
  return order;
}

// ---- the parties' seed --------------------------------------------------------------------------

async function partySeed(parties) {
  const lines = [];
  for (const p of parties) {
    const secret = p.secret;
    if (secret === null || secret === undefined) {
      throw new Difference(`party ${py(p.party_id)} has not revealed its secret`, "seed");
    }
    if ((await sha256Hex(secret)) !== p.commitment_sha256) {
      throw new Difference(`party ${py(p.party_id)}: secret does not match its commitment`, "seed");
    }
    lines.push([p.party_id, secret]);
  }
  lines.sort((a, b) => compareUtf8(a[0], b[0]));
  return sha256Hex(lines.map(([a, b]) => `${a}\t${b}\n`).join(""));
}

async function checkSeed(record) {
  const seed = record.seed;
  if (typeof seed !== "string" || !seed || seed !== seed.replace(PY_SPACE, "")) {
    throw new Difference(`seed ${pyRepr(seed)} is missing or has surrounding whitespace`, "seed");
  }
  if (record.seed_source === "dice" && !/^[0-9]{20,}$/.test(seed)) {
    throw new Difference("a dice seed must be at least 20 decimal digits", "seed");
  }
  if (record.seed_source === "parties") {
    const derived = await partySeed(record.seed_parties || []);
    if (derived !== seed) {
      throw new Difference(`seed: parties' reveals give ${derived}, record says ${seed}`, "seed");
    }
  }
  return seed;
}

// ---- one stratum ----------------------------------------------------------------------------------

async function loadList(stratum, fetchList) {
  const sid = stratum.stratum_id;
  let bytes;
  if ("candidates" in stratum) {
    bytes = utf8.encode((stratum.candidates || []).map((u) => u + "\n").join(""));
  } else {
    bytes = await fetchList(sid);
  }
  const list = parseCandidates(sid, bytes);
  return { list, digest: await sha256Hex(bytes) };
}

/** Verify one stratum: its list's hash, n, k, every ticket and the selection. Returns the
 * facts the commitment needs; raises `Difference` at the stratum's first difference. */
async function verifyStratum(seed, s, fetchList, opts) {
  const sid = s.stratum_id;
  const { list, digest } = await loadList(s, fetchList);
  const n = list.n;
  if (digest !== s.candidates_sha256) {
    throw new Difference(
      `stratum ${sid}: candidates_sha256 is ${digest}, record says ${py(s.candidates_sha256)}`,
      "hash",
    );
  }
  if (n !== s.n) throw new Difference(`stratum ${sid}: n is ${n}, record says ${py(s.n)}`, "n");
  const k = s.k;
  const bp = s.bp;
  let want;
  if (bp !== null && bp !== undefined) want = sampleSize(n, bp);
  else if (s.count !== null && s.count !== undefined) want = Math.min(n, s.count);
  else want = isInt(k) && k >= 0 && k <= n ? k : -1;
  if (k !== want) {
    throw new Difference(`stratum ${sid}: k is ${py(k)}, spec gives ${want} (n=${n}, bp=${py(bp)})`, "k");
  }
  const tickets =
    opts.pool && list.n >= PARALLEL_FROM
      ? await opts.pool.tickets(seed, sid, list, opts.progress)
      : await allTickets(seed, sid, list, opts.progress);
  for (const [u, expected] of Object.entries(s.tickets || {})) {
    const got = await ticket(seed, sid, u);
    if (got !== expected) {
      throw new Difference(`stratum ${sid}: ticket of ${u} is ${got}, record says ${py(expected)}`, "ticket");
    }
  }
  const order = smallest(tickets, list, k);
  const chosen = order.map((i) => list.uscc(i));
  const selected = Array.isArray(s.selected) ? s.selected : [];
  const same = Array.isArray(s.selected) && chosen.length === selected.length && chosen.every((u, i) => u === selected[i]);
  const company = opts.uscc ? companyTicket(sid, list, tickets, order, opts.uscc) : null;
  if (!same) {
    for (let i = 0; i < Math.min(chosen.length, selected.length); i++) {
      if (chosen[i] !== selected[i]) {
        throw Object.assign(
          new Difference(`stratum ${sid}: selected[${i}] is ${chosen[i]}, record says ${py(selected[i])}`, "selected"),
          { company },
        );
      }
    }
    throw Object.assign(
      new Difference(`stratum ${sid}: ${chosen.length} selected, record lists ${selected.length}`, "selected"),
      { company },
    );
  }
  return { line: `${sid}\t${n}\t${k}\t${digest}\n`, k, n, company };
}

function companyTicket(sid, list, tickets, order, uscc) {
  const i = list.indexOf(uscc);
  if (i < 0) return null;
  const own = hex(tickets, i * 32, i * 32 + 32);
  const last = order.length ? order[order.length - 1] : -1;
  const cutoff = last >= 0 ? hex(tickets, last * 32, last * 32 + 32) : null;
  return { stratum_id: sid, uscc, ticket: own, cutoff, selected: order.includes(i) };
}

// ---- the whole draw ---------------------------------------------------------------------------------

/**
 * Verify a draw record against its candidate lists.
 *
 * `fetchList(stratumId)` answers a list's bytes (Uint8Array) or throws `Unreadable`.
 * Options: `uscc` (a company's tickets and cut-offs), `onStratum(result)` after each stratum,
 * `progress(stratumId, done, n)` while tickets are hashed.
 *
 * Answers `{ok, summary, firstDifference, seed: {ok, message}, commitment: {ok, message},
 * strata: [{stratum_id, n, k, ok, code, message, unreadable}], company: [...]}`:
 * `firstDifference` is the tool's `DIFFERENCE:` line (without that word), null when all agree.
 */
export async function verifyDraw(record, fetchList, options = {}) {
  const report = {
    ok: false,
    summary: "",
    firstDifference: null,
    unreadable: null,
    seed: { ok: true, message: null },
    commitment: { ok: true, message: null },
    strata: [],
    company: [],
  };
  const first = (message) => {
    if (report.firstDifference === null && report.unreadable === null) report.firstDifference = message;
  };
  const spec = "spec" in record ? record.spec : SPEC;
  if (spec !== SPEC) {
    first(`spec is ${pyRepr(spec)}, this tool checks ${SPEC}`);
    return report;
  }
  let seed = typeof record.seed === "string" ? record.seed : "";
  try {
    seed = await checkSeed(record);
  } catch (e) {
    if (!(e instanceof Difference)) throw e;
    report.seed = { ok: false, message: e.message };
    first(e.message);
  }
  if (!Array.isArray(record.strata)) {
    first("the record has no strata list");
    return report;
  }
  const strata = [...record.strata].sort((a, b) => compareUtf8(String(a.stratum_id), String(b.stratum_id)));
  const pool = options.workers === false ? null : TicketPool.create();
  try {
    await verifyStrata(record, strata, seed, fetchList, options, report, first, pool);
  } finally {
    if (pool) pool.close();
  }
  await checkExamples(record, first);
  if (report.firstDifference === null && report.unreadable === null) {
    report.ok = true;
    const total = report.strata.reduce((sum, r) => sum + (r.ok ? r.k : 0), 0);
    report.summary = `OK ${record.draw_id ?? ""} ${record.strata.length} strata, ${total} selected`.replace("  ", " ");
  }
  return report;
}

async function verifyStrata(record, strata, seed, fetchList, options, report, first, pool) {
  const lines = [];
  const seen = new Set();
  let complete = true;
  // The next lists are downloaded while this one is hashed; each is dropped once read.
  const ahead = new Map();
  const fetchAhead = (sid) => {
    if (!ahead.has(sid)) {
      const pending = fetchList(sid);
      pending.catch(() => {}); // its failure is reported when its stratum reads it
      ahead.set(sid, pending);
    }
    const pending = ahead.get(sid);
    ahead.delete(sid);
    return pending;
  };
  for (const [i, s] of strata.entries()) {
    for (const next of strata.slice(i + 1, i + 1 + AHEAD)) {
      const sid = next.stratum_id;
      if (typeof sid === "string" && STRATUM_ID.test(sid) && !("candidates" in next) && !ahead.has(sid)) {
        const pending = fetchList(sid);
        pending.catch(() => {});
        ahead.set(sid, pending);
      }
    }
    const sid = s.stratum_id;
    const row = { stratum_id: String(sid), n: s.n, k: s.k, ok: false, code: null, message: null, unreadable: false };
    try {
      if (typeof sid !== "string" || !STRATUM_ID.test(sid)) {
        throw new Difference(`stratum id ${pyRepr(sid)} is not [A-Za-z0-9._:-]+`, "id");
      }
      if (seen.has(sid)) throw new Difference(`stratum ${sid} appears twice`, "duplicate");
      seen.add(sid);
      const progress = options.progress ? (done) => options.progress(sid, done, s.n) : null;
      const got = await verifyStratum(seed, s, fetchAhead, { uscc: options.uscc, progress, pool });
      row.ok = true;
      lines.push(got.line);
      if (got.company) report.company.push(got.company);
    } catch (e) {
      complete = false;
      if (e instanceof Difference) {
        row.code = e.code;
        row.message = e.message;
        if (e.company) report.company.push(e.company);
        first(e.message);
      } else if (e instanceof Unreadable) {
        row.unreadable = true;
        row.code = "unreadable";
        row.message = e.message;
        if (report.firstDifference === null && report.unreadable === null) report.unreadable = e.message;
      } else {
        throw e;
      }
    }
    report.strata.push(row);
    if (options.onStratum) options.onStratum(row);
  }
  if (complete) {
    const commitment = await sha256Hex(lines.join(""));
    if (commitment !== record.commitment_sha256) {
      const message = `commitment_sha256 is ${commitment}, record says ${py(record.commitment_sha256)}`;
      report.commitment = { ok: false, message };
      first(message);
    }
  } else {
    report.commitment = { ok: null, message: null };
  }
}

/** The reference vectors' extra examples (k, tickets as entered, a parties seed). */
async function checkExamples(record, first) {
  for (const e of record.k_examples || []) {
    if (sampleSize(e.n, e.bp) !== e.k) {
      first(`k example n=${py(e.n)} bp=${py(e.bp)}: spec gives other than ${py(e.k)}`);
    }
  }
  for (const e of record.ticket_examples || []) {
    if (e.seed_as_entered.replace(PY_SPACE, "") !== e.seed) {
      first(`ticket example: ${pyRepr(e.seed_as_entered)} strips to another seed`);
    }
    if ((await ticket(e.seed, e.stratum_id, e.uscc)) !== e.ticket) {
      first(`ticket example ${e.stratum_id}|${e.uscc}: ticket differs`);
    }
  }
  const example = record.parties_example;
  if (example) {
    let derived = null;
    try {
      derived = await partySeed(example.parties);
    } catch (e) {
      if (!(e instanceof Difference)) throw e;
      first(e.message);
      return;
    }
    if (derived !== example.seed) first("parties example: the reveals give another seed");
  }
}

// ---- the page ---------------------------------------------------------------------------------------

const WHY = {
  hash: "候选名单的哈希值与记录不符",
  n: "候选数与记录不符",
  k: "抽取数与比例或数量不符",
  ticket: "签号与记录不符",
  selected: "抽中名单与重新计算的结果不符",
  list: "候选名单的格式不符合规范",
  id: "分层编号不合规范",
  duplicate: "分层重复",
  unreadable: "无法下载候选名单",
};

async function fetchBytes(url) {
  let response;
  try {
    response = await fetch(url, { credentials: "omit" });
  } catch (e) {
    throw new Unreadable(`cannot read ${url}: ${e.message}`);
  }
  if (!response.ok) throw new Unreadable(`cannot read ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function listUrl(template, stratumId) {
  return template.replace("{stratum_id}", encodeURIComponent(stratumId));
}

function text(el, value) {
  if (el) el.textContent = value;
}

function verdictCell(section, sid) {
  for (const cell of section.ownerDocument.querySelectorAll("[data-verdict]")) {
    if (cell.dataset.verdict === sid) return cell;
  }
  return null;
}

function showStratum(section, row) {
  const cell = verdictCell(section, row.stratum_id);
  if (!cell) return;
  cell.textContent = "";
  const mark = document.createElement("strong");
  mark.className = row.ok ? "verdict good" : "verdict bad";
  mark.textContent = row.ok ? "一致" : `不一致：${WHY[row.code] || "与记录不符"}`;
  cell.append(mark);
  if (!row.ok && row.message) {
    const detail = document.createElement("span");
    detail.className = "verdict-detail";
    detail.textContent = row.message;
    cell.append(" ", detail);
  }
  cell.dataset.ok = String(row.ok);
}

function showCompany(section, report, uscc) {
  const box = section.querySelector("[data-company-result]");
  if (!box) return;
  box.textContent = "";
  const heading = document.createElement("h3");
  heading.textContent = `${uscc} 的签号（在本机计算）`;
  box.append(heading);
  if (!report.company.length) {
    const p = document.createElement("p");
    p.textContent = "该统一社会信用代码不在本次抽取的任何候选名单中。";
    p.dataset.absent = "true";
    box.append(p);
    return;
  }
  const list = document.createElement("dl");
  list.className = "tickets";
  for (const c of report.company) {
    const item = document.createElement("div");
    item.className = "ticket-row";
    item.dataset.stratum = c.stratum_id;
    item.dataset.ticket = c.ticket;
    item.dataset.cutoff = c.cutoff ?? "";
    item.dataset.selected = String(c.selected);
    const dt = document.createElement("dt");
    dt.textContent = c.stratum_id;
    const dd = document.createElement("dd");
    const lines = [
      ["本企业签号", c.ticket],
      ["本层截止签号（最大的抽中签号）", c.cutoff ?? "无（本层未抽取）"],
      ["结果", c.selected ? "被抽中：签号不大于截止签号" : "未被抽中：签号大于截止签号"],
    ];
    for (const [label, value] of lines) {
      const line = document.createElement("div");
      const b = document.createElement("span");
      b.className = "label";
      b.textContent = label + "：";
      const v = document.createElement("code");
      v.textContent = value;
      line.append(b, v);
      dd.append(line);
    }
    item.append(dt, dd);
    list.append(item);
  }
  box.append(list);
}

async function run(section, uscc) {
  const button = section.querySelector("[data-verify-button]");
  const status = section.querySelector("[data-verify-status]");
  const summary = section.querySelector("[data-verify-summary]");
  const started = performance.now();
  button.disabled = true;
  section.dataset.state = "running";
  text(status, "正在下载抽取记录……");
  for (const cell of section.ownerDocument.querySelectorAll("[data-verdict]")) {
    cell.textContent = "验证中……";
    delete cell.dataset.ok;
  }
  let report;
  try {
    const record = JSON.parse(UTF8.decode(await fetchBytes(section.dataset.record)));
    const count = Array.isArray(record.strata) ? record.strata.length : 0;
    let doneStrata = 0;
    let lastShown = 0;
    report = await verifyDraw(
      record,
      (sid) => fetchBytes(listUrl(section.dataset.candidates, sid)),
      {
        uscc,
        onStratum: (row) => {
          doneStrata += 1;
          showStratum(section, row);
          text(status, `已验证 ${doneStrata}/${count} 个分层……`);
        },
        progress: (sid, done, n) => {
          const now = performance.now();
          if (now - lastShown > 500) {
            lastShown = now;
            text(status, `正在计算分层 ${sid} 的签号：${done}/${n}`);
          }
        },
      },
    );
  } catch (e) {
    section.dataset.state = "error";
    text(status, `无法完成验证：${e.message}`);
    button.disabled = false;
    return;
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  section.dataset.state = "done";
  section.dataset.ok = String(report.ok);
  section.dataset.seconds = seconds;
  summary.dataset.firstDifference = report.firstDifference ?? "";
  summary.dataset.unreadable = report.unreadable ?? "";
  const seedLine = section.querySelector("[data-verify-seed]");
  const commitLine = section.querySelector("[data-verify-commitment]");
  text(seedLine, report.seed.ok ? "一致" : `不一致：${report.seed.message}`);
  text(
    commitLine,
    report.commitment.ok === null ? "未能计算（有分层不一致或无法下载）" : report.commitment.ok ? "一致" : `不一致：${report.commitment.message}`,
  );
  if (report.ok) {
    summary.className = "alert good";
    text(summary, `全部一致：${report.strata.length} 个分层的候选名单、签号、抽中名单和承诺值都与公开记录一致（用时 ${seconds} 秒，在本机计算）。`);
  } else if (report.unreadable) {
    summary.className = "alert bad";
    text(summary, `无法完成验证：${report.unreadable}`);
  } else {
    const bad = report.strata.filter((r) => !r.ok).map((r) => r.stratum_id);
    summary.className = "alert bad";
    text(
      summary,
      bad.length
        ? `发现不一致：分层 ${bad.join("、")} 与公开记录不符。第一处不同：${report.firstDifference}`
        : `发现不一致：${report.firstDifference}`,
    );
  }
  text(status, "");
  if (uscc) showCompany(section, report, uscc);
  button.disabled = false;
}

function normaliseUscc(raw) {
  return (raw || "").trim().toUpperCase();
}

/** Wire the verifier into a draw page: the 验证 button and the company's ticket form. */
export function install(root = document) {
  const section = root.querySelector("[data-verifier]");
  if (!section) return;
  section.hidden = false;
  for (const el of section.querySelectorAll("[data-needs-js]")) el.hidden = false;
  const button = section.querySelector("[data-verify-button]");
  button.disabled = false;
  button.addEventListener("click", () => run(section, null));
  const form = section.querySelector("[data-company-form]");
  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const input = form.querySelector("input[name=uscc]");
      const uscc = normaliseUscc(input.value);
      if (!USCC.test(uscc)) {
        input.setAttribute("aria-invalid", "true");
        text(form.querySelector("[data-uscc-error]"), "请输入18位统一社会信用代码（数字和大写字母）。");
        input.focus();
        return;
      }
      input.removeAttribute("aria-invalid");
      text(form.querySelector("[data-uscc-error]"), "");
      run(section, uscc);
    });
    // Come from a company's page (`?uscc=`): its tickets are computed at once.
    const asked = normaliseUscc(new URLSearchParams(location.search).get("uscc"));
    if (USCC.test(asked)) run(section, asked);
  }
}

if (typeof document !== "undefined") {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => install());
  else install();
}
