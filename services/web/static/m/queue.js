// 掌上查's offline queue. A result is first written to IndexedDB on the phone, then sent; one
// that cannot be sent (no signal, session ended) waits there and is sent when the phone is
// online again. Each draft carries an idempotency key from its first save: however many times
// it is sent, the publisher records it once. Nothing here is needed for the pages to work.

const DB_NAME = "spotcheck-m";
const STORE = "drafts";
const MAX_SIDE = 1600; // photos are scaled down before they are kept: a phone's 12 MP photo
const QUALITY = 0.8; //  would fill the queue and the upload

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "key" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function withStore(mode, fn) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const result = fn(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
    tx.onerror = () => reject(tx.error);
  });
}

const drafts = {
  put: (d) => withStore("readwrite", (s) => s.put(d)),
  remove: (key) => withStore("readwrite", (s) => s.delete(key)),
  all: () => withStore("readonly", (s) => s.getAll()),
};

function newKey() {
  // crypto.randomUUID needs a secure context; getRandomValues does not.
  const b = crypto.getRandomValues(new Uint8Array(16));
  return "m-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function csrfToken() {
  const raw = document.body.getAttribute("hx-headers");
  try {
    return raw ? JSON.parse(raw)["X-CSRF-Token"] : "";
  } catch {
    return "";
  }
}

async function shrink(file) {
  if (!file.type.startsWith("image/") || !window.createImageBitmap) return file;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    if (scale === 1 && file.size < 600 * 1024) return file;
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((r) => canvas.toBlob(r, "image/jpeg", QUALITY));
    const name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
    return blob ? new File([blob], name, { type: "image/jpeg" }) : file;
  } catch {
    return file;
  }
}

async function entriesOf(form) {
  const out = [];
  for (const [name, value] of new FormData(form).entries()) {
    if (value instanceof File) {
      if (!value.name || value.size === 0) continue;
      const small = await shrink(value);
      out.push([name, { blob: small, name: small.name, type: small.type }]);
    } else {
      out.push([name, value]);
    }
  }
  return out;
}

function formDataOf(entries) {
  const fd = new FormData();
  for (const [name, value] of entries) {
    if (value && typeof value === "object" && "blob" in value) fd.append(name, value.blob, value.name);
    else if (name !== "csrf_token") fd.append(name, value);
  }
  fd.append("csrf_token", csrfToken());
  return fd;
}

// --- showing what happened -------------------------------------------------------------------

function say(text) {
  const el = document.getElementById("submit-status");
  if (el) el.textContent = text;
}

function clearErrors(form) {
  form.querySelectorAll(".field-error").forEach((p) => {
    p.hidden = true;
    p.textContent = "";
  });
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  const general = document.getElementById("form-general");
  if (general) general.innerHTML = "";
}

function showErrors(form, errors, general) {
  clearErrors(form);
  let first = null;
  for (const [field, messages] of Object.entries(errors || {})) {
    let p = document.getElementById("err-" + field);
    const control = form.querySelector(`[name="${CSS.escape(field)}"]`) || document.getElementById(field);
    if (!p) {
      p = document.createElement("p");
      p.className = "field-error";
      p.id = "err-" + field;
      (control ? control.closest("fieldset, section") || form : form).appendChild(p);
    }
    p.textContent = messages.join("；");
    p.hidden = false;
    const target = control ? control.closest("fieldset") || control : p;
    target.setAttribute("aria-invalid", "true");
    first = first || target;
  }
  const box = document.getElementById("form-general");
  if (box && general && general.length) {
    const ul = document.createElement("ul");
    ul.className = "alert bad";
    for (const g of general) {
      const li = document.createElement("li");
      li.textContent = g;
      ul.appendChild(li);
    }
    box.appendChild(ul);
    first = first || box;
  }
  if (first) {
    first.scrollIntoView({ block: "center" });
    if (first.focus) first.focus({ preventScroll: true });
  }
}

// --- sending -----------------------------------------------------------------------------------

let flushing = null;

async function sendOne(d) {
  let response;
  try {
    response = await fetch(d.url, {
      method: "POST",
      body: formDataOf(d.entries),
      headers: { Accept: "application/json", "X-CSRF-Token": csrfToken() },
      credentials: "same-origin",
      redirect: "manual",
    });
  } catch {
    return "offline";
  }
  if (response.status === 201 || response.status === 202) {
    const body = await response.json().catch(() => ({}));
    await drafts.remove(d.key);
    document.dispatchEvent(new CustomEvent("spotcheck:sent", { detail: { draft: d, body } }));
    return "sent";
  }
  if (response.status === 422 || response.status === 409) {
    const body = await response.json().catch(() => ({}));
    const errors = body.errors || {};
    const general = body.general || (body.error ? [body.error.message] : []);
    await drafts.put({ ...d, state: "refused", errors, general });
    document.dispatchEvent(new CustomEvent("spotcheck:refused", { detail: { draft: d, errors, general } }));
    return "refused";
  }
  // 401/403 (session ended, CSRF), 5xx: keep it, try again later.
  await drafts.put({ ...d, state: "waiting", note: response.status === 401 || response.status === 403 || response.type === "opaqueredirect" ? "请重新登录后自动发送" : "服务暂时不可用，稍后自动重试" });
  return "later";
}

