// Starts a real `jiefen serve --demo` on a free port with its own data
// directory, and Debian's Chromium through playwright-core. Screenshots go
// to target/screenshots (not committed).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const shots = join(root, "target", "screenshots");

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on("error", reject);
  });
}

export async function startServer() {
  const bin = process.env.JIEFEN_BIN || join(root, "target", "debug", "jiefen");
  const data = mkdtempSync(join(tmpdir(), "jiefen-browser-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(bin, ["serve", "--demo", "--demo-cases", "200", "--test-clock", "--data", data, "--listen", `127.0.0.1:${port}`],
    { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (d) => { log += d; });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`jiefen serve exited ${child.exitCode}:\n${log}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch (_) { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
    if (i === 599) throw new Error(`jiefen serve did not come up:\n${log}`);
  }
  const creds = {};
  for (const line of readFileSync(join(data, "demo-credentials.txt"), "utf8").split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const [user, role, place, password] = line.split("\t");
    creds[user] = { role, place, password };
  }
  return {
    base, creds,
    async stop() { child.kill("SIGTERM"); await exited; rmSync(data, { recursive: true, force: true }); },
  };
}

export async function launch() {
  mkdirSync(shots, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"],
  });
}

/// A signed-in API session for set-up steps: the cookie and CSRF token.
export async function apiSession(base, username, password) {
  const r = await fetch(`${base}/api/v1/session`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (!r.ok) throw new Error(`sign-in of ${username}: ${r.status} ${await r.text()}`);
  const cookie = r.headers.get("set-cookie").split(";")[0];
  const { csrf_token } = await r.json();
  return async (method, path, body) => {
    const res = await fetch(`${base}${path}`, {
      method, headers: { "content-type": "application/json", cookie, "x-csrf-token": csrf_token },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, data: text ? JSON.parse(text) : null };
  };
}

/// Signs in through the page, as a person does.
export async function signIn(page, base, user, password, next = "/") {
  await page.goto(`${base}/login?next=${encodeURIComponent(next)}`);
  await page.fill("#username", user);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.click("#login button[type=submit]")]);
}

/// A screenshot at a phone's and a desk's width, after checking the page
/// is finished: nothing wider than the window, no message key showing.
export async function capture(page, name) {
  const problems = [];
  for (const [label, width, height] of [["phone", 360, 740], ["desktop", 1920, 1080]]) {
    await page.setViewportSize({ width, height });
    const { overflow, keys } = await page.evaluate(() => ({
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      // User names and codes are shown in <code>; what is left is words.
      keys: ((() => { const b = document.body.cloneNode(true); b.querySelectorAll("code").forEach((e) => e.remove()); return b.textContent; })().match(/\b(?:js|app|nav|error|login|intake|queue|case|receipt|kind|state|risk|signal|event|role|channel|level|action|field|agreement|outcome|satisfaction|complexity|review|board|dashboard|portal|grid|admin|policy|audit|audit_page|body_kind|inbox|notice|sort)\.[a-z_]+\b/g) || []),
    }));
    if (overflow > 0) problems.push(`${name} at ${label}: ${overflow}px wider than the window`);
    if (keys.length) problems.push(`${name} at ${label}: message keys shown: ${keys.join(", ")}`);
    await page.screenshot({ path: join(shots, `${name}-${label}.png`), fullPage: true });
  }
  return problems;
}
