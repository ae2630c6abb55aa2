// The console's small additions; every page works without them.
// - a "copy" button for the commitment (navigator.clipboard), shown only where it works;
// - a helper computing a commit-reveal party's SHA-256 on this machine (WebCrypto): the
//   secret never leaves the browser, only its hash goes into the form.

for (const button of document.querySelectorAll("[data-copy]")) {
  if (!navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    const status = button.parentElement.querySelector(".copy-done");
    try {
      await navigator.clipboard.writeText(button.dataset.copy);
      if (status) status.textContent = "已复制";
    } catch {
      if (status) status.textContent = "无法复制，请手动选择";
    }
  });
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

for (const input of document.querySelectorAll("[data-sha256-into]")) {
  if (!window.crypto || !crypto.subtle) continue;
  const helper = input.closest(".hash-helper");
  if (helper) helper.hidden = false;
  const target = document.getElementById(input.dataset.sha256Into);
  input.addEventListener("input", async () => {
    target.value = input.value ? await sha256Hex(input.value) : "";
  });
}

// A confirmation before a step that cannot be undone (activate a rule set, confirm a redraw).
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