export async function flush() {
  if (flushing) return flushing;
  flushing = (async () => {
    const waiting = (await drafts.all()).filter((d) => d.state === "waiting");
    for (const d of waiting) {
      if (!navigator.onLine) break;
      await sendOne(d);
    }
  })().finally(() => {
    flushing = null;
    renderQueue();
  });
  return flushing;
}

// --- the result form -----------------------------------------------------------------------------

function restore(form, d) {
  for (const [name, value] of d.entries) {
    if (typeof value !== "string") continue;
    const fields = form.querySelectorAll(`[name="${CSS.escape(name)}"]`);
    fields.forEach((el) => {
      if (el.type === "radio" || el.type === "checkbox") el.checked = el.value === value || value === "on";
      else if (el.type !== "file") el.value = value;
    });
  }
}

async function setupForm(form) {
  const task = form.dataset.task;
  const keyField = form.querySelector('[name="idempotency_key"]');
  const mine = (await drafts.all()).find((d) => d.task === task);
  if (mine) {
    restore(form, mine);
    keyField.value = mine.key;
    if (mine.state === "refused") showErrors(form, mine.errors, mine.general);
    else say("此结果已保存在本机，等待发送。");
  }
  if (!keyField.value) keyField.value = newKey();

  const photos = form.querySelector("#photos");
  const previews = document.getElementById("photo-previews");
  if (photos && previews) {
    photos.addEventListener("change", () => {
      previews.innerHTML = "";
      for (const f of photos.files) {
        const img = document.createElement("img");
        img.alt = "照片 " + f.name;
        img.src = URL.createObjectURL(f);
        previews.appendChild(img);
      }
    });
  }

  // Only the fields of the chosen check method are shown; without scripts all four are, each
  // labelled with its method, and the server keeps only the chosen one's.
  const method = form.querySelector("#method");
  const parts = form.querySelectorAll(".method-part");
  const showMethod = () => parts.forEach((p) => (p.hidden = !!method && p.dataset.method !== method.value));
  if (method) {
    method.addEventListener("change", showMethod);
    showMethod();
  }

  document.addEventListener("spotcheck:sent", (e) => {
    if (e.detail.draft.task !== task) return;
    location.assign(`/m/tasks/${task}?done=${e.detail.body.state || "accepted"}`);
  });
  document.addEventListener("spotcheck:refused", (e) => {
    if (e.detail.draft.task !== task) return;
    say("提交未通过，请按提示修改后重新提交。");
    showErrors(form, e.detail.errors, e.detail.general);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      clearErrors(form);
      const draft = {
        key: keyField.value,
        task,
        entity: form.dataset.entity || task,
        url: form.action,
        entries: await entriesOf(form),
        state: "waiting",
        saved_at: new Date().toISOString(),
      };
      await drafts.put(draft); // kept before anything is sent: never lost
      if (!navigator.onLine) {
        say("当前无网络，结果已保存在本机，恢复网络后自动发送。");
        return;
      }
      say("正在提交…");
      const outcome = await sendOne(draft);
      if (outcome === "offline") say("网络中断，结果已保存在本机，恢复网络后自动发送。");
      if (outcome === "later") say("暂未发送，结果已保存在本机，稍后自动重试。");
      renderQueue();
    } finally {
      button.disabled = false;
    }
  });
}

// --- the queue on the task list ---------------------------------------------------------------------

async function renderQueue() {
  const box = document.getElementById("queue");
  const list = document.getElementById("queue-list");
  if (!box || !list) return;
  const all = await drafts.all();
  list.innerHTML = "";
  for (const d of all) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.className = "task";
    a.href = `/m/tasks/${d.task}/result`;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = d.entity;
    const chip = document.createElement("span");
    chip.className = "chip queued";
    chip.textContent = d.state === "refused" ? "未通过，请修改" : "等待发送";
    const note = document.createElement("span");
    note.className = "meta";
    note.textContent = d.note || (d.state === "refused" ? "打开修改后重新提交" : "恢复网络后自动发送");
    a.append(name, chip, note);
    li.appendChild(a);
    list.appendChild(li);
  }
  box.hidden = all.length === 0;
}

function online() {
  document.body.classList.toggle("offline", !navigator.onLine);
  if (navigator.onLine) flush();
}

window.addEventListener("online", online);
window.addEventListener("offline", online);
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("result-form");
  if (form) setupForm(form);
  online();
  renderQueue();
  setInterval(() => navigator.onLine && flush(), 20000);
});
