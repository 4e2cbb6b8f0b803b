// Jiefen's one script: sign-in and sign-out, the intake desk's live preview
// and checks as the clerk types, and writes through the JSON API with the
// session's CSRF token. Pages render without it; this makes them live.
"use strict";
(function () {
  const M = JSON.parse(document.getElementById("messages")?.textContent || "{}");
  const t = (k) => M[k] || k;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

  async function api(method, path, body, extra) {
    const headers = { "content-type": "application/json", "x-csrf-token": csrf };
    Object.assign(headers, extra || {});
    const res = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await res.json(); } catch (_) { /* no body */ }
    return { status: res.status, ok: res.ok, data };
  }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const kid of kids) if (kid != null) e.append(kid);
    return e;
  }
  function showError(form, message) {
    const box = form.querySelector("[data-error]");
    if (!box) return;
    box.textContent = message || "";
    box.hidden = !message;
  }

  function firstMissing(form) {
    for (const input of form.querySelectorAll("[required]")) {
      const empty = input.type === "radio" ? !form.querySelector(`[name="${input.name}"]:checked`) : !input.value.trim();
      if (empty) return input;
    }
    return null;
  }
  // Marks the first required field left empty and says so; true if there was one.
  function refuseMissing(form, missing = firstMissing(form)) {
    if (!missing) return false;
    missing.setAttribute("aria-invalid", "true");
    missing.focus();
    showError(form, t("required"));
    return true;
  }

  // A category select offers only the categories for the case's kind.
  function categoriesFor(select, kind) {
    for (const o of select.querySelectorAll("option[data-kinds]")) {
      const fits = o.dataset.kinds.split(" ").includes(kind);
      o.hidden = !fits; o.disabled = !fits;
    }
    if (select.selectedOptions[0]?.disabled) select.value = "";
  }

  // Sign in and out.
  const login = document.getElementById("login");
  if (login) {
    login.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      showError(login, "");
      const f = new FormData(login);
      try {
        const r = await api("POST", "/api/v1/session", { username: f.get("username"), password: f.get("password") });
        if (r.ok) { location.assign(login.dataset.next || "/"); return; }
        showError(login, r.status === 401 ? t("sign_in_failed") : (r.data?.error?.message || t("sign_in_failed")));
      } catch (_) { showError(login, t("network")); }
    });
  }
  for (const b of document.querySelectorAll("[data-sign-out]")) {
    b.addEventListener("click", async () => {
      try { await api("DELETE", "/api/v1/session"); } finally { location.assign("/login"); }
    });
  }
  for (const b of document.querySelectorAll("[data-print]")) b.addEventListener("click", () => window.print());

  // Notices: one marked read, or the whole inbox.
  for (const b of document.querySelectorAll("[data-mark-read]")) {
    b.addEventListener("click", async () => {
      const box = b.closest("[data-inbox]");
      const body = { recipient: b.dataset.recipient };
      if (b.dataset.id) body.ids = [Number(b.dataset.id)];
      b.disabled = true;
      try {
        const r = await api("POST", "/api/v1/inbox/read", body);
        if (r.ok) { location.reload(); return; }
        showError(box, r.data?.error?.message || t("network"));
      } catch (_) { showError(box, t("network")); }
      b.disabled = false;
    });
  }

  // Checks of personal numbers as typed (the server checks again).
  const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  function validId(s) {
    if (!/^\d{17}[\dXx]$/.test(s)) return false;
    const y = +s.slice(6, 10), m = +s.slice(10, 12), d = +s.slice(12, 14);
    const date = new Date(Date.UTC(y, m - 1, d));
    if (y < 1900 || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d || date > new Date()) return false;
    let sum = 0;
    for (let i = 0; i < 17; i++) sum += +s[i] * ID_WEIGHTS[i];
    return "10X98765432"[sum % 11] === s[17].toUpperCase();
  }
  function validPhone(s) {
    const digits = s.replace(/[\s-]/g, "");
    return /^1[3-9]\d{9}$/.test(digits) || /^0\d{9,11}$/.test(digits);
  }
  function check(input) {
    const v = input.value.trim();
    const msg = document.getElementById(input.id + "_msg");
    if (!v) { input.removeAttribute("aria-invalid"); if (msg) { msg.textContent = ""; msg.className = "hint"; } return true; }
    const good = input.dataset.check === "id" ? validId(v) : validPhone(v);
    input.setAttribute("aria-invalid", good ? "false" : "true");
    if (msg) {
      msg.textContent = t(input.dataset.check + (good ? "_ok" : "_bad"));
      msg.className = "hint " + (good ? "ok" : "bad");
    }
    return good;
  }

  const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).slice(0, 64);

  // A case's actions: each form posts the command it names to the API.
  // Fields shown only with another field's value (the agreement, with a
  // mediated outcome) are hidden and left out otherwise.
  function applyWhen(form) {
    for (const box of form.querySelectorAll("[data-when]")) {
      const other = form.elements.namedItem(box.dataset.when);
      box.hidden = !other || other.value !== box.dataset.whenValue;
    }
  }
  function setPath(obj, path, value) {
    const parts = path.split(".");
    let o = obj;
    for (const p of parts.slice(0, -1)) o = (o[p] = o[p] || {});
    o[parts[parts.length - 1]] = value;
  }
  function readCommand(form) {
    const command = { type: form.dataset.action };
    let missing = null;
    for (const input of form.querySelectorAll("[data-type]")) {
      if (input.closest("[data-when]")?.hidden) continue;
      const type = input.dataset.type;
      let value;
      if (type === "check") { if (input.checked) value = true; }
      else {
        const raw = input.value.trim();
        if (!raw) { if (input.required && !missing) missing = input; continue; }
        if (type === "list") value = raw.split(/\n|[,，、]/).map((x) => x.trim()).filter(Boolean);
        else if (type === "days") value = Number(raw);
        // Entered in Beijing time, whatever the browser's own zone.
        else if (type === "when") value = (raw.length === 16 ? raw + ":00" : raw) + "+08:00";
        else value = raw;
      }
      input.removeAttribute("aria-invalid");
      if (value !== undefined) setPath(command, input.name, value);
    }
    return { command, missing };
  }
  for (const form of document.querySelectorAll("form[data-action]")) {
    const key = newKey();
    applyWhen(form);
    form.addEventListener("change", () => applyWhen(form));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      showError(form, "");
      const { command, missing } = readCommand(form);
      if (refuseMissing(form, missing)) return;
      const button = form.querySelector("button[type=submit]");
      const label = button.textContent;
      button.disabled = true; button.textContent = t("acting");
      try {
        const r = await api("POST", "/api/v1/cases/" + form.dataset.case + "/actions", { action: command }, { "idempotency-key": key });
        if (r.ok) { location.reload(); return; }
        const err = r.data?.error || {};
        showError(form, err.message || String(r.status));
        const field = (err.field || "").replace(/^action\./, "");
        const input = field && form.elements.namedItem(field);
        if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
      } catch (_) { showError(form, t("network")); }
      button.disabled = false; button.textContent = label;
    });
  }

  // Attachments: the file itself is the request's body, its type checked
  // here first (the server checks its first bytes again).
  for (const form of document.querySelectorAll("form[data-upload]")) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      showError(form, "");
      const file = form.elements.namedItem("file").files[0];
      if (!file) { showError(form, t("required")); return; }
      if (file.size > Number(form.dataset.max)) { showError(form, t("too_big")); return; }
      if (!form.dataset.accept.split(",").includes(file.type)) { showError(form, t("bad_type")); return; }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const res = await fetch("/api/v1/cases/" + form.dataset.upload + "/attachments?filename=" + encodeURIComponent(file.name), {
          method: "POST", credentials: "same-origin", body: file,
          headers: { "content-type": file.type, "x-csrf-token": csrf, "idempotency-key": newKey() },
        });
        if (res.ok) { location.reload(); return; }
        let msg = String(res.status);
        try { msg = (await res.json()).error.message; } catch (_) { /* keep the status */ }
        showError(form, msg);
      } catch (_) { showError(form, t("network")); }
      button.disabled = false;
    });
  }

  // The citizens' portal: the public API, then the matter opened again
  // (by POST, so the code never sits in a URL) to show where it stands.
  function reopen(code, last4) {
    const open = document.getElementById("portal-open");
    if (code) open.elements.namedItem("receipt_code").value = code;
    if (last4) open.elements.namedItem("phone_last4").value = last4;
    open.submit();
  }
  async function publicCall(form, path, body, button) {
    const label = button.textContent;
    button.disabled = true; button.textContent = t("acting");
    try {
      const r = await api("POST", path, body);
      if (r.ok) return r.data;
      const err = r.data?.error || {};
      showError(form, r.status === 429 ? t("too_many") : (err.message || String(r.status)));
      const input = err.field && form.elements.namedItem(err.field);
      if (input && input.setAttribute) { input.setAttribute("aria-invalid", "true"); input.focus(); }
    } catch (_) { showError(form, t("network")); }
    button.disabled = false; button.textContent = label;
    return null;
  }
  const bring = document.getElementById("portal-submit");
  if (bring) {
    for (const input of bring.querySelectorAll("[data-check]")) input.addEventListener("input", () => check(input));
    bring.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      showError(bring, "");
      if (refuseMissing(bring)) return;
      for (const input of bring.querySelectorAll("[data-check]")) if (!check(input)) { input.focus(); return; }
      const f = new FormData(bring);
      const body = {};
      for (const name of ["category", "title", "description", "jurisdiction", "address", "name", "phone", "id_number"]) {
        const v = String(f.get(name) || "").trim();
        if (v) body[name] = v;
      }
      const done = await publicCall(bring, "/api/v1/public/cases", body, bring.querySelector("button[type=submit]"));
      if (done) reopen(done.receipt_code, body.phone.replace(/\D/g, "").slice(-4));
    });
  }
  for (const form of document.querySelectorAll("form[data-portal]")) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      showError(form, "");
      if (refuseMissing(form)) return;
      const open = document.getElementById("portal-open");
      const body = {
        receipt_code: open.elements.namedItem("receipt_code").value,
        phone_last4: open.elements.namedItem("phone_last4").value,
      };
      const f = new FormData(form);
      let path;
      if (form.dataset.portal === "rate") {
        path = "/api/v1/public/track/rate";
        body.satisfaction = f.get("satisfaction");
        const comment = String(f.get("comment") || "").trim();
        if (comment) body.comment = comment;
      } else {
        path = "/api/v1/public/track/review";
        body.reason = String(f.get("reason") || "").trim();
      }
      if (await publicCall(form, path, body, form.querySelector("button[type=submit]"))) reopen();
    });
  }

  // The grid worker's report: the case through the API, then each photo;
  // the page then opens again with the report shown above the worker's own.
  const grid = document.getElementById("grid-report");
  if (grid) gridReport(grid);
  function gridReport(form) {
    const kindOf = () => form.querySelector("[name=kind]:checked")?.value;
    const category = form.elements.namedItem("category");
    function byKind() {
      const kind = kindOf();
      categoriesFor(category, kind);
      for (const box of form.querySelectorAll("[data-for-kind]")) {
        box.hidden = box.dataset.forKind !== kind;
        // A dispute needs the person who brings it.
        const applicant = box.querySelector("[name=a_name]");
        if (applicant) applicant.required = !box.hidden;
      }
    }
    form.addEventListener("change", byKind);
    byKind();
    for (const input of form.querySelectorAll("[data-check]")) input.addEventListener("input", () => check(input));
    const located = form.querySelector("[data-located]");
    form.querySelector("[data-locate]").addEventListener("click", () => {
      if (!navigator.geolocation) { located.textContent = t("grid_no_location"); return; }
      located.textContent = t("grid_locating");
      navigator.geolocation.getCurrentPosition((pos) => {
        const { latitude, longitude, accuracy } = pos.coords;
        form.elements.namedItem("lat_e6").value = String(Math.round(latitude * 1e6));
        form.elements.namedItem("lon_e6").value = String(Math.round(longitude * 1e6));
        located.textContent = t("grid_located") + " " + latitude.toFixed(5) + ", " + longitude.toFixed(5) + " (±" + Math.round(accuracy) + " m)";
      }, () => { located.textContent = t("grid_no_location"); }, { enableHighAccuracy: true, timeout: 15000 });
    });
    const key = newKey();
    let sent = null;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      showError(form, "");
      if (refuseMissing(form)) return;
      for (const input of form.querySelectorAll("[data-check]")) if (!input.closest("[hidden]") && !check(input)) { input.focus(); return; }
      const photos = [...form.elements.namedItem("photos").files];
      const types = form.dataset.photoTypes.split(",");
      for (const p of photos) {
        if (p.size > Number(form.dataset.photoMax)) { showError(form, p.name + ": " + t("too_big")); return; }
        if (!types.includes(p.type)) { showError(form, p.name + ": " + t("bad_type")); return; }
      }
      const f = new FormData(form);
      const text = (name) => String(f.get(name) || "").trim();
      const kind = kindOf();
      const c = {
        kind, channel: "grid_report", category: text("category"), title: text("title"),
        description: text("description"), jurisdiction: text("jurisdiction"),
        people_involved: Number(text("people")), parties: [],
      };
      if (text("address")) c.address = text("address");
      if (text("lat_e6")) c.coordinates = { lat_e6: Number(text("lat_e6")), lon_e6: Number(text("lon_e6")) };
      if (kind === "dispute") {
        const applicant = { role: "applicant", kind: "person", name: text("a_name") };
        if (text("a_phone")) applicant.phone = text("a_phone");
        c.parties.push(applicant);
        if (text("r_name")) c.parties.push({ role: "respondent", kind: "person", name: text("r_name") });
      }
      const button = form.querySelector("button[type=submit]");
      const label = button.textContent;
      button.disabled = true; button.textContent = t("acting");
      try {
        // Sent once: a retry after a lost answer replays the same case.
        if (!sent) {
          const r = await api("POST", "/api/v1/cases", { case: c }, { "idempotency-key": key });
          if (!r.ok) {
            const err = r.data?.error || {};
            showError(form, err.message || String(r.status));
            const field = (err.field || "").replace(/^case\./, "");
            const input = field && form.elements.namedItem({ people_involved: "people" }[field] || field);
            if (input && input.setAttribute) { input.setAttribute("aria-invalid", "true"); input.focus(); }
            button.disabled = false; button.textContent = label;
            return;
          }
          sent = r.data.case_id;
        }
        const failed = [];
        for (const [i, p] of photos.entries()) {
          const res = await fetch("/api/v1/cases/" + sent + "/attachments?filename=" + encodeURIComponent(p.name), {
            method: "POST", credentials: "same-origin", body: p,
            headers: { "content-type": p.type, "x-csrf-token": csrf, "idempotency-key": key + ":photo:" + i },
          });
          if (!res.ok) failed.push(p.name);
        }
        if (!failed.length) { location.assign(form.dataset.done + "?reported=" + encodeURIComponent(sent)); return; }
        showError(form, t("grid_photo_failed") + " " + failed.join(", "));
      } catch (_) { showError(form, t("network")); }
      button.disabled = false; button.textContent = label;
    });
  }

  // Administration: every change through the people API; a generated
  // password or a new token is shown once, then the page is read again.
  const fmt = (k, args) => Object.entries(args).reduce((s, [n, v]) => s.replace("{" + n + "}", v), t(k));
  const result = document.querySelector("[data-admin-result]");
  function showOnce(label, secret) {
    result.querySelector("[data-result-text]").textContent = label;
    result.querySelector("[data-result-secret]").textContent = secret;
    result.hidden = false;
    result.querySelector("[data-result-close]").focus();
  }
  if (result) result.querySelector("[data-result-close]").addEventListener("click", () => location.reload());
  async function adminCall(form, method, path, body) {
    if (form) showError(form, "");
    try {
      const r = await api(method, path, body);
      if (r.ok) return r.data || {};
      const err = r.data?.error || {};
      const message = err.message || String(r.status);
      if (form) {
        showError(form, message);
        const input = err.field && form.elements.namedItem(err.field);
        if (input && input.setAttribute) { input.setAttribute("aria-invalid", "true"); input.focus(); }
      } else alert(message);
    } catch (_) { if (form) showError(form, t("network")); else alert(t("network")); }
    return null;
  }
  for (const b of document.querySelectorAll("button[data-admin]")) {
    b.addEventListener("click", async () => {
      const user = encodeURIComponent(b.dataset.username || "");
      const op = b.dataset.admin;
      if (op === "disable" && !confirm(t("admin_confirm_disable"))) return;
      if (op === "revoke" && !confirm(t("admin_confirm_revoke"))) return;
      b.disabled = true;
      let done;
      if (op === "password") {
        done = await adminCall(null, "POST", `/api/v1/users/${user}/password`, {});
        if (done) { showOnce(t("admin_new_password"), done.generated_password); return; }
      } else if (op === "revoke") {
        done = await adminCall(null, "DELETE", `/api/v1/tokens/${encodeURIComponent(b.dataset.tokenId)}`);
      } else {
        done = await adminCall(null, "POST", `/api/v1/users/${user}/${op}`, {});
      }
      if (done) { location.reload(); return; }
      b.disabled = false;
    });
  }
  const addUser = document.getElementById("add-user");
  if (addUser) {
    const role = addUser.elements.namedItem("role");
    const byRole = () => {
      for (const box of addUser.querySelectorAll("[data-for-role]")) {
        box.hidden = box.dataset.forRole !== role.value;
        for (const input of box.querySelectorAll("select")) input.required = !box.hidden;
      }
    };
    role.addEventListener("change", byRole);
    byRole();
    addUser.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (refuseMissing(addUser)) return;
      const f = new FormData(addUser);
      const body = { username: String(f.get("username")).trim(), role: f.get("role"), jurisdiction: f.get("jurisdiction") };
      const name = String(f.get("display_name") || "").trim();
      if (name) body.display_name = name;
      if (f.get("role") === "handler") body.body = f.get("body");
      const done = await adminCall(addUser, "POST", "/api/v1/users", body);
      if (done) showOnce(t("admin_password") + " " + done.user.username, done.generated_password || "");
    });
  }
  const addToken = document.getElementById("add-token");
  if (addToken) {
    addToken.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (refuseMissing(addToken)) return;
      const f = new FormData(addToken);
      const done = await adminCall(addToken, "POST", "/api/v1/tokens",
        { username: String(f.get("username")).trim(), name: String(f.get("name")).trim() });
      if (done) showOnce(t("admin_token") + " " + done.name, done.token);
    });
  }
  const policyCheck = document.getElementById("policy-check");
  if (policyCheck) {
    policyCheck.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const ok = policyCheck.querySelector("[data-ok]");
      ok.hidden = true;
      if (refuseMissing(policyCheck)) return;
      const text = policyCheck.elements.namedItem("policy").value;
      const done = await adminCall(policyCheck, "POST", "/api/v1/policy/check", { policy: text });
      if (done) { ok.textContent = fmt("policy_valid", { version: done.version, n: done.deadlines }); ok.hidden = false; }
    });
  }
  const verifyAudit = document.querySelector("[data-verify-audit]");
  if (verifyAudit) {
    verifyAudit.addEventListener("click", async () => {
      const out = document.querySelector("[data-verify-result]");
      verifyAudit.disabled = true;
      out.textContent = t("loading");
      try {
        const r = await api("GET", "/api/v1/audit/verify");
        out.textContent = !r.ok ? String(r.status) : r.data.ok ? fmt("audit_ok", { n: r.data.verified }) : fmt("audit_bad", { seq: r.data.first_bad_seq });
        out.className = r.ok && r.data.ok ? "ok" : "error";
      } catch (_) { out.textContent = t("network"); }
      verifyAudit.disabled = false;
    });
  }

  // The dashboard's hotspots: clustering takes longer than the figures,
  // so it is fetched after the page is shown.
  const hot = document.querySelector("[data-hotspots]");
  if (hot) {
    (async () => {
      const list = hot.querySelector("[data-hotspot-list]");
      try {
        const r = await api("GET", hot.dataset.hotspots);
        if (!r.ok) return;
        if (!r.data.hotspots.length) { list.replaceWith(el("p", { class: "muted", text: hot.dataset.empty })); return; }
        for (const h of r.data.hotspots.slice(0, 10)) {
          const cases = el("span", { class: "small" });
          h.case_ids.forEach((id, i) => { cases.append(i ? " " : "", el("a", { href: "/cases/" + id, text: "#" + (i + 1) })); });
          list.append(el("li", {}, el("strong", { text: h.label }), " · " + (h.place_name || h.place) + " · " + h.count + " " + t("hotspot_cases") +
            " (" + t("hotspot_before") + " " + h.previous_count + ") ", cases));
        }
      } catch (_) { /* the figures stand without it */ }
    })();
  }

  // The intake desk.
  const intake = document.getElementById("intake");
  if (intake) intakeDesk(intake);
  function intakeDesk(intake) {
  const key = newKey();
  let suggestions = null;
  const $ = (name) => intake.elements.namedItem(name);
  for (const input of intake.querySelectorAll("[data-check]")) {
    input.addEventListener("input", () => check(input));
  }
  // Only categories that apply to the chosen kind can be chosen.
  const filterCategories = () => categoriesFor($("category"), $("kind").value);
  $("kind").addEventListener("change", filterCategories);
  filterCategories();

  function draftCase(strict) {
    const v = (n) => ($(n)?.value || "").trim();
    if (!v("title") || !v("description") || !v("category") || !v("jurisdiction")) return null;
    const parties = [];
    if (v("a_name")) {
      const p = { role: "applicant", kind: "person", name: v("a_name") };
      if (v("a_id") && (strict || validId(v("a_id")))) p.id_number = v("a_id").toUpperCase();
      if (v("a_phone") && (strict || validPhone(v("a_phone")))) p.phone = v("a_phone").replace(/[\s-]/g, "");
      parties.push(p);
    }
    if (v("r_kind") && v("r_name")) parties.push({ role: "respondent", kind: v("r_kind"), name: v("r_name") });
    const c = {
      kind: v("kind"), channel: v("channel"), category: v("category"), title: v("title"),
      description: v("description"), jurisdiction: v("jurisdiction"), parties,
    };
    if (v("address")) c.address = v("address");
    if (suggestions) c.suggestions = suggestions;
    return c;
  }

  const sugList = intake.parentElement.querySelector("[data-suggestions]");
  const repList = intake.parentElement.querySelector("[data-repeats]");
  const regList = intake.parentElement.querySelector("[data-registration]");
  function renderSuggestions(cats) {
    sugList.replaceChildren();
    if (!cats.length) { sugList.append(el("li", { class: "muted", text: t("no_suggestions") })); return; }
    for (const c of cats) {
      const pct = Math.round(c.permille / 10);
      const use = el("button", { type: "button", "data-category": c.category, text: t("use_category") });
      use.addEventListener("click", () => { $("category").value = c.category; preview(); });
      // Through the CSSOM: the page's policy refuses style attributes.
      const fill = el("span", {});
      fill.style.width = pct + "%";
      const bar = el("span", { class: "bar", "aria-hidden": "true" }, fill);
      sugList.append(el("li", {}, el("span", { text: c.name + " " + pct + "%" }), bar, use));
    }
  }
  function highlighted(title, phrases) {
    const p = el("div", { class: "why" });
    p.append(t("shared") + "：");
    phrases.forEach((ph, i) => { if (i) p.append("、"); p.append(el("mark", { text: ph })); });
    return p;
  }
  function renderRepeats(reps) {
    repList.replaceChildren();
    if (!reps.length) { repList.append(el("li", { class: "muted", text: t("no_repeats") })); return; }
    for (const r of reps) {
      const li = el("li", { "data-repeat": r.case_id },
        el("a", { href: "/cases/" + r.case_id, text: r.number + " " + r.title }),
        el("div", { class: "why", text: r.reasons_zh.join("；") + (r.similarity != null ? "（" + t("similarity") + " " + Math.round(r.similarity * 100) + "%）" : "") }));
      if (r.shared_phrases && r.shared_phrases.length) li.append(highlighted(r.title, r.shared_phrases));
      repList.append(li);
    }
  }
  function fact(term, value) { regList.append(el("dt", { text: term }), el("dd", {}, value)); }
  function renderRegistration(reg) {
    regList.replaceChildren();
    if (!reg) { regList.append(el("dt", { class: "muted", text: document.querySelector("[data-registration]")?.dataset.empty || "" })); return; }
    if (reg.outcome === "refused") { fact(t("refused"), el("span", { class: "error", text: reg.message })); return; }
    const risk = el("span", {}, el("span", { class: "badge risk-" + reg.risk, text: t(reg.risk) }));
    if (reg.risk_reasons.length) risk.append(el("div", { class: "why", text: reg.risk_reasons.join("；") }));
    fact(t("risk"), risk);
    if (reg.routing) {
      const r = el("span", { text: reg.routing.body.name });
      r.append(el("div", { class: "why", text: reg.routing.reasons.join("；") }));
      if (reg.routing.leader_in_charge) r.append(el("div", { class: "why", text: t("leader_in_charge") }));
      fact(t("routing"), r);
    } else fact(t("routing"), el("span", { text: t("no_routing") }));
    if (reg.acceptance_due_at) {
      const d = new Date(reg.acceptance_due_at);
      const day = d.toLocaleDateString("zh-CN", { timeZone: "Asia/Shanghai" });
      fact(t("deadline"), el("span", { text: day + (reg.acceptance_deadline ? "（" + reg.acceptance_deadline + "）" : "") }));
    } else fact(t("deadline"), el("span", { text: t("no_deadline") }));
  }

  let timer = null, seq = 0;
  async function preview() {
    const my = ++seq;
    const title = $("title").value.trim(), description = $("description").value.trim();
    if (!title && !description) return;
    const body = { kind: $("kind").value, title, description };
    const c = draftCase(false);
    if (c) body.case = c;
    try {
      let r = await api("POST", "/api/v1/intake/preview", body);
      // A draft the API cannot read yet still gets its suggestions.
      if (!r.ok && body.case) { delete body.case; r = await api("POST", "/api/v1/intake/preview", body); }
      if (my !== seq || !r.ok) return;
      suggestions = r.data.suggestions || null;
      renderSuggestions(r.data.categories || []);
      renderRepeats(r.data.repeats || []);
      renderRegistration(r.data.registration || null);
      intake.dataset.previewed = String(my);
    } catch (_) { /* the next keystroke tries again */ }
  }
  regList.dataset.empty = regList.textContent.trim();
  intake.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(preview, 350); });
  intake.addEventListener("change", () => { clearTimeout(timer); timer = setTimeout(preview, 50); });

  const FIELDS = { "case.title": "title", "case.description": "description", "case.category": "category",
    "case.jurisdiction": "jurisdiction", "case.address": "address", "case.parties[0].name": "a_name",
    "case.parties[0].id_number": "a_id", "case.parties[0].phone": "a_phone", "case.parties[1].name": "r_name" };
  intake.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError(intake, "");
    for (const input of intake.querySelectorAll("[data-check]")) check(input);
    const c = draftCase(true);
    if (!c) {
      for (const n of ["title", "description", "category", "jurisdiction"]) {
        if (!$(n).value.trim()) { $(n).setAttribute("aria-invalid", "true"); $(n).focus(); break; }
      }
      showError(intake, t("failed"));
      return;
    }
    const button = intake.querySelector("button[type=submit]");
    button.disabled = true; button.textContent = t("saving");
    try {
      const r = await api("POST", "/api/v1/cases", { case: c }, { "idempotency-key": key });
      if (r.ok && r.data?.case_id) { location.assign("/cases/" + r.data.case_id + "/receipt"); return; }
      const err = r.data?.error || {};
      showError(intake, t("failed") + "：" + (err.message || r.status));
      const name = FIELDS[err.field];
      if (name && $(name)) { $(name).setAttribute("aria-invalid", "true"); $(name).focus(); }
    } catch (_) { showError(intake, t("network")); }
    button.disabled = false; button.textContent = intake.dataset.submitLabel;
  });
  intake.dataset.submitLabel = intake.querySelector("button[type=submit]").textContent;
  }
})();
